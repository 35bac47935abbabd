// MobileNetV1 (Howard et al. 2017) in the Keras layout of the TF.js model in
// ../shared/weights/mobilenet_v1_0.25_224_tfjs (Keras 2.1.4: every conv uses TF "SAME" padding, so a
// stride-2 3x3 conv at an even size pads 0 before and 1 after; later Keras versions spell that
// ZeroPadding2D((0,1),(0,1)) + "valid"). This project's canonical names = the Keras layer names with
// PyTorch suffixes and layouts (src/models/load/tfjs_models.ts maps the TF.js weights onto them):
//   conv1.weight [32a,3,3,3], conv1_bn.{weight,bias,running_mean,running_var}
//   conv_dw_i.weight [C,1,3,3] + conv_dw_i_bn.*     depthwise 3x3, i = 1..13
//   conv_pw_i.weight [O,C,1,1] + conv_pw_i_bn.*     pointwise 1x1
//   conv_preds.weight [classes,1024a,1,1], conv_preds.bias    1x1 conv head after global average pooling
// Every conv is followed by BatchNorm (eps 1e-3, folded at load) and ReLU6. The Keras model ends in a
// softmax; forward(x) returns the logits before it. features(x) = conv_pw_13 after its ReLU6
// ([1, 256, 7, 7] at width 0.25 and 224). Inputs are RGB scaled to [-1, 1] (x / 127.5 - 1).
import { relu6 } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { bnSpec, expectImage, foldConvBn, runConv, type FusedConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";

export interface MobileNetV1Config {
  widthMultiplier?: number; // alpha: 0.25, 0.5, 0.75 or 1.0 (default 0.25, the shared model)
  numClasses?: number; // 1000
}

const BN_EPS = 1e-3;
/** (pointwise output channels at width 1.0, depthwise stride) of conv_dw_i / conv_pw_i, i = 1..13. */
export const MOBILENET_V1_BLOCKS: readonly [number, number][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

interface ConvLayout {
  name: string; // Keras layer name ("conv_dw_3"); its BatchNorm is `${name}_bn`
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  groups: number;
}

/** Keras: channels = int(filters * alpha). */
const scaled = (filters: number, alpha: number) => Math.floor(filters * alpha);

function convLayouts(alpha: number): ConvLayout[] {
  if (!(alpha > 0)) throw new Error(`mobilenetv1: width multiplier must be > 0, got ${alpha}`);
  let channels = scaled(32, alpha);
  const convs: ConvLayout[] = [
    { name: "conv1", inChannels: 3, outChannels: channels, kernel: 3, stride: 2, groups: 1 },
  ];
  MOBILENET_V1_BLOCKS.forEach(([filters, stride], index) => {
    const i = index + 1;
    const out = scaled(filters, alpha);
    convs.push({
      name: `conv_dw_${i}`,
      inChannels: channels,
      outChannels: channels,
      kernel: 3,
      stride,
      groups: channels,
    });
    convs.push({ name: `conv_pw_${i}`, inChannels: channels, outChannels: out, kernel: 1, stride: 1, groups: 1 });
    channels = out;
  });
  return convs;
}

export function mobilenetV1FeatureChannels(alpha = 0.25): number {
  return scaled(1024, alpha);
}

/** Every parameter, name -> shape (PyTorch layouts), in layer order. */
export function mobilenetV1Spec(config: MobileNetV1Config = {}): ModelSpec {
  const { widthMultiplier = 0.25, numClasses = 1000 } = config;
  const spec: ModelSpec = new Map();
  for (const c of convLayouts(widthMultiplier)) {
    spec.set(`${c.name}.weight`, [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]);
    bnSpec(spec, `${c.name}_bn`, c.outChannels);
  }
  spec.set("conv_preds.weight", [numClasses, mobilenetV1FeatureChannels(widthMultiplier), 1, 1]);
  spec.set("conv_preds.bias", [numClasses]);
  return spec;
}

/** features(x): [1, 1024 * width, ceil(H/32), ceil(W/32)]. */
export type MobileNetV1 = ConvNetModel<MobileNetV1Config>;

export function createMobileNetV1(config: MobileNetV1Config, weights: Map<string, Tensor>): MobileNetV1 {
  const full = { widthMultiplier: 0.25, numClasses: 1000, ...config };
  const name = `mobilenet_v1_${full.widthMultiplier}`;
  checkWeights(`createMobileNetV1(${name})`, mobilenetV1Spec(full), weights);
  const convs: FusedConv[] = convLayouts(full.widthMultiplier).map((c) =>
    foldConvBn(weights, c.name, `${c.name}_bn`, BN_EPS, { stride: c.stride, padding: "same", groups: c.groups }),
  );
  const predsWeight = weights.get("conv_preds.weight")!;
  const headWeight = predsWeight.reshape([predsWeight.shape[0], predsWeight.shape[1]]); // 1x1 conv on a 1x1 map = linear
  const headBias = weights.get("conv_preds.bias")!;

  function features(x: Tensor): Tensor {
    expectImage(`${name}.features`, x);
    let y = x;
    for (const conv of convs) y = relu6(runConv(y, conv));
    return y;
  }

  /** features [1, C, h, w] -> logits [1, numClasses] (global average pool + classifier). */
  function head(feats: Tensor): Tensor {
    return linear(globalAvgPool(feats), headWeight, headBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  return {
    config: full,
    imageSize: 224,
    featureChannels: mobilenetV1FeatureChannels(full.widthMultiplier),
    features,
    head,
    forward,
  };
}
