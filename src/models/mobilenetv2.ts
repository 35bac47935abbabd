// MobileNetV2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks"),
// in timm's layout and names (mobilenetv2_100, timm's EfficientNet class):
//   conv_stem, bn1                 3x3/2 conv to 32 channels + BN + ReLU6
//   blocks.<stage>.<i>.*           the table below (see mobilenet_blocks.ts for the block kinds)
//   conv_head, bn2                 1x1 conv 320 -> 1280 + BN + ReLU6
//   classifier                     linear after global average pooling
// features(x) = conv_head output after its ReLU6 (1280x7x7 at 224, torchvision's features[-1]),
// forward(x) = logits.
//
// Width multiplier as in timm (fix_stem_head = false): stem and every block's output channels
// are rounded by makeDivisible, conv_head gets max(1280, round(1280 * width)).
// BatchNorm eps = 1e-5 (timm and torchvision agree). Any input size works.
// padding "tf" (weights trained in TensorFlow, e.g. the TFLite model, load/tflite_models.ts): TF's
// SAME padding, which for a stride-2 3x3 conv at an even size pads 0 before and 1 after (timm's
// symmetric padding pads 1 and 1: same output size, windows shifted by one pixel).
import { relu6 } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import { expectShape, type Tensor } from "../tensor/tensor.ts";
import { bnSpec, expectImage, foldConvBn, runConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";
import { blockSpec, convPadding, loadBlock, planBlocks, roundChannels, runBlock, table } from "./mobilenet_blocks.ts";
import type { BlockPlan, BlockRow, PaddingMode } from "./mobilenet_blocks.ts";

export interface MobileNetV2Config {
  width?: number; // channel multiplier, default 1.0
  numClasses?: number; // default 1000
  padding?: PaddingMode; // "symmetric" (timm, default) or "tf"
}

export const MOBILENETV2: BlockRow[][] = table([
  //  kind  n  k  s  expand  out   se     act          input at 224
  [["ds", 1, 3, 1, 1, 16, false, "relu6"]], // 112
  [["ir", 2, 3, 2, 6, 24, false, "relu6"]], // 112
  [["ir", 3, 3, 2, 6, 32, false, "relu6"]], //  56
  [["ir", 4, 3, 2, 6, 64, false, "relu6"]], //  28
  [["ir", 3, 3, 1, 6, 96, false, "relu6"]], //  14
  [["ir", 3, 3, 2, 6, 160, false, "relu6"]], //  14
  [["ir", 1, 3, 1, 6, 320, false, "relu6"]], //   7
]);

const STEM_CHANNELS = 32;
const HEAD_CHANNELS = 1280;
const BN_EPS = 1e-5;

function resolve(config: MobileNetV2Config) {
  const { width = 1, numClasses = 1000, padding = "symmetric" } = config;
  if (padding !== "symmetric" && padding !== "tf")
    throw new Error(`mobilenetv2: padding must be "symmetric" or "tf", got ${String(padding)}`);
  if (!(width > 0)) throw new Error(`mobilenetv2: width must be > 0, got ${width}`);
  if (!(Number.isInteger(numClasses) && numClasses > 0))
    throw new Error(`mobilenetv2: numClasses must be a positive integer, got ${numClasses}`);
  const stem = roundChannels(STEM_CHANNELS, width);
  const blocks = planBlocks(MOBILENETV2, stem, width);
  const head = Math.max(HEAD_CHANNELS, roundChannels(HEAD_CHANNELS, width));
  return { width, numClasses, padding, stem, blocks, head };
}

/** The block layout (names, channels, strides) for a config. */
export function mobilenetV2Blocks(config: MobileNetV2Config = {}): BlockPlan[] {
  return resolve(config).blocks;
}

/** Every parameter (timm names, BatchNorm unfused) -> shape. */
export function mobilenetV2Spec(config: MobileNetV2Config = {}): ModelSpec {
  const { stem, blocks, head, numClasses } = resolve(config);
  const spec: ModelSpec = new Map();
  spec.set("conv_stem.weight", [stem, 3, 3, 3]);
  bnSpec(spec, "bn1", stem);
  for (const b of blocks) blockSpec(spec, b);
  spec.set("conv_head.weight", [head, blocks[blocks.length - 1].outChannels, 1, 1]);
  bnSpec(spec, "bn2", head);
  spec.set("classifier.weight", [numClasses, head]);
  spec.set("classifier.bias", [numClasses]);
  return spec;
}

/** features(x): [1, 1280, ceil(H/32), ceil(W/32)] at width <= 1, after conv_head's ReLU6. */
export type MobileNetV2 = ConvNetModel<MobileNetV2Config>;

/** Builds a MobileNetV2 from timm-named weights (checked against the spec; BN folded here). */
export function createMobileNetV2(config: MobileNetV2Config, weights: Map<string, Tensor>): MobileNetV2 {
  const { width, numClasses, padding, blocks, head: headChannels } = resolve(config);
  checkWeights(`createMobileNetV2(width ${width})`, mobilenetV2Spec(config), weights);

  const stem = foldConvBn(weights, "conv_stem", "bn1", BN_EPS, { stride: 2, padding: convPadding(padding, 3, 2) });
  const loaded = blocks.map((b) => loadBlock(b, weights, BN_EPS, padding));
  const convHead = foldConvBn(weights, "conv_head", "bn2", BN_EPS, { stride: 1, padding: 0 });
  const classifier = { weight: weights.get("classifier.weight")!, bias: weights.get("classifier.bias")! };

  function features(x: Tensor): Tensor {
    expectImage("MobileNetV2.features", x);
    let h = relu6(runConv(x, stem)); // [1, 32, H/2, W/2]
    for (const block of loaded) h = runBlock(block, h); // -> [1, 320, H/32, W/32]
    return relu6(runConv(h, convHead)); // [1, 1280, H/32, W/32]
  }

  function head(feats: Tensor): Tensor {
    expectShape("MobileNetV2.head", "features", feats, [1, headChannels, -1, -1]);
    return linear(globalAvgPool(feats), classifier.weight, classifier.bias); // [1, numClasses]
  }

  return {
    config: { width, numClasses, padding },
    imageSize: 224,
    featureChannels: headChannels,
    features,
    head,
    forward: (x) => head(features(x)),
  };
}
