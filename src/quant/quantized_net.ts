// A quantized conv chain (docs/quantization.md §2): integer weights and biases, one scale per output
// channel for the weights, one per tensor for the activations. The same object runs two ways:
// simulated (simulated.ts: float kernels on the grid points) and integer (integer.ts: typed arrays,
// int32 sums, requantization by shifts; power-of-two scales only).
//
// Conventions. The network input is signed 8-bit; every unit's output (after ReLU6) is unsigned
// `activationBits`; the first conv and the classifier keep 8-bit weights, the other convs
// `weightBits` (the usual PTQ choice, as in BRECQ and RAPQ). A unit's bias is an integer on the grid
// weightScale[o] * inputScale (the grid of its int32 sum). The classifier reads the global average
// pool of the last unit's output, requantized on that output's grid.
import type { Conv2dOptions } from "../tensor/conv.ts";
import type { ChainUnit } from "./conv_chain.ts";
import { quantizeValue, roundHalfUp, signedRange, unsignedRange, type IntRange } from "./quantizer.ts";

export type Scheme = "pow2" | "uniform";

export interface QuantConv {
  name: string;
  shape: number[]; // [O, C/groups, kh, kw]
  options: Conv2dOptions;
  weight: Int8Array; // integers in the weight range
  weightScale: Float64Array; // [O]
  bias: Int32Array; // [O], on the grid weightScale[o] * inputScale
  inputScale: number;
  inputRange: IntRange; // the integers the input holds (signed 8-bit for the image, unsigned after ReLU6)
  outputScale: number; // (head: unused, the logits stay on the sum's grid)
  outputMax: number; // top of the output's integers: min(2^bits - 1, round(6 / outputScale)), ReLU6 included
}

export interface QuantizedNet {
  scheme: Scheme;
  weightBits: number;
  activationBits: number;
  imageSize: number;
  units: QuantConv[];
  head: QuantConv; // [numClasses, K, 1, 1] on the pooled features
}

/** Sums of integers stay exact in float32 below 2^24: the bound that makes both paths bit-identical. */
export const EXACT_SUM_LIMIT = 2 ** 24;
/** A bias may use at most this many units of its grid (the rest of the 2^24 is for the products). */
const BIAS_LIMIT = 2 ** 22;

export const INPUT_RANGE: IntRange = signedRange(8);
export const FIRST_LAST_BITS = 8;

/**
 * Quantizes one conv: weights per output channel on `weightScale` (a scale is raised where the
 * channel's bias would not fit BIAS_LIMIT units of its grid: such a channel's weights are negligible
 * next to its bias), the bias on the sum's grid. Checks the exactness bound and names the layer if broken.
 */
export function quantizeConv(
  unit: Pick<ChainUnit, "name" | "weight" | "bias" | "options">,
  weightScale: ArrayLike<number>,
  weightBits: number,
  input: { scale: number; range: IntRange },
  output: { scale: number; bits: number },
  scheme: Scheme,
): QuantConv {
  const shape = unit.weight.shape;
  const O = shape[0];
  const perChannel = unit.weight.size / O;
  const range = signedRange(weightBits);
  const scales = Float64Array.from(weightScale);
  const weight = new Int8Array(unit.weight.size);
  const bias = new Int32Array(O);
  const inputMax = Math.max(-input.range.lo, input.range.hi);
  for (let o = 0; o < O; o++) {
    const b = unit.bias.data[o];
    const needed = Math.abs(b) / (input.scale * BIAS_LIMIT);
    if (scales[o] < needed) scales[o] = scheme === "pow2" ? 2 ** Math.ceil(Math.log2(needed)) : needed;
    let sum = 0;
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) {
      weight[i] = quantizeValue(unit.weight.data[i], scales[o], range);
      sum += Math.abs(weight[i]) * inputMax;
    }
    bias[o] = roundHalfUp(b / (scales[o] * input.scale));
    if (sum + Math.abs(bias[o]) >= EXACT_SUM_LIMIT) {
      throw new Error(
        `quantize ${unit.name}: channel ${o} can sum to ${sum + Math.abs(bias[o])} grid units, ` +
          `over the 2^24 that int32 and float32 both hold exactly`,
      );
    }
  }
  const top = unsignedRange(output.bits).hi;
  return {
    name: unit.name,
    shape: [...shape],
    options: { ...unit.options },
    weight,
    weightScale: scales,
    bias,
    inputScale: input.scale,
    inputRange: input.range,
    outputScale: output.scale,
    outputMax: Math.min(top, roundHalfUp(6 / output.scale)),
  };
}

/** The exponent of a power-of-two scale; throws if the scale is not one (the integer path needs shifts). */
export function exponentOf(scale: number, what: string): number {
  const e = Math.log2(scale);
  if (!Number.isInteger(e)) throw new Error(`${what}: scale ${scale} is not a power of two`);
  return e;
}
