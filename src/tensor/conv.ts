// 2-D convolution, NCHW, PyTorch weight layout [O, C/groups, kh, kw].
//
// Two paths, both summing in float64 (JS numbers) and storing float32 once:
//   - one input channel per output channel (depthwise, C/groups = 1): a direct loop over the
//     kh x kw taps of each output pixel;
//   - everything else, per image and group: im2col, then one matrix product
//       cols[P, K] @ weight_g[Og, K]^T + bias_g -> [P, Og]      P = outH*outW, K = Cg*kh*kw
//     with linearInto (dot products of contiguous rows). For a 1x1 kernel with stride 1 and
//     no padding, im2col is just the transpose of x[C, H*W], so pointwise convs are a plain
//     matrix product over contiguous rows.
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { linearInto } from "./linear.ts";
import { addMacs } from "./macs.ts";
import { windowGeometry, type Pair, type PaddingSpec, type WindowGeometry } from "./window.ts";

export type { Pair, PaddingSpec } from "./window.ts";

export interface Conv2dOptions {
  stride?: Pair;
  padding?: PaddingSpec; // number | [ph, pw] | [top, bottom, left, right] | "same" (TF/Keras SAME)
  dilation?: Pair;
  groups?: number;
}

/** x[N,C,H,W] conv weight[O,C/groups,kh,kw] (+ bias[O]) -> [N,O,outH,outW] */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  expectRank("conv2d", "x", x, 4);
  expectRank("conv2d", "weight", weight, 4);
  const [N, C] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ShapeError("conv2d", `groups must be an integer >= 1, got ${JSON.stringify(groups)}`);
  }
  if (C % groups !== 0 || C / groups !== Cg) {
    throw new ShapeError(
      "conv2d",
      `x ${shapeStr(x.shape)} has ${C} channels but weight ${shapeStr(weight.shape)} with groups=${groups} expects ${Cg * groups}`,
    );
  }
  if (O % groups !== 0) {
    throw new ShapeError("conv2d", `weight ${shapeStr(weight.shape)}: ${O} output channels are not divisible by groups=${groups}`);
  }
  if (kh < 1 || kw < 1) throw new ShapeError("conv2d", `weight ${shapeStr(weight.shape)} has an empty kernel`);
  if (bias !== null) {
    expectRank("conv2d", "bias", bias, 1);
    if (bias.shape[0] !== O) {
      throw new ShapeError("conv2d", `bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)}: expected [${O}]`);
    }
  }
  const geometry = windowGeometry("conv2d", x.shape, [kh, kw], {
    stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, ceilMode: false,
  });
  const out = new Float32Array(N * O * geometry.outH * geometry.outW);
  addMacs(out.length * Cg * kh * kw);
  if (Cg === 1) depthwiseInto(x, weight, bias, geometry, out);
  else im2colConvInto(x, weight, bias, groups, geometry, out);
  return new Tensor(out, [N, O, geometry.outH, geometry.outW]);
}

/** Each output channel o reads only input channel floor(o / (O / C)): a direct loop over the taps. */
function depthwiseInto(x: Tensor, weight: Tensor, bias: Tensor | null, g: WindowGeometry, out: Float32Array): void {
  const [N, C, H, W] = x.shape;
  const O = weight.shape[0];
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const { outH, outW } = g;
  const xs = x.data;
  const ws = weight.data;
  const multiplier = O / C; // output channels per input channel
  let at = 0; // write position in out
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const xPlane = (n * C + Math.floor(o / multiplier)) * H * W;
      const wBase = o * kh * kw;
      const b = bias === null ? 0 : bias.data[o];
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * sh - g.pad.top;
        for (let ox = 0; ox < outW; ox++) {
          const x0 = ox * sw - g.pad.left;
          let sum = b;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y0 + ky * dh;
            if (iy < 0 || iy >= H) continue;
            const row = xPlane + iy * W;
            const wRow = wBase + ky * kw;
            for (let kx = 0; kx < kw; kx++) {
              const ix = x0 + kx * dw;
              if (ix >= 0 && ix < W) sum += xs[row + ix] * ws[wRow + kx];
            }
          }
          out[at++] = sum;
        }
      }
    }
  }
}

/** Per image and group: im2col, one matrix product, then the [P, Og] result written as Og planes. */
function im2colConvInto(x: Tensor, weight: Tensor, bias: Tensor | null, groups: number, g: WindowGeometry, out: Float32Array): void {
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const Og = O / groups;
  const K = Cg * kh * kw;
  const P = g.outH * g.outW;
  const cols = new Float32Array(P * K);
  const product = new Float32Array(P * Og);
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      im2col(x.data, (n * C + group * Cg) * H * W, Cg, H, W, g, cols);
      const weightG = weight.data.subarray(group * Og * K, (group + 1) * Og * K);
      const biasG = bias === null ? null : bias.data.subarray(group * Og, (group + 1) * Og);
      linearInto(cols, weightG, biasG, product, P, K, Og);
      const outBase = (n * O + group * Og) * P;
      for (let p = 0; p < P; p++) {
        for (let o = 0; o < Og; o++) out[outBase + o * P + p] = product[p * Og + o];
      }
    }
  }
}

/**
 * cols[p, (c, ky, kx)] = x[c, oy*sh - top + ky*dh, ox*sw - left + kx*dw], 0 in the padding
 * (p = oy*outW + ox; the (c, ky, kx) order is the weight's, so each row meets a weight row).
 */
function im2col(xs: Float32Array, base: number, Cg: number, H: number, W: number, g: WindowGeometry, cols: Float32Array): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  let i = 0;
  for (let oy = 0; oy < g.outH; oy++) {
    const y0 = oy * sh - g.pad.top;
    for (let ox = 0; ox < g.outW; ox++) {
      const x0 = ox * sw - g.pad.left;
      for (let c = 0; c < Cg; c++) {
        const plane = base + c * H * W;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky * dh;
          const rowInside = iy >= 0 && iy < H;
          const row = plane + iy * W;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx * dw;
            cols[i++] = rowInside && ix >= 0 && ix < W ? xs[row + ix] : 0;
          }
        }
      }
    }
  }
}
