// The float network that post-training quantization starts from: a chain of units conv -> BatchNorm
// -> ReLU6 (BatchNorm folded into the conv), then global average pooling and a linear classifier.
// MobileNetV1 is exactly this; the chain keeps, for every unit, its BatchNorm's beta and |gamma|,
// the mean and standard deviation the unit's pre-activation has over the data the BN statistics
// were measured on (the targets of the BN-based reconstruction, bn_reconstruction.ts).
import { foldConvBn } from "../models/conv_bn.ts";
import { checkWeights } from "../models/model_spec.ts";
import { MOBILENET_V1_BLOCKS, mobilenetV1Spec, type MobileNetV1Config } from "../models/mobilenetv1.ts";
import { conv2d, type Conv2dOptions } from "../tensor/conv.ts";
import { relu6 } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import { Tensor } from "../tensor/tensor.ts";

export interface ChainUnit {
  name: string; // the conv's name ("conv_pw_3"); its BatchNorm is `${name}_bn`
  weight: Tensor; // [O, C/groups, kh, kw], BatchNorm folded
  bias: Tensor; // [O], BatchNorm folded
  options: Conv2dOptions; // stride, padding, groups (no fused activation)
  bnMean: Float32Array; // [O] BN beta: the expected pre-activation per channel
  bnStd: Float32Array; // [O] |BN gamma|: its standard deviation
}

export interface ConvChain {
  arch: string;
  imageSize: number;
  units: ChainUnit[]; // each: conv + BN, then ReLU6
  headWeight: Tensor; // [numClasses, K]
  headBias: Tensor; // [numClasses]
}

/** unit i's pre-activation (conv + folded BN, before ReLU6). */
export function unitPreActivation(unit: ChainUnit, x: Tensor): Tensor {
  return conv2d(x, unit.weight, unit.bias, unit.options);
}

/** The float features: [1, K, h, w] after the last unit's ReLU6. */
export function chainFeatures(chain: ConvChain, x: Tensor): Tensor {
  let y = x;
  for (const unit of chain.units) y = relu6(unitPreActivation(unit, y));
  return y;
}

/** The float logits [1, numClasses]: global average pool, then the classifier. */
export function chainHead(chain: ConvChain, features: Tensor): Tensor {
  return linear(globalAvgPool(features), chain.headWeight, chain.headBias);
}

const BN_EPS = 1e-3; // Keras' BatchNorm epsilon, as src/models/mobilenetv1.ts

/** MobileNetV1 (canonical weights, src/models/mobilenetv1.ts) as a conv chain. */
export function mobilenetV1Chain(config: MobileNetV1Config, weights: Map<string, Tensor>): ConvChain {
  const alpha = config.widthMultiplier ?? 0.25;
  checkWeights(`quantize mobilenet_v1_${alpha}`, mobilenetV1Spec(config), weights);
  const units: ChainUnit[] = [];
  const add = (name: string, stride: number, groups: number) => {
    const options: Conv2dOptions = { stride, padding: "same", groups };
    const fused = foldConvBn(weights, name, `${name}_bn`, BN_EPS, options);
    const gamma = weights.get(`${name}_bn.weight`)!.data;
    units.push({
      name,
      weight: fused.weight,
      bias: fused.bias,
      options,
      bnMean: weights.get(`${name}_bn.bias`)!.data.slice(),
      bnStd: gamma.map(Math.abs),
    });
  };
  add("conv1", 2, 1);
  let channels = Math.floor(32 * alpha);
  MOBILENET_V1_BLOCKS.forEach(([filters, stride], index) => {
    add(`conv_dw_${index + 1}`, stride, channels);
    add(`conv_pw_${index + 1}`, 1, 1);
    channels = Math.floor(filters * alpha);
  });
  const preds = weights.get("conv_preds.weight")!;
  return {
    arch: `mobilenet_v1_${alpha}`,
    imageSize: 224,
    units,
    headWeight: new Tensor(preds.data, [preds.shape[0], preds.shape[1]]),
    headBias: weights.get("conv_preds.bias")!,
  };
}
