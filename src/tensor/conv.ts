// 2-D convolution, NCHW, PyTorch weight layout [O, C/groups, kh, kw].
//
// Three fast paths, each summing in float64 (JS numbers) and storing float32 once, with the bias
// and an optional activation fused into the store:
//   - depthwise (one input channel per output channel, C/groups = 1): `depthwiseFast`, a direct loop
//     over the kh x kw taps, a row of outputs per tap, with no per-pixel bounds tests.
//   - pointwise (1x1, stride 1, no padding): per image and group, one GEMM
//       out_g[Og, H*W] = weight_g[Og, Cg] @ x_g[Cg, H*W]        (x read in place: no im2col)
//   - everything else: im2col into cols[K, P] (K = Cg*kh*kw taps, P = outH*outW pixels, reused
//     scratch), then the same GEMM  out_g[Og, P] = weight_g[Og, K] @ cols[K, P].
// The GEMM writes NCHW directly (output channels on rows, bias per row). reference/conv.ts holds the
// plain seven-loop convolution (conv2dReference) the tests compare the fast paths against.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { addMacs } from "./mac_counter.ts";
import { activationCode, applyActivation, gemmArgs, runGemm, type FusedActivation } from "./gemm.ts";
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
  const N = x.shape[0];
  const [O, Cg, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  checkConvChannels("conv2d", x, weight, bias, groups);
  if (kh < 1 || kw < 1) throw new ShapeError("conv2d", `weight ${shapeStr(weight.shape)} has an empty kernel`);
  const geometry = windowGeometry("conv2d", x.shape, [kh, kw], {
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
    dilation: opts.dilation ?? 1,
    ceilMode: false,
  });
  const out = allocFloat32(N * O * geometry.outH * geometry.outW);
  const result = new Tensor(out, [N, O, geometry.outH, geometry.outW]);
  addMacs(out.length * Cg * kh * kw);
  const act = opts.activation ?? "none";
  activationCode(act); // throws on an unknown name before any work
  if (Cg === 1) depthwiseRunner(x, weight, bias, geometry, act, out);
  else if (convGemmRunner !== null && convGemmRunner(x, weight, bias, groups, geometry, act, out)) return result;
  else if (isPointwise(geometry)) pointwiseGemm(x, weight, bias, groups, act, out);
  else im2colGemm(x, weight, bias, groups, geometry, act, out);
  return result;
}

/** conv2d / conv3d: groups, channels and bias agree with x and weight, or a ShapeError naming both shapes. */
export function checkConvChannels(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, groups: number): void {
  const C = x.shape[1];
  const [O, Cg] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ShapeError(op, `groups must be an integer >= 1, got ${JSON.stringify(groups)}`);
  }
  if (C % groups !== 0 || C / groups !== Cg) {
    throw new ShapeError(
      op,
      `x ${shapeStr(x.shape)} has ${C} channels but weight ${shapeStr(weight.shape)} with groups=${groups} expects ${Cg * groups}`,
    );
  }
  if (O % groups !== 0) {
    throw new ShapeError(
      op,
      `weight ${shapeStr(weight.shape)}: ${O} output channels are not divisible by groups=${groups}`,
    );
  }
  if (bias === null) return;
  expectRank(op, "bias", bias, 1);
  if (bias.shape[0] !== O) {
    throw new ShapeError(
      op,
      `bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)}: expected [${O}]`,
    );
  }
}

/**
 * A kernel for the non-depthwise convolutions (pointwise and dense): computes out and returns true, or
 * returns false to leave them to the GEMM paths below (the wasm backend registers one; null: none).
 */
export type ConvGemmRunner = (
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  groups: number,
  g: WindowGeometry,
  activation: FusedActivation,
  out: Float32Array,
) => boolean;

let convGemmRunner: ConvGemmRunner | null = null;

/** Registers the non-depthwise convolution kernel (null: the GEMM paths of this file). */
export function registerConvGemmRunner(runner: ConvGemmRunner | null): void {
  convGemmRunner = runner;
}

export function isPointwise(g: WindowGeometry): boolean {
  const { kernel, stride, pad } = g;
  return (
    kernel[0] === 1 &&
    kernel[1] === 1 &&
    stride[0] === 1 &&
    stride[1] === 1 &&
    pad.top === 0 &&
    pad.bottom === 0 &&
    pad.left === 0 &&
    pad.right === 0
  );
}

/**
 * Depthwise: output channel o reads only input channel floor(o / (O / C)). One output row at a time:
 * a float64 row of sums starts at the bias; each kernel row ky inside the image adds its kw taps, for
 * 3- and 5-wide kernels with the weights in registers over the columns where every tap is inside
 * (no per-pixel tests), and tap by tap with tests at the borders. Each sum adds the taps in (ky, kx)
 * order, like conv2dReference.
 */
/** The depthwise kernel's signature: out = act(depthwise(x, weight) + bias) over the whole batch. */
export type DepthwiseRunner = (
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: WindowGeometry,
  activation: FusedActivation,
  out: Float32Array,
) => void;

let depthwiseRunner: DepthwiseRunner = (...args) => depthwiseFast(...args);

/** Replaces the depthwise kernel (the wasm backend registers its own; null: back to depthwiseFast). */
export function registerDepthwiseRunner(runner: DepthwiseRunner | null): void {
  depthwiseRunner = runner ?? ((...args) => depthwiseFast(...args));
}

export function depthwiseFast(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: WindowGeometry,
  activation: FusedActivation,
  out: Float32Array,
): void {
  const [N, C, H, W] = x.shape;
  const O = weight.shape[0];
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const { outH, outW } = g;
  const { top, left } = g.pad;
  const xs = x.data;
  const ws = weight.data;
  const act = activationCode(activation);
  const multiplier = O / C;
  if (rowScratch.length < outW) rowScratch = new Float64Array(outW);
  const sums = rowScratch;
  // per kernel column kx: the output columns [lo, hi] whose tap ox*sw - left + kx*dw lies in [0, W)
  const lo = Array.from({ length: kw }, (_, kx) => Math.max(0, Math.ceil((left - kx * dw) / sw)));
  const hi = Array.from({ length: kw }, (_, kx) => Math.min(outW - 1, Math.floor((W - 1 + left - kx * dw) / sw)));
  const innerLo = Math.max(...lo),
    innerHi = Math.min(...hi); // columns where every tap is inside
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const xPlane = (n * C + Math.floor(o / multiplier)) * H * W;
      const wBase = o * kh * kw;
      const b = bias === null ? 0 : bias.data[o];
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * sh - top;
        sums.fill(b, 0, outW);
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky * dh;
          if (iy < 0 || iy >= H) continue;
          const row = xPlane + iy * W - left;
          const wRow = wBase + ky * kw;
          // Deliberate kernel specialisation: the kw = 3 and kw = 5 rows below are the same loop unrolled
          // for MobileNets' 3x3 and 5x5 depthwise kernels (weights held in locals); other widths take addTaps.
          if (kw === 3 && innerLo <= innerHi) {
            // the common 3-wide row: all three taps per pixel, weights in registers
            const w0 = ws[wRow],
              w1 = ws[wRow + 1],
              w2 = ws[wRow + 2];
            for (let ox = innerLo; ox <= innerHi; ox++) {
              const i = row + ox * sw;
              let v = sums[ox];
              v += xs[i] * w0;
              v += xs[i + dw] * w1;
              v += xs[i + 2 * dw] * w2;
              sums[ox] = v;
            }
            addTaps(xs, ws, sums, row, wRow, 0, kw, lo, hi, 0, innerLo - 1, sw, dw); // left border
            addTaps(xs, ws, sums, row, wRow, 0, kw, lo, hi, innerHi + 1, outW - 1, sw, dw); // right border
          } else if (kw === 5 && innerLo <= innerHi) {
            const w0 = ws[wRow],
              w1 = ws[wRow + 1],
              w2 = ws[wRow + 2],
              w3 = ws[wRow + 3],
              w4 = ws[wRow + 4];
            for (let ox = innerLo; ox <= innerHi; ox++) {
              const i = row + ox * sw;
              let v = sums[ox];
              v += xs[i] * w0;
              v += xs[i + dw] * w1;
              v += xs[i + 2 * dw] * w2;
              v += xs[i + 3 * dw] * w3;
              v += xs[i + 4 * dw] * w4;
              sums[ox] = v;
            }
            addTaps(xs, ws, sums, row, wRow, 0, kw, lo, hi, 0, innerLo - 1, sw, dw);
            addTaps(xs, ws, sums, row, wRow, 0, kw, lo, hi, innerHi + 1, outW - 1, sw, dw);
          } else {
            addTaps(xs, ws, sums, row, wRow, 0, kw, lo, hi, 0, outW - 1, sw, dw);
          }
        }
        if (act === 0) for (let ox = 0; ox < outW; ox++) out[at++] = sums[ox];
        else for (let ox = 0; ox < outW; ox++) out[at++] = applyActivation(Math.fround(sums[ox]), act);
      }
    }
  }
}

let rowScratch = new Float64Array(0); // depthwise: one output row of sums, reused

/** sums[ox] += taps kx in [kx0, kx1) of one kernel row, for output columns [from, to] (each tap only where inside). */
function addTaps(
  xs: Float32Array,
  ws: Float32Array,
  sums: Float64Array,
  row: number,
  wRow: number,
  kx0: number,
  kx1: number,
  lo: number[],
  hi: number[],
  from: number,
  to: number,
  sw: number,
  dw: number,
): void {
  for (let ox = from; ox <= to; ox++) {
    let v = sums[ox];
    for (let kx = kx0; kx < kx1; kx++)
      if (ox >= lo[kx] && ox <= hi[kx]) v += xs[row + ox * sw + kx * dw] * ws[wRow + kx];
    sums[ox] = v;
  }
}

/** 1x1, stride 1, no padding: per image and group, out_g[Og, HW] = weight_g[Og, Cg] @ x_g[Cg, HW]. */
function pointwiseGemm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  groups: number,
  activation: FusedActivation,
  out: Float32Array,
): void {
  const [N, C, H, W] = x.shape;
  const O = weight.shape[0];
  const Cg = C / groups;
  const Og = O / groups;
  const P = H * W;
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      groupGemm(
        weight,
        bias,
        group,
        Og,
        x.data,
        (n * C + group * Cg) * P,
        Cg,
        P,
        activation,
        out,
        (n * O + group * Og) * P,
      );
    }
  }
}

/**
 * One group's product: out[outOffset + o*P + p] = act(bias[group*Og + o] + sum_t weight_g[o, t] * b[bOffset + t*P + p]),
 * weight_g = rows group*Og .. of the weight seen as [O, K]; output channels on rows (bias per row).
 */
function groupGemm(
  weight: Tensor,
  bias: Tensor | null,
  group: number,
  Og: number,
  b: Float32Array,
  bOffset: number,
  K: number,
  P: number,
  activation: FusedActivation,
  out: Float32Array,
  outOffset: number,
): void {
  runGemm(
    gemmArgs({
      M: Og,
      N: P,
      K,
      a: weight.data,
      aOffset: group * Og * K,
      b,
      bOffset,
      bLayout: "nn",
      bias: bias === null ? null : bias.data,
      biasOffset: group * Og,
      biasPerRow: true,
      c: out,
      cOffset: outOffset,
      activation,
    }),
  );
}

let colsScratch = new Float32Array(0); // im2col buffer, reused across calls

/** Per image and group: im2col into cols[K, P], then out_g[Og, P] = weight_g[Og, K] @ cols. */
function im2colGemm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  groups: number,
  g: WindowGeometry,
  activation: FusedActivation,
  out: Float32Array,
): void {
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
      groupGemm(weight, bias, group, Og, cols, 0, K, P, activation, out, (n * O + group * Og) * P);
    }
  }
}

/**
 * cols[(c, ky, kx), p] = x[c, oy*sh - top + ky*dh, ox*sw - left + kx*dw], 0 in the padding
 * (p = oy*outW + ox; the (c, ky, kx) order is the weight's, so row t of cols meets column t of weight_g).
 */
function im2col(
  xs: Float32Array,
  base: number,
  Cg: number,
  H: number,
  W: number,
  g: WindowGeometry,
  cols: Float32Array,
): void {
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
