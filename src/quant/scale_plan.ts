// The scales (and float biases) a PTQ method chooses for a conv chain, and the quantized net they
// make (docs/quantization.md §2): 8-bit image and first / last weights, `weightBits` for the other
// convs, unsigned `activationBits` after every unit.
import { Tensor } from "../tensor/tensor.ts";
import type { ConvChain } from "./conv_chain.ts";
import {
  INPUT_RANGE,
  quantizeConv,
  FIRST_LAST_BITS,
  type QuantConv,
  type QuantizedNet,
  type Scheme,
} from "./quantized_net.ts";
import { unsignedRange } from "./quantizer.ts";

export interface ScalePlan {
  scheme: Scheme;
  weightBits: number;
  activationBits: number;
  inputScale: number; // the image's grid
  weightScales: Float64Array[]; // per unit, per output channel
  outputScales: number[]; // per unit: the grid of its output (the next unit's input)
  headWeightScales: Float64Array; // per class
  biases: Float32Array[]; // per unit: float biases (the chain's, or reconstructed)
  gains: Float32Array[]; // per unit, per output channel: factor on the float weights (1, or reconstructed)
}

export function copyPlan(plan: ScalePlan): ScalePlan {
  return {
    ...plan,
    weightScales: plan.weightScales.map((s) => s.slice()),
    outputScales: [...plan.outputScales],
    headWeightScales: plan.headWeightScales.slice(),
    biases: plan.biases.map((b) => b.slice()),
    gains: plan.gains.map((g) => g.slice()),
  };
}

/** Unit l quantized with the plan's scales. */
export function planUnit(chain: ConvChain, plan: ScalePlan, l: number): QuantConv {
  const unit = chain.units[l];
  const input =
    l === 0
      ? { scale: plan.inputScale, range: INPUT_RANGE }
      : { scale: plan.outputScales[l - 1], range: unsignedRange(plan.activationBits) };
  const gains = plan.gains[l];
  const per = unit.weight.size / gains.length;
  const weight = unit.weight.data.map((w, i) => w * gains[Math.floor(i / per)]);
  return quantizeConv(
    {
      ...unit,
      weight: new Tensor(weight, unit.weight.shape),
      bias: new Tensor(plan.biases[l], [plan.biases[l].length]),
    },
    plan.weightScales[l],
    l === 0 ? FIRST_LAST_BITS : plan.weightBits,
    input,
    { scale: plan.outputScales[l], bits: plan.activationBits },
    plan.scheme,
  );
}

/** The classifier (a 1x1 conv on the pooled features) quantized with the plan's scales. */
export function planHead(chain: ConvChain, plan: ScalePlan): QuantConv {
  const [O, K] = chain.headWeight.shape;
  return quantizeConv(
    { name: "conv_preds", weight: chain.headWeight.reshape([O, K, 1, 1]), bias: chain.headBias, options: {} },
    plan.headWeightScales,
    FIRST_LAST_BITS,
    { scale: plan.outputScales[plan.outputScales.length - 1], range: unsignedRange(plan.activationBits) },
    { scale: 1, bits: FIRST_LAST_BITS },
    plan.scheme,
  );
}

export function planNet(chain: ConvChain, plan: ScalePlan): QuantizedNet {
  return {
    scheme: plan.scheme,
    weightBits: plan.weightBits,
    activationBits: plan.activationBits,
    imageSize: chain.imageSize,
    units: chain.units.map((_, l) => planUnit(chain, plan, l)),
    head: planHead(chain, plan),
  };
}
