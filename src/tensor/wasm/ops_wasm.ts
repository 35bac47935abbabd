// Runners of op_kernels.ts's kernels on the wasm backend (registered by backend.ts): each copies its
// input into wasm scratch with one TypedArray.set, runs the kernel, and copies the result out with one
// more. Layer norm, squeeze-excitation (ReLU inside, hard-sigmoid gate), global average pooling, max /
// average pooling. Sums are float32 (within 1e-5 relative of the float64 JS kernels). Squeeze-excitation's
// weights, when declared constant (../constants.ts), are copied into the persistent area once.
import { isConstant, onInvalidateConstant } from "../constants.ts";
import type { SqueezeExciteRunner } from "../se.ts";
import type { WindowGeometry } from "../window.ts";
import {
  align,
  allocatePersistent,
  memoryF32,
  persistentEpoch,
  scratchBase,
  wasmKernels,
  zeroFloats,
} from "./runtime.ts";

const persistentCopies = new WeakMap<object, { epoch: number; count: number; at: number }>();
onInvalidateConstant((data) => persistentCopies.delete(data));

/**
 * Byte address of a copy of data[0, count) in the persistent area, made now if new, for an array declared
 * constant; -1 for any other array or when the area is full (the caller copies it into scratch).
 * Call before taking scratch: a new copy moves the scratch base.
 */
function persistentCopy(data: Float32Array | null, count: number): number {
  if (data === null || !isConstant(data)) return -1;
  const found = persistentCopies.get(data);
  if (found !== undefined && found.epoch === persistentEpoch() && found.count === count) return found.at;
  const at = allocatePersistent(count * 4);
  if (at < 0) return -1;
  memoryF32().set(data.subarray(0, count), at >> 2);
  persistentCopies.set(data, { epoch: persistentEpoch(), count, at });
  return at;
}

/** Bump allocator over the scratch area: take(floats) -> byte address (64-byte aligned). */
export function scratchTaker(): { take: (floats: number) => number; end: () => number } {
  let at = scratchBase();
  return {
    take: (floats) => {
      const here = at;
      at = align(at + floats * 4);
      return here;
    },
    end: () => at,
  };
}

/** out[r, :] = layerNorm(x[r, :]) for `rows` rows of D (weight / bias null: 1 / 0). */
export function wasmLayerNorm(
  x: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  rows: number,
  D: number,
  eps: number,
  out: Float32Array,
): void {
  const s = scratchTaker();
  const xAt = s.take(rows * D);
  const wAt = s.take(D);
  const bAt = s.take(D);
  const mem = memoryF32(s.end());
  mem.set(x.subarray(0, rows * D), xAt >> 2);
  if (weight === null) mem.fill(1, wAt >> 2, (wAt >> 2) + D);
  else mem.set(weight.subarray(0, D), wAt >> 2);
  if (bias === null) zeroFloats(bAt >> 2, D);
  else mem.set(bias.subarray(0, D), bAt >> 2);
  wasmKernels().ops.layer_norm(xAt, xAt, rows, D, wAt, bAt, eps);
  out.set(mem.subarray(xAt >> 2, (xAt >> 2) + rows * D));
}

/** One image's squeeze-excitation, ReLU inside and hard-sigmoid gate: out = x * gate per channel. */
export function wasmSqueezeExcite(
  x: Float32Array,
  C: number,
  area: number,
  reduceWeight: Float32Array, // [Cr, C]
  reduceBias: Float32Array | null, // [Cr]
  expandWeight: Float32Array, // [C, Cr]
  expandBias: Float32Array | null, // [C]
  Cr: number,
  out: Float32Array,
): void {
  // the weights: persistent copies when constant (before the scratch: a new copy moves its base)
  const kept = [
    persistentCopy(reduceWeight, Cr * C),
    persistentCopy(reduceBias, Cr),
    persistentCopy(expandWeight, C * Cr),
    persistentCopy(expandBias, C),
  ];
  const s = scratchTaker();
  const xAt = s.take(C * area);
  const [rwAt, rbAt, ewAt, ebAt] = [Cr * C, Cr, C * Cr, C].map((n, i) => (kept[i] >= 0 ? kept[i] : s.take(n)));
  const scratchAt = s.take(C + Cr);
  const mem = memoryF32(s.end());
  mem.set(x.subarray(0, C * area), xAt >> 2);
  if (kept[0] < 0) mem.set(reduceWeight.subarray(0, Cr * C), rwAt >> 2);
  if (kept[2] < 0) mem.set(expandWeight.subarray(0, C * Cr), ewAt >> 2);
  if (reduceBias === null) zeroFloats(rbAt >> 2, Cr);
  else if (kept[1] < 0) mem.set(reduceBias.subarray(0, Cr), rbAt >> 2);
  if (expandBias === null) zeroFloats(ebAt >> 2, C);
  else if (kept[3] < 0) mem.set(expandBias.subarray(0, C), ebAt >> 2);
  wasmKernels().ops.squeeze_excite(xAt, xAt, C, area, rwAt, rbAt, Cr, ewAt, ebAt, scratchAt);
  out.set(mem.subarray(xAt >> 2, (xAt >> 2) + C * area));
}

/** out[p] = mean of plane p, for `planes` planes of `area` floats. */
export function wasmGlobalAvgPool(x: Float32Array, planes: number, area: number, out: Float32Array): void {
  const s = scratchTaker();
  const xAt = s.take(planes * area);
  const outAt = s.take(planes);
  const mem = memoryF32(s.end());
  mem.set(x.subarray(0, planes * area), xAt >> 2);
  wasmKernels().ops.global_avg_pool(xAt, planes, area, outAt);
  out.set(mem.subarray(outAt >> 2, (outAt >> 2) + planes));
}

/** Max or average pooling of `planes` planes [H, W] with geometry g into out [planes, outH, outW]. */
export function wasmPool(
  kind: "max" | "avg",
  x: Float32Array,
  planes: number,
  H: number,
  W: number,
  g: WindowGeometry,
  countIncludePad: boolean,
  out: Float32Array,
): void {
  const s = scratchTaker();
  const cells = planes * g.outH * g.outW;
  const xAt = s.take(planes * H * W);
  const outAt = s.take(cells);
  const mem = memoryF32(s.end());
  mem.set(x.subarray(0, planes * H * W), xAt >> 2);
  const { top, left, bottom, right } = g.pad;
  wasmKernels().ops[`pool_${kind}`](
    xAt,
    outAt,
    planes,
    H,
    W,
    g.outH,
    g.outW,
    g.kernel[0],
    g.kernel[1],
    g.stride[0],
    g.stride[1],
    top,
    left,
    bottom,
    right,
    countIncludePad ? 1 : 0,
  );
  out.set(mem.subarray(outAt >> 2, (outAt >> 2) + cells));
}

/** se.ts's runner: one image, the parameters' arrays passed through. */
export const wasmSqueezeExciteRunner: SqueezeExciteRunner = (x, C, area, p, out) =>
  wasmSqueezeExcite(
    x,
    C,
    area,
    p.reduceWeight.data,
    p.reduceBias?.data ?? null,
    p.expandWeight.data,
    p.expandBias?.data ?? null,
    p.reduceWeight.shape[0],
    out,
  );
