// MobileNetV3 small and large (Howard et al. 2019, "Searching for MobileNetV3"), in timm's
// layout and names (mobilenetv3_small_100 / mobilenetv3_large_100):
//   conv_stem, bn1                 3x3/2 conv to 16 channels + BN + hardswish
//   blocks.<stage>.<i>.*           the table below (see mobilenet_blocks.ts for the block kinds)
//   conv_head                      1x1 conv WITH bias, no BN, + hardswish, applied AFTER global pooling
//   classifier                     linear
// features(x) = output of the last block (cn: 1x1 conv + BN + hardswish to 576 / 960 channels,
// torchvision's features[-1]), 7x7 at 224, before pooling. forward(x) = logits.
// conv_head on a pooled 1x1 map is torchvision's classifier[0] Linear(576/960 -> 1024/1280).
//
// Width multiplier as in timm: every block's output channels are rounded by makeDivisible
// (mid and SE channels follow); the stem stays 16 below width 0.75; conv_head's width (1024 /
// 1280) does not scale. BatchNorm eps = 1e-5 (timm; torchvision's 1e-3 is absorbed into
// running_var by its name map). Any input size works: each stride-2 conv gives ceil(H / 2).
import { hardswish } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import { expectShape, type Tensor } from "../tensor/tensor.ts";
import { bnSpec, expectImage, foldConvBn, runConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";
import { blockSpec, loadBlock, planBlocks, roundChannels, runBlock, table } from "./mobilenet_blocks.ts";
import type { BlockPlan, BlockRow } from "./mobilenet_blocks.ts";

export type MobileNetV3Variant = "small" | "large";

export interface MobileNetV3Config {
  variant: MobileNetV3Variant;
  width?: number; // channel multiplier, default 1.0
  numClasses?: number; // default 1000
}

export const MOBILENETV3_SMALL: BlockRow[][] = table([
  //  kind  n  k  s  expand  out   se     act            input at 224
  [["ds", 1, 3, 2, 1, 16, true, "relu"]], // 112
  [
    ["ir", 1, 3, 2, 4.5, 24, false, "relu"], //  56
    ["ir", 1, 3, 1, 3.67, 24, false, "relu"],
  ],
  [
    ["ir", 1, 5, 2, 4, 40, true, "hardswish"], //  28
    ["ir", 2, 5, 1, 6, 40, true, "hardswish"],
  ],
  [["ir", 2, 5, 1, 3, 48, true, "hardswish"]], //  14
  [["ir", 3, 5, 2, 6, 96, true, "hardswish"]], //  14
  [["cn", 1, 1, 1, 1, 576, false, "hardswish"]], //   7
]);

export const MOBILENETV3_LARGE: BlockRow[][] = table([
  //  kind  n  k  s  expand  out   se     act            input at 224
  [["ds", 1, 3, 1, 1, 16, false, "relu"]], // 112
  [
    ["ir", 1, 3, 2, 4, 24, false, "relu"], // 112
    ["ir", 1, 3, 1, 3, 24, false, "relu"],
  ],
  [["ir", 3, 5, 2, 3, 40, true, "relu"]], //  56
  [
    ["ir", 1, 3, 2, 6, 80, false, "hardswish"], //  28
    ["ir", 1, 3, 1, 2.5, 80, false, "hardswish"],
    ["ir", 2, 3, 1, 2.3, 80, false, "hardswish"],
  ],
  [["ir", 2, 3, 1, 6, 112, true, "hardswish"]], //  14
  [["ir", 3, 5, 2, 6, 160, true, "hardswish"]], //  14
  [["cn", 1, 1, 1, 1, 960, false, "hardswish"]], //   7
]);

const STEM_CHANNELS = 16;
const HEAD_CHANNELS: Record<MobileNetV3Variant, number> = { small: 1024, large: 1280 };
const BN_EPS = 1e-5;

function resolve(config: MobileNetV3Config) {
  const { variant, width = 1, numClasses = 1000 } = config;
  if (variant !== "small" && variant !== "large")
    throw new Error(`mobilenetv3: variant must be "small" or "large", got ${String(variant)}`);
  if (!(width > 0)) throw new Error(`mobilenetv3: width must be > 0, got ${width}`);
  if (!(Number.isInteger(numClasses) && numClasses > 0))
    throw new Error(`mobilenetv3: numClasses must be a positive integer, got ${numClasses}`);
  const stem = width < 0.75 ? STEM_CHANNELS : roundChannels(STEM_CHANNELS, width);
  const blocks = planBlocks(variant === "small" ? MOBILENETV3_SMALL : MOBILENETV3_LARGE, stem, width);
  return { variant, width, numClasses, stem, blocks, head: HEAD_CHANNELS[variant] };
}

/** The block layout (names, channels, strides) for a config. */
export function mobilenetV3Blocks(config: MobileNetV3Config): BlockPlan[] {
  return resolve(config).blocks;
}

/** Every parameter (timm names, BatchNorm unfused) -> shape. */
export function mobilenetV3Spec(config: MobileNetV3Config): ModelSpec {
  const { stem, blocks, head, numClasses } = resolve(config);
  const spec: ModelSpec = new Map();
  spec.set("conv_stem.weight", [stem, 3, 3, 3]);
  bnSpec(spec, "bn1", stem);
  for (const b of blocks) blockSpec(spec, b);
  const featureChannels = blocks[blocks.length - 1].outChannels;
  spec.set("conv_head.weight", [head, featureChannels, 1, 1]);
  spec.set("conv_head.bias", [head]);
  spec.set("classifier.weight", [numClasses, head]);
  spec.set("classifier.bias", [numClasses]);
  return spec;
}

/** features(x): [1, 576 (small) / 960 (large), ceil(H/32), ceil(W/32)], after the last hardswish. */
export type MobileNetV3 = ConvNetModel<MobileNetV3Config>;

/** Builds a MobileNetV3 from timm-named weights (checked against the spec; BN folded here). */
export function createMobileNetV3(config: MobileNetV3Config, weights: Map<string, Tensor>): MobileNetV3 {
  const { variant, width, numClasses, blocks } = resolve(config);
  const op = `createMobileNetV3(${variant}, width ${width})`;
  checkWeights(op, mobilenetV3Spec(config), weights);

  const stem = foldConvBn(weights, "conv_stem", "bn1", BN_EPS, { stride: 2, padding: 1 });
  const loaded = blocks.map((b) => loadBlock(b, weights, BN_EPS));
  const headWeight = weights.get("conv_head.weight")!; // [N, K, 1, 1]: on the pooled map, a linear [N, K]
  const convHead = { weight: headWeight.reshape(headWeight.shape.slice(0, 2)), bias: weights.get("conv_head.bias")! };
  const classifier = { weight: weights.get("classifier.weight")!, bias: weights.get("classifier.bias")! };

  function features(x: Tensor): Tensor {
    expectImage("MobileNetV3.features", x);
    let h = runConv(x, stem, "hardswish"); // [1, 16, H/2, W/2]
    for (const block of loaded) h = runBlock(block, h);
    return h; // [1, 576 | 960, H/32, W/32]
  }

  const featureChannels = blocks[blocks.length - 1].outChannels;

  function head(feats: Tensor): Tensor {
    expectShape("MobileNetV3.head", "features", feats, [1, featureChannels, -1, -1]);
    const pooled = globalAvgPool(feats); // [1, 576 | 960]
    const hidden = hardswish(linear(pooled, convHead.weight, convHead.bias)); // [1, 1024 | 1280]
    return linear(hidden, classifier.weight, classifier.bias); // [1, numClasses]
  }

  return {
    config: { variant, width, numClasses },
    imageSize: 224,
    featureChannels,
    features,
    head,
    forward: (x) => head(features(x)),
  };
}
