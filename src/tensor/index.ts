// The tensor engine: the Tensor type and every kernel (contracts in docs/ARCHITECTURE.md).
export * from "./tensor.ts";
export * from "./checks.ts";
export * from "./random.ts";
export * from "./safetensors.ts";
export * from "./mac_counter.ts";
export * from "./constants.ts";
export { Arena, withArena } from "./arena.ts";
// kernels
export * from "./linear.ts";
export * from "./elementwise.ts";
export * from "./softmax.ts";
export * from "./norm.ts";
export * from "./shape.ts";
export * from "./window.ts";
export * from "./window3d.ts";
export * from "./conv.ts";
export * from "./conv3d.ts";
export * from "./pooling.ts";
export * from "./pooling3d.ts";
export * from "./se.ts";
export * from "./interpolate.ts";
export * from "./interpolate3d.ts";
export * from "./attention.ts";
export * from "./window_attention.ts";
export * from "./sort.ts";
