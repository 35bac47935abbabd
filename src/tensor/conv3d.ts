// 3-D convolution over clips, NCTHW, PyTorch weight layout [O, C/groups, kt, kh, kw], symmetric zero
// padding per axis (torch.nn.Conv3d without dilation).
//
// Three paths, each summing in float64 (JS numbers; the wasm GEMM in float32) and storing float32 once,
// with the bias and an optional activation fused into the store:
//   - depthwise (one input channel per output channel, C/groups = 1): `depthwise3d`, a direct loop over
//     the kt x kh x kw taps, a row of outputs per tap, with no per-pixel bounds tests.
//   - pointwise (1x1x1, stride 1, no padding): per clip and group, one GEMM
//       out_g[Og, T*H*W] = weight_g[Og, Cg] @ x_g[Cg, T*H*W]      (x read in place)
//   - everything else: im2col into cols[K, P] (K = Cg*kt*kh*kw taps, P = the output cells of a run of
//     output frames, reused scratch), then the GEMM of conv.ts  out_g[Og, P] = weight_g[Og, K] @ cols.
//     Runs of output frames keep cols under COLS_LIMIT floats (a clip's full im2col can reach
//     hundreds of MB); each run writes its columns of the [Og, outT*outH*outW] output in place.
// Every GEMM goes through runGemm, so the threaded and wasm GEMMs speed these up too.
// reference/conv3d.ts holds the plain convolution (conv3dReference) the tests compare against.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { addMacs } from "./mac_counter.ts";
import { activationCode, applyActivation, gemmArgs, runGemm, type FusedActivation } from "./gemm.ts";
import { window3dGeometry, type Triple, type Window3dGeometry } from "./window3d.ts";
import { checkConvChannels } from "./conv.ts";

export type { Triple } from "./window3d.ts";

export interface Conv3dOptions {
  stride?: Triple; // number | [t, h, w]; default 1
  padding?: Triple; // zeros, the same before and after along each axis; default 0
  groups?: number;
  activation?: FusedActivation; // applied as each output is stored (default "none")
}

/** Floats of im2col scratch per GEMM (16 MB); a single output frame may exceed it. */
const COLS_LIMIT = 1 << 22;

/** x[N,C,T,H,W] conv weight[O,C/groups,kt,kh,kw] (+ bias[O]) -> [N,O,outT,outH,outW] */
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv3dOptions = {}): Tensor {
  expectRank("conv3d", "x", x, 5);
  expectRank("conv3d", "weight", weight, 5);
  const N = x.shape[0];
  const [O, Cg, kt, kh, kw] = weight.shape;
  checkConvChannels("conv3d", x, weight, bias, opts.groups ?? 1);
  if (kt < 1 || kh < 1 || kw < 1)
    throw new ShapeError("conv3d", `weight ${shapeStr(weight.shape)} has an empty kernel`);
  const g = window3dGeometry("conv3d", x.shape, [kt, kh, kw], { stride: opts.stride ?? 1, padding: opts.padding ?? 0 });
  const act = opts.activation ?? "none";
  activationCode(act); // throws on an unknown name before any work
  const out = allocFloat32(N * O * g.outT * g.outH * g.outW);
  addMacs(out.length * Cg * kt * kh * kw);
  const groups = opts.groups ?? 1;
  if (Cg === 1) depthwise3d(x, weight, bias, g, act, out);
  else if (isPointwise3d(g)) pointwiseGemm3d(x, weight, bias, groups, act, out);
  else im2colGemm3d(x, weight, bias, groups, g, act, out);
  return new Tensor(out, [N, O, g.outT, g.outH, g.outW]);
}

function isPointwise3d(g: Window3dGeometry): boolean {
  return g.kernel.every((k) => k === 1) && g.stride.every((s) => s === 1) && g.pad.every((p) => p === 0);
}

/**
 * Depthwise: output channel o reads only input channel floor(o / (O / C)). One output row at a time:
 * a float64 row of sums starts at the bias; each kernel row (kt, ky) inside the clip adds its kw taps
 * over the output columns where that tap is inside. Each sum adds its taps in (kt, ky, kx) order, like
 * conv3dReference.
 */
function depthwise3d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: Window3dGeometry,
  activation: FusedActivation,
  out: Float32Array,
): void {
  const [N, C, T, H, W] = x.shape;
  const O = weight.shape[0];
  const [kt, kh, kw] = g.kernel;
  const [st, sh, sw] = g.stride;
  const [pt, ph, pw] = g.pad;
  const { outT, outH, outW } = g;
  const xs = x.data;
  const ws = weight.data;
  const act = activationCode(activation);
  const multiplier = O / C;
  const sums = new Float64Array(outW);
  // per kernel column kx: the output columns [lo[kx], hi[kx]] whose tap ox*sw - pw + kx lies in [0, W)
  const lo = Array.from({ length: kw }, (_, kx) => Math.max(0, Math.ceil((pw - kx) / sw)));
  const hi = Array.from({ length: kw }, (_, kx) => Math.min(outW - 1, Math.floor((W - 1 + pw - kx) / sw)));
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const xVolume = (n * C + Math.floor(o / multiplier)) * T * H * W;
      const b = bias === null ? 0 : bias.data[o];
      for (let ot = 0; ot < outT; ot++) {
        for (let oy = 0; oy < outH; oy++) {
          sums.fill(b);
          for (let dt = 0; dt < kt; dt++) {
            const it = ot * st - pt + dt;
            if (it < 0 || it >= T) continue;
            for (let dy = 0; dy < kh; dy++) {
              const iy = oy * sh - ph + dy;
              if (iy < 0 || iy >= H) continue;
              const row = xVolume + (it * H + iy) * W - pw;
              const wRow = ((o * kt + dt) * kh + dy) * kw;
              for (let dx = 0; dx < kw; dx++) {
                const w = ws[wRow + dx];
                for (let ox = lo[dx]; ox <= hi[dx]; ox++) sums[ox] += xs[row + ox * sw + dx] * w;
              }
            }
          }
          if (act === 0) for (let ox = 0; ox < outW; ox++) out[at++] = sums[ox];
          else for (let ox = 0; ox < outW; ox++) out[at++] = applyActivation(Math.fround(sums[ox]), act);
        }
      }
    }
  }
}

/** 1x1x1, stride 1, no padding: per clip and group, out_g[Og, THW] = weight_g[Og, Cg] @ x_g[Cg, THW]. */
function pointwiseGemm3d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  groups: number,
  activation: FusedActivation,
  out: Float32Array,
): void {
  const [N, C, T, H, W] = x.shape;
  const O = weight.shape[0];
  const Cg = C / groups;
  const Og = O / groups;
  const P = T * H * W;
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      const b = { data: x.data, offset: (n * C + group * Cg) * P, width: P };
      groupGemm(weight, bias, group, Og, Cg, b, activation, out, (n * O + group * Og) * P, P);
    }
  }
}

/** B [K, width] = data[offset + k*width + j] */
interface Columns {
  data: Float32Array;
  offset: number;
  width: number;
}

/**
 * One group's product on a block of output columns: out[outOffset + o*ldc + j] =
 * act(bias[group*Og + o] + sum_k weight_g[o, k] * B[k, j]), weight_g = rows group*Og .. of weight as [O, K].
 */
function groupGemm(
  weight: Tensor,
  bias: Tensor | null,
  group: number,
  Og: number,
  K: number,
  b: Columns,
  activation: FusedActivation,
  out: Float32Array,
  outOffset: number,
  ldc: number,
): void {
  runGemm(
    gemmArgs({
      M: Og,
      N: b.width,
      K,
      a: weight.data,
      aOffset: group * Og * K,
      b: b.data,
      bOffset: b.offset,
      bLayout: "nn",
      ldb: b.width,
      bias: bias === null ? null : bias.data,
      biasOffset: group * Og,
      biasPerRow: true,
      c: out,
      cOffset: outOffset,
      ldc,
      activation,
    }),
  );
}

let colsScratch = new Float32Array(0); // im2col buffer, reused across calls

/** Per clip, group and run of output frames: im2col into cols[K, P], then out_g[Og, P] = weight_g[Og, K] @ cols. */
function im2colGemm3d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  groups: number,
  g: Window3dGeometry,
  activation: FusedActivation,
  out: Float32Array,
): void {
  const [N, C, T, H, W] = x.shape;
  const [O, Cg, kt, kh, kw] = weight.shape;
  const Og = O / groups;
  const K = Cg * kt * kh * kw;
  const frame = g.outH * g.outW; // output cells per output frame
  const P = g.outT * frame;
  const framesPerRun = Math.max(1, Math.min(g.outT, Math.floor(COLS_LIMIT / (K * frame))));
  if (colsScratch.length < K * framesPerRun * frame) colsScratch = new Float32Array(K * framesPerRun * frame);
  const cols = colsScratch;
  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      const xBase = (n * C + group * Cg) * T * H * W;
      for (let t0 = 0; t0 < g.outT; t0 += framesPerRun) {
        const t1 = Math.min(g.outT, t0 + framesPerRun);
        im2col3d(x.data, xBase, Cg, [T, H, W], g, t0, t1, cols);
        const b = { data: cols, offset: 0, width: (t1 - t0) * frame };
        groupGemm(weight, bias, group, Og, K, b, activation, out, (n * O + group * Og) * P + t0 * frame, P);
      }
    }
  }
}

/**
 * cols[(c, dt, dy, dx), p] = x[c, ot*st - pt + dt, oy*sh - ph + dy, ox*sw - pw + dx], 0 in the padding,
 * for output frames ot in [t0, t1) (p = ((ot - t0)*outH + oy)*outW + ox; the (c, dt, dy, dx) order is the
 * weight's, so row k of cols meets column k of weight_g).
 */
function im2col3d(
  xs: Float32Array,
  base: number,
  Cg: number,
  [T, H, W]: [number, number, number],
  g: Window3dGeometry,
  t0: number,
  t1: number,
  cols: Float32Array,
): void {
  const [kt, kh, kw] = g.kernel;
  const [st, sh, sw] = g.stride;
  const [pt, ph, pw] = g.pad;
  const { outH, outW } = g;
  let i = 0;
  for (let c = 0; c < Cg; c++) {
    const volume = base + c * T * H * W;
    for (let dt = 0; dt < kt; dt++) {
      for (let dy = 0; dy < kh; dy++) {
        for (let dx = 0; dx < kw; dx++) {
          // output columns [lo, hi] whose tap ox*sw - pw + dx lies in [0, W)
          const lo = Math.min(outW, Math.max(0, Math.ceil((pw - dx) / sw)));
          const hi = Math.min(outW - 1, Math.floor((W - 1 + pw - dx) / sw));
          for (let ot = t0; ot < t1; ot++) {
            const it = ot * st - pt + dt;
            if (it < 0 || it >= T) {
              cols.fill(0, i, i + outH * outW);
              i += outH * outW;
              continue;
            }
            for (let oy = 0; oy < outH; oy++) {
              const iy = oy * sh - ph + dy;
              if (iy < 0 || iy >= H) {
                cols.fill(0, i, i + outW);
                i += outW;
                continue;
              }
              const row = volume + (it * H + iy) * W - pw + dx;
              for (let ox = 0; ox < lo; ox++) cols[i++] = 0;
              for (let ox = lo; ox <= hi; ox++) cols[i++] = xs[row + ox * sw];
              for (let ox = Math.max(hi + 1, lo); ox < outW; ox++) cols[i++] = 0;
            }
          }
        }
      }
    }
  }
}
