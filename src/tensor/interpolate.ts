// interpolate: torch.nn.functional.interpolate(x, size, mode, align_corners) for NCHW maps.
//
// Separable: along each axis every output index reads `taps` input indices with weights
// (nearest 1, bilinear 2, bicubic 4); an output pixel is sum_i sum_j wy[i] wx[j] x[iy[i], ix[j]],
// summed in float64. The source coordinate of output index d follows torch (computed in
// float32 there, so Math.fround here: it decides which input cell `floor` picks):
//   scale  = alignCorners ? (in - 1) / (out - 1)  (0 when out = 1)  :  in / out
//   source = alignCorners ? d * scale  :  (d + 0.5) * scale - 0.5   (bilinear clamps it at 0)
//   nearest: min(floor(d * in / out), in - 1)   (torch's "nearest", no half-pixel shift)
// Bicubic is Keys' cubic with A = -0.75; its four taps floor(source) - 1 .. + 2 are clamped
// to the border.
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";

export type InterpolateMode = "bicubic" | "bilinear" | "nearest";

export interface InterpolateOptions {
  size: readonly [number, number]; // [outH, outW]
  mode: InterpolateMode;
  alignCorners?: boolean; // bilinear / bicubic only; default false
}

/** x[N,C,H,W] -> [N,C,outH,outW] */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  expectRank("interpolate", "x", x, 4);
  const [N, C, H, W] = x.shape;
  const size = opts.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new ShapeError(
      "interpolate",
      `size must be two integers >= 1 [outH, outW], got ${JSON.stringify(size)} (x ${shapeStr(x.shape)})`,
    );
  }
  if (H === 0 || W === 0) throw new ShapeError("interpolate", `x ${shapeStr(x.shape)} has no pixels`);
  if (!["bicubic", "bilinear", "nearest"].includes(opts.mode)) {
    throw new RangeError(
      `interpolate: mode must be "bicubic", "bilinear" or "nearest", got ${JSON.stringify(opts.mode)}`,
    );
  }
  if (opts.mode === "nearest" && opts.alignCorners !== undefined) {
    throw new RangeError(
      `interpolate: alignCorners applies to "bilinear" and "bicubic" only, not "nearest" (as in torch)`,
    );
  }
  const [outH, outW] = size;
  const alignCorners = opts.alignCorners ?? false;
  const rows = axisTaps(opts.mode, H, outH, alignCorners);
  const cols = axisTaps(opts.mode, W, outW, alignCorners);
  const out = new Float32Array(N * C * outH * outW);
  let at = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let sum = 0;
        for (let i = 0; i < rows.taps; i++) {
          const row = plane + rows.index[oy * rows.taps + i] * W;
          let rowSum = 0;
          for (let j = 0; j < cols.taps; j++) {
            rowSum += cols.weight[ox * cols.taps + j] * x.data[row + cols.index[ox * cols.taps + j]];
          }
          sum += rows.weight[oy * rows.taps + i] * rowSum;
        }
        out[at++] = sum;
      }
    }
  }
  return new Tensor(out, [N, C, outH, outW]);
}

/** For each output index d: `taps` input indices index[d*taps + t] and their weights. */
export interface AxisTaps {
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

const f32 = Math.fround;
const A = -0.75; // torch's bicubic coefficient

export function axisTaps(mode: InterpolateMode, inSize: number, outSize: number, alignCorners: boolean): AxisTaps {
  const taps = mode === "nearest" ? 1 : mode === "bilinear" ? 2 : 4;
  const index = new Int32Array(outSize * taps);
  const weight = new Float64Array(outSize * taps);
  if (mode === "nearest") {
    const scale = f32(inSize / outSize);
    for (let d = 0; d < outSize; d++) {
      index[d] = Math.min(Math.floor(f32(d * scale)), inSize - 1);
      weight[d] = 1;
    }
    return { taps, index, weight };
  }
  const scale = alignCorners ? (outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0) : f32(inSize / outSize);
  const sourceOf = (d: number) => (alignCorners ? f32(d * scale) : f32((d + 0.5) * scale - 0.5));
  for (let d = 0; d < outSize; d++) {
    if (mode === "bilinear") {
      const source = Math.max(sourceOf(d), 0);
      const i0 = Math.floor(source);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const t = Math.min(f32(source - i0), 1);
      index[2 * d] = i0;
      index[2 * d + 1] = i1;
      weight[2 * d] = 1 - t;
      weight[2 * d + 1] = t;
    } else {
      const source = sourceOf(d);
      const i0 = Math.floor(source);
      const t = f32(source - i0);
      const w = [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
      for (let k = 0; k < 4; k++) {
        index[4 * d + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
        weight[4 * d + k] = w[k];
      }
    }
  }
  return { taps, index, weight };
}

/** Keys' cubic for |s| <= 1: (A + 2)|s|^3 - (A + 3)|s|^2 + 1 */
function cubicNear(s: number): number {
  return ((A + 2) * s - (A + 3)) * s * s + 1;
}

/** Keys' cubic for 1 < |s| < 2: A|s|^3 - 5A|s|^2 + 8A|s| - 4A */
function cubicFar(s: number): number {
  return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
}
