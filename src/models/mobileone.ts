// MobileOne-S0 (Vasu et al. 2023) in its fused (reparameterised) inference form: after
// reparameterisation every MobileOne block is one conv with bias + ReLU. Names are timm's
// (byobnet `mobileone_s0` after reparameterize):
//   stem.reparam_conv                 3x3/2, 3 -> 48
//   stages.i.(2j).reparam_conv        depthwise 3x3 (groups = channels), stride 2 when j = 0
//   stages.i.(2j+1).reparam_conv      pointwise 1x1 -> the stage width
//   head.fc                           linear after global average pooling
// Stages: (2, 8, 10, 1) depthwise/pointwise pairs, widths (48, 128, 256, 1024); S0 has no SE.
// features(x) = last stage after its ReLU, [1, 1024, 7, 7] at 224; forward(x) = head.fc(avg pool).
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { expectImage, runConv, type FusedConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";

export interface MobileOneConfig {
  numClasses?: number; // 1000
}

const STEM_WIDTH = 48;
const STAGE_DEPTHS = [2, 8, 10, 1];
const STAGE_WIDTHS = [48, 128, 256, 1024];

interface BlockLayout {
  name: string; // "stages.1.4"
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  groups: number;
}

/** The stem and every block in order (stage blocks alternate depthwise / pointwise). */
function blockLayouts(): BlockLayout[] {
  const blocks: BlockLayout[] = [
    { name: "stem", inChannels: 3, outChannels: STEM_WIDTH, kernel: 3, stride: 2, groups: 1 },
  ];
  let channels = STEM_WIDTH;
  STAGE_DEPTHS.forEach((depth, i) => {
    for (let j = 0; j < depth; j++) {
      const stride = j === 0 ? 2 : 1;
      blocks.push({
        name: `stages.${i}.${2 * j}`,
        inChannels: channels,
        outChannels: channels,
        kernel: 3,
        stride,
        groups: channels,
      });
      blocks.push({
        name: `stages.${i}.${2 * j + 1}`,
        inChannels: channels,
        outChannels: STAGE_WIDTHS[i],
        kernel: 1,
        stride: 1,
        groups: 1,
      });
      channels = STAGE_WIDTHS[i];
    }
  });
  return blocks;
}

export const MOBILEONE_FEATURE_CHANNELS = STAGE_WIDTHS[STAGE_WIDTHS.length - 1];

/** Every parameter of the fused model, name -> shape, in timm's order. */
export function mobileoneSpec(config: MobileOneConfig = {}): ModelSpec {
  const { numClasses = 1000 } = config;
  const spec: ModelSpec = new Map();
  for (const b of blockLayouts()) {
    spec.set(`${b.name}.reparam_conv.weight`, [b.outChannels, b.inChannels / b.groups, b.kernel, b.kernel]);
    spec.set(`${b.name}.reparam_conv.bias`, [b.outChannels]);
  }
  spec.set("head.fc.weight", [numClasses, MOBILEONE_FEATURE_CHANNELS]);
  spec.set("head.fc.bias", [numClasses]);
  return spec;
}

/** features(x): [1, 1024, H/32, W/32]. */
export type MobileOne = ConvNetModel<MobileOneConfig>;

/** Builds MobileOne-S0 from the fused, timm-named weights (checked against mobileoneSpec). */
export function createMobileOne(config: MobileOneConfig, weights: Map<string, Tensor>): MobileOne {
  const full = { numClasses: 1000, ...config };
  checkWeights("createMobileOne(mobileone_s0)", mobileoneSpec(full), weights);
  const blocks: FusedConv[] = blockLayouts().map((b) => ({
    weight: weights.get(`${b.name}.reparam_conv.weight`)!,
    bias: weights.get(`${b.name}.reparam_conv.bias`)!,
    options: { stride: b.stride, padding: (b.kernel - 1) / 2, groups: b.groups },
  }));
  const fcWeight = weights.get("head.fc.weight")!;
  const fcBias = weights.get("head.fc.bias")!;

  function features(x: Tensor): Tensor {
    expectImage("mobileone_s0.features", x);
    let y = x;
    for (const block of blocks) y = runConv(y, block, "relu"); // ReLU fused into the conv's store
    return y;
  }

  /** features [1, C, h, w] -> logits [1, numClasses] (global average pool + classifier). */
  function head(feats: Tensor): Tensor {
    return linear(globalAvgPool(feats), fcWeight, fcBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  return { config: full, imageSize: 224, featureChannels: MOBILEONE_FEATURE_CHANNELS, features, head, forward };
}
