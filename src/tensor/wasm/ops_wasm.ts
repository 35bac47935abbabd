// Runners of op_kernels.ts's kernels on the wasm backend (registered by backend.ts): each copies its
// input into wasm scratch with one TypedArray.set, runs the kernel, and copies the result out with one
// more. Layer norm, squeeze-excitation (ReLU inside, hard-sigmoid gate), global average pooling, max /
// average pooling. Sums are float32 (within 1e-5 relative of the float64 JS kernels).
import type { SqueezeExciteRunner } from "../se.ts";
import type { WindowGeometry } from "../window.ts";
import { align, memoryF32, scratchBase, wasmKernels } from "./runtime.ts";

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
  if (bias === null) mem.fill(0, bAt >> 2, (bAt >> 2) + D);
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
  const s = scratchTaker();
  const xAt = s.take(C * area);
  const rwAt = s.take(Cr * C);
  const rbAt = s.take(Cr);
  const ewAt = s.take(C * Cr);
  const ebAt = s.take(C);
  const scratchAt = s.take(C + Cr);
  const mem = memoryF32(s.end());
  mem.set(x.subarray(0, C * area), xAt >> 2);
  mem.set(reduceWeight.subarray(0, Cr * C), rwAt >> 2);
  mem.set(expandWeight.subarray(0, C * Cr), ewAt >> 2);
  if (reduceBias === null) mem.fill(0, rbAt >> 2, (rbAt >> 2) + Cr);
  else mem.set(reduceBias.subarray(0, Cr), rbAt >> 2);
  if (expandBias === null) mem.fill(0, ebAt >> 2, (ebAt >> 2) + C);
  else mem.set(expandBias.subarray(0, C), ebAt >> 2);
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
