// Normalisation layers.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { expectMinRank } from "./checks.ts";

// ---- layerNorm --------------------------------------------------------------

/**
 * torch.nn.functional.layer_norm over the last axis:
 *   y = (x - mean) / sqrt(var + eps) * weight + bias,   var biased (divides by D).
 * x[..., D], weight[D] | null, bias[D] | null. Mean and variance in float64.
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  expectMinRank("layerNorm", "x", x, 1);
  const D = x.shape[x.rank - 1];
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t === null) continue;
    expectRank("layerNorm", name, t, 1);
    if (t.shape[0] !== D) {
      throw new ShapeError(
        "layerNorm",
        `${name} ${shapeStr(t.shape)} does not match x ${shapeStr(x.shape)}: expected [${D}]`,
      );
    }
  }
  if (!(eps >= 0)) throw new RangeError(`layerNorm: eps must be a number >= 0, got ${eps}`);
  const out = allocFloat32(x.size);
  layerNormRunner(x.data, weight?.data ?? null, bias?.data ?? null, x.size / Math.max(D, 1), D, eps, out);
  return new Tensor(out, x.shape);
}

/** Layer norm of `rows` rows of D floats of x into out (weight / bias null: 1 / 0). */
export type LayerNormRunner = (
  x: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  rows: number,
  D: number,
  eps: number,
  out: Float32Array,
) => void;

/** The JS kernel: mean and variance in float64. */
export const layerNormRows: LayerNormRunner = (xs, weight, bias, rows, D, eps, out) => {
  for (let row = 0; row < rows * D; row += D) {
    let mean = 0;
    for (let j = 0; j < D; j++) mean += xs[row + j];
    mean /= D;
    let variance = 0;
    for (let j = 0; j < D; j++) {
      const d = xs[row + j] - mean;
      variance += d * d;
    }
    variance /= D;
    const invStd = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < D; j++) {
      const normalised = (xs[row + j] - mean) * invStd;
      out[row + j] = normalised * (weight === null ? 1 : weight[j]) + (bias === null ? 0 : bias[j]);
    }
  }
};

let layerNormRunner: LayerNormRunner = layerNormRows;

/** Replaces the layer-norm kernel (the wasm backend registers its own; null: back to layerNormRows). */
export function registerLayerNormRunner(runner: LayerNormRunner | null): void {
  layerNormRunner = runner ?? layerNormRows;
}

// ---- batchNorm / foldBatchNorm ----------------------------------------------
// Inference batch norm is a per-channel affine map, y = x * scale[c] + shift[c] with
//   scale = weight / sqrt(runningVar + eps),  shift = bias - runningMean * scale
// (computed in float64), which is also what folding it into the preceding conv uses.

export interface BatchNormParams {
  weight: Tensor; // [C]
  bias: Tensor; // [C]
  runningMean: Tensor; // [C]
  runningVar: Tensor; // [C]
  eps: number;
}

/** BatchNorm2d in eval mode: x[N,C,H,W] -> [N,C,H,W]. */
export function batchNorm(x: Tensor, bn: BatchNormParams): Tensor {
  expectRank("batchNorm", "x", x, 4);
  const [N, C, H, W] = x.shape;
  const { scale, shift } = batchNormAffine("batchNorm", bn, C, `x ${shapeStr(x.shape)}`);
  const area = H * W;
  const out = allocFloat32(x.size);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * area;
      for (let i = base; i < base + area; i++) out[i] = x.data[i] * scale[c] + shift[c];
    }
  }
  return new Tensor(out, x.shape);
}

/**
 * Folds a BatchNorm2d that follows a conv into the conv's weight and bias, so that
 * conv2d(x, folded.weight, folded.bias) == batchNorm(conv2d(x, convWeight, convBias), bn):
 *   weight'[o] = weight[o] * scale[o],   bias'[o] = (bias[o] or 0) * scale[o] + shift[o]
 * convWeight [O, ...] (any rank >= 1), convBias [O] | null -> { weight [O, ...], bias [O] }.
 */
export function foldBatchNorm(
  convWeight: Tensor,
  convBias: Tensor | null,
  bn: BatchNormParams,
): { weight: Tensor; bias: Tensor } {
  expectMinRank("foldBatchNorm", "convWeight", convWeight, 1);
  const O = convWeight.shape[0];
  if (convBias !== null) {
    expectRank("foldBatchNorm", "convBias", convBias, 1);
    if (convBias.shape[0] !== O) {
      throw new ShapeError(
        "foldBatchNorm",
        `convBias ${shapeStr(convBias.shape)} does not match convWeight ${shapeStr(convWeight.shape)}: expected [${O}]`,
      );
    }
  }
  const { scale, shift } = batchNormAffine("foldBatchNorm", bn, O, `convWeight ${shapeStr(convWeight.shape)}`);
  const perChannel = convWeight.size / Math.max(O, 1);
  const weight = new Float32Array(convWeight.size);
  for (let o = 0; o < O; o++) {
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) weight[i] = convWeight.data[i] * scale[o];
  }
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) bias[o] = (convBias === null ? 0 : convBias.data[o]) * scale[o] + shift[o];
  return { weight: new Tensor(weight, convWeight.shape), bias: new Tensor(bias, [O]) };
}

/** scale and shift per channel (float64), after checking every parameter is [C]; `against` names what fixed C. */
function batchNormAffine(
  op: string,
  bn: BatchNormParams,
  C: number,
  against: string,
): { scale: Float64Array; shift: Float64Array } {
  for (const name of ["weight", "bias", "runningMean", "runningVar"] as const) {
    const t = bn[name];
    expectRank(op, `bn.${name}`, t, 1);
    if (t.shape[0] !== C) {
      throw new ShapeError(op, `bn.${name} ${shapeStr(t.shape)} does not match ${against}: expected [${C}]`);
    }
  }
  if (!(bn.eps >= 0)) throw new RangeError(`${op}: bn.eps must be a number >= 0, got ${bn.eps}`);
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = bn.weight.data[c] / Math.sqrt(bn.runningVar.data[c] + bn.eps);
    shift[c] = bn.bias.data[c] - bn.runningMean.data[c] * scale[c];
  }
  return { scale, shift };
}
