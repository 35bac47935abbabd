// Post-training quantization of a conv chain from calibration images (docs/quantization.md):
//   uniform        min-max, float scales (the baseline): weights per output channel, activations per tensor
//   pow2-minmax    power-of-two min-max: the smallest 2^e that clips nothing
//   pow2-mse       power-of-two, each tensor alone: the exponent with the least squared error
//   pow2-adjusted  pow2-mse, then the whole-network exponent adjustment (scale_adjust.ts)
//   rapq           pow2-adjusted, then the BN-based reconstruction (bn_reconstruction.ts)
import type { Tensor } from "../tensor/tensor.ts";
import { bnReconstruct, type ReconstructionReport } from "./bn_reconstruction.ts";
import { calibrate, type CalibrationStats } from "./calibration.ts";
import type { ConvChain } from "./conv_chain.ts";
import { FIRST_LAST_BITS, INPUT_RANGE, type QuantizedNet } from "./quantized_net.ts";
import {
  absMax,
  ceilExponent,
  minMaxScale,
  mseExponent,
  signedRange,
  unsignedRange,
  type IntRange,
} from "./quantizer.ts";
import { adjustScales, type AdjustReport } from "./scale_adjust.ts";
import { planNet, type ScalePlan } from "./scale_plan.ts";

export const METHODS = ["uniform", "pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"] as const;
export type Method = (typeof METHODS)[number];

export interface PtqOptions {
  method: Method;
  weightBits: number;
  activationBits: number;
}

export interface PtqResult {
  net: QuantizedNet;
  plan: ScalePlan;
  adjust?: AdjustReport;
  reconstruction?: ReconstructionReport;
}

/** "w4a8" -> { weightBits: 4, activationBits: 8 } */
export function parseBits(text: string): { weightBits: number; activationBits: number } {
  const m = /^w([2-8])a([2-8])$/i.exec(text);
  if (!m) throw new Error(`bits '${text}': expected w<2-8>a<2-8>, e.g. w4a8`);
  return { weightBits: Number(m[1]), activationBits: Number(m[2]) };
}

type ScaleRule = (values: ArrayLike<number>, range: IntRange) => number;
const RULES: Record<"uniform" | "pow2-minmax" | "pow2-mse", ScaleRule> = {
  uniform: (v, r) => minMaxScale(absMax(v), r),
  "pow2-minmax": (v, r) => 2 ** ceilExponent(absMax(v), r),
  "pow2-mse": (v, r) => 2 ** mseExponent(v, r),
};

/** Per output channel scales of a weight [O, ...]. */
function channelScales(weight: Tensor, range: IntRange, rule: ScaleRule): Float64Array {
  const O = weight.shape[0];
  const per = weight.size / O;
  return Float64Array.from({ length: O }, (_, o) => rule(weight.data.subarray(o * per, (o + 1) * per), range));
}

/** Every tensor's scale chosen alone by `rule` (the image's by min-max: it is 8-bit and bounded). */
export function layerwisePlan(
  chain: ConvChain,
  stats: CalibrationStats,
  options: PtqOptions,
  rule: "uniform" | "pow2-minmax" | "pow2-mse",
): ScalePlan {
  const scheme = rule === "uniform" ? "uniform" : "pow2";
  const act = unsignedRange(options.activationBits);
  const inputRule = rule === "uniform" ? RULES.uniform : RULES["pow2-minmax"];
  return {
    scheme,
    weightBits: options.weightBits,
    activationBits: options.activationBits,
    inputScale: inputRule([stats.inputMax], INPUT_RANGE),
    weightScales: chain.units.map((u, l) =>
      channelScales(u.weight, signedRange(l === 0 ? FIRST_LAST_BITS : options.weightBits), RULES[rule]),
    ),
    outputScales: chain.units.map((_, l) =>
      rule === "pow2-mse" ? RULES[rule](stats.outputSamples[l], act) : RULES[rule]([stats.outputMax[l]], act),
    ),
    headWeightScales: channelScales(chain.headWeight, signedRange(FIRST_LAST_BITS), RULES[rule]),
    biases: chain.units.map((u) => u.bias.data.slice()),
    gains: chain.units.map((u) => new Float32Array(u.weight.shape[0]).fill(1)),
  };
}

/** Quantizes `chain` with `images` as the calibration set. */
export function quantizeChain(
  chain: ConvChain,
  images: Tensor[],
  options: PtqOptions,
  stats: CalibrationStats = calibrate(chain, images),
  searchImages = 32, // calibration images the scale adjustment scores its trials on (the first ones)
): PtqResult {
  const base = options.method === "uniform" || options.method === "pow2-minmax" ? options.method : "pow2-mse";
  let plan = layerwisePlan(chain, stats, options, base);
  const result: Omit<PtqResult, "net"> = { plan };
  if (options.method === "pow2-adjusted" || options.method === "rapq") {
    const adjusted = adjustScales(chain, plan, images.slice(0, searchImages), stats.logits.slice(0, searchImages));
    plan = adjusted.plan;
    result.adjust = adjusted.report;
  }
  if (options.method === "rapq") {
    const rebuilt = bnReconstruct(chain, plan, images, stats);
    plan = rebuilt.plan;
    result.reconstruction = rebuilt.report;
  }
  return { ...result, plan, net: planNet(chain, plan) };
}
