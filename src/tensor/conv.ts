// 2-D convolution, NCHW, PyTorch weight layout [O, C/groups, kh, kw].
//
// Three fast paths, each summing in float64 (JS numbers) and storing float32 once, with the bias
// and an optional activation fused into the store:
//   - depthwise (one input channel per output channel, C/groups = 1): `depthwiseFast`, a direct loop
//     over the kh x kw taps; rows of taps outside the image are skipped up front, and the columns
//     whose taps are all inside the image run without per-tap column tests.
//   - pointwise (1x1, stride 1, no padding): per image and group, one GEMM
//       out_g[Og, H*W] = weight_g[Og, Cg] @ x_g[Cg, H*W]        (x read in place: no im2col)
//   - everything else: im2col into cols[K, P] (K = Cg*kh*kw taps, P = outH*outW pixels, reused
//     scratch), then the same GEMM  out_g[Og, P] = weight_g[Og, K] @ cols[K, P].
// The GEMM writes NCHW directly (output channels on rows, bias per row). `conv2dReference` is the
// plain seven-loop convolution the tests compare the fast paths against.
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { addMacs } from "./macs.ts";
import { activationCode, applyActivation, gemmArgs, type FusedActivation } from "./gemm.ts";
import { runGemm } from "./workers/pool.ts";
import { windowGeometry, type Pair, type PaddingSpec, type WindowGeometry } from "./window.ts";

export type { Pair, PaddingSpec } from "./window.ts";

export interface Conv2dOptions {
  stride?: Pair;
  padding?: PaddingSpec; // number | [ph, pw] | [top, bottom, left, right] | "same" (TF/Keras SAME)
  dilation?: Pair;
  groups?: number;
  activation?: FusedActivation; // applied as each output is stored (default "none")
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
  const act = opts.activation ?? "none";
  activationCode(act); // throws on an unknown name before any work
  if (Cg === 1) depthwiseFast(x, weight, bias, geometry, act, out);
  else if (isPointwise(geometry)) pointwiseGemm(x, weight, bias, groups, act, out);
  else im2colGemm(x, weight, bias, groups, geometry, act, out);
  return new Tensor(out, [N, O, geometry.outH, geometry.outW]);
}

function isPointwise(g: WindowGeometry): boolean {
  const { kernel, stride, pad } = g;
  return kernel[0] === 1 && kernel[1] === 1 && stride[0] === 1 && stride[1] === 1 &&
    pad.top === 0 && pad.bottom === 0 && pad.left === 0 && pad.right === 0;
}

/**
 * Depthwise: output channel o reads only input channel floor(o / (O / C)). Per output row the valid
 * kernel rows are found once; columns [inLo, inHi] have every tap inside the image and skip the tests.
 * Sums start at the bias and add taps in (ky, kx) order, like conv2dReference.
 */
function depthwiseFast(x: Tensor, weight: Tensor, bias: Tensor | null, g: WindowGeometry, activation: FusedActivation, out: Float32Array): void {
  const [N, C, H, W] = x.shape;
  const O = weight.shape[0];
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const { outH, outW } = g;
  const left = g.pad.left;
  const xs = x.data;
  const ws = weight.data;
  const act = activationCode(activation);
  const multiplier = O / C;
  // output columns whose taps ox*sw - left + kx*dw all lie in [0, W)
  const inLo = Math.min(outW, Math.ceil(left / sw));
  const inHi = Math.min(outW - 1, Math.floor((W - 1 - (kw - 1) * dw + left) / sw));
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const xPlane = (n * C + Math.floor(o / multiplier)) * H * W;
      const wBase = o * kh * kw;
      const b = bias === null ? 0 : bias.data[o];
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * sh - g.pad.top;
        const kyLo = Math.max(0, Math.ceil(-y0 / dh)); // first tap row inside the image
        const kyHi = Math.min(kh - 1, Math.floor((H - 1 - y0) / dh)); // last
        for (let ox = 0; ox < outW; ox++) {
          const x0 = ox * sw - left;
          let sum = b;
          if (ox >= inLo && ox <= inHi) {
            for (let ky = kyLo; ky <= kyHi; ky++) {
              const row = xPlane + (y0 + ky * dh) * W + x0;
              const wRow = wBase + ky * kw;
              for (let kx = 0; kx < kw; kx++) sum += xs[row + kx * dw] * ws[wRow + kx];
            }
          } else {
            for (let ky = kyLo; ky <= kyHi; ky++) {
              const row = xPlane + (y0 + ky * dh) * W;
              const wRow = wBase + ky * kw;
              for (let kx = 0; kx < kw; kx++) {
                const ix = x0 + kx * dw;
                if (ix >= 0 && ix < W) sum += xs[row + ix] * ws[wRow + kx];
              }
            }
          }
          out[at++] = act === 0 ? sum : applyActivation(Math.fround(sum), act);
        }
      }
    }
  }
}

/** 1x1, stride 1, no padding: per image and group, out_g[Og, HW] = weight_g[Og, Cg] @ x_g[Cg, HW]. */
function pointwiseGemm(x: Tensor, weight: Tensor, bias: Tensor | null, groups: number, activation: FusedActivation, out: Float32Array): void {
  const [N, C, H, W] = x.shape;
  const O = weight.shape[0];
  const Cg = C / groups;
  const Og = O / groups;
  const P = H * W;
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      runGemm(gemmArgs({
        M: Og, N: P, K: Cg,
        a: weight.data, aOffset: group * Og * Cg,
        b: x.data, bOffset: (n * C + group * Cg) * P, bLayout: "nn",
        bias: bias === null ? null : bias.data, biasOffset: group * Og, biasPerRow: true,
        c: out, cOffset: (n * O + group * Og) * P, activation,
      }));
    }
  }
}

let colsScratch = new Float32Array(0); // im2col buffer, reused across calls

/** Per image and group: im2col into cols[K, P], then out_g[Og, P] = weight_g[Og, K] @ cols. */
function im2colGemm(x: Tensor, weight: Tensor, bias: Tensor | null, groups: number, g: WindowGeometry, activation: FusedActivation, out: Float32Array): void {
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const Og = O / groups;
  const K = Cg * kh * kw;
  const P = g.outH * g.outW;
  if (colsScratch.length < K * P) colsScratch = new Float32Array(K * P);
  const cols = colsScratch;
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      im2col(x.data, (n * C + group * Cg) * H * W, Cg, H, W, g, cols);
      runGemm(gemmArgs({
        M: Og, N: P, K,
        a: weight.data, aOffset: group * Og * K,
        b: cols, bLayout: "nn",
        bias: bias === null ? null : bias.data, biasOffset: group * Og, biasPerRow: true,
        c: out, cOffset: (n * O + group * Og) * P, activation,
      }));
    }
  }
}

/**
 * cols[(c, ky, kx), p] = x[c, oy*sh - top + ky*dh, ox*sw - left + kx*dw], 0 in the padding
 * (p = oy*outW + ox; the (c, ky, kx) order is the weight's, so row t of cols meets column t of weight_g).
 */
function im2col(xs: Float32Array, base: number, Cg: number, H: number, W: number, g: WindowGeometry, cols: Float32Array): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const { outH, outW } = g;
  let i = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = base + c * H * W;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * sh - g.pad.top + ky * dh;
          const rowInside = iy >= 0 && iy < H;
          const row = plane + iy * W;
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * sw - g.pad.left + kx * dw;
            cols[i++] = rowInside && ix >= 0 && ix < W ? xs[row + ix] : 0;
          }
        }
      }
    }
  }
}

// ---- the reference ---------------------------------------------------------------------

/** The plain convolution (float64 sums over (c, ky, kx), then + bias): what the fast paths must equal. */
export function conv2dReference(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  const g = windowGeometry("conv2dReference", x.shape, [kh, kw], {
    stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, ceilMode: false,
  });
  const act = activationCode(opts.activation ?? "none");
  const Og = O / groups;
  const out = new Float32Array(N * O * g.outH * g.outW);
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const c0 = Math.floor(o / Og) * Cg; // first input channel of o's group
      for (let oy = 0; oy < g.outH; oy++) {
        for (let ox = 0; ox < g.outW; ox++) {
          let sum = 0;
          for (let c = 0; c < Cg; c++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * g.stride[0] - g.pad.top + ky * g.dilation[0];
                const ix = ox * g.stride[1] - g.pad.left + kx * g.dilation[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                sum += x.data[((n * C + c0 + c) * H + iy) * W + ix] * weight.data[((o * Cg + c) * kh + ky) * kw + kx];
              }
            }
          }
          if (bias !== null) sum += bias.data[o];
          out[at++] = act === 0 ? sum : applyActivation(Math.fround(sum), act);
        }
      }
    }
  }
  return new Tensor(out, [N, O, g.outH, g.outW]);
}
