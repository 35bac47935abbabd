// R3D-18 (torchvision.models.video.r3d_18; Tran et al. 2018, "A Closer Look at Spatiotemporal Convolutions
// for Action Recognition"): ResNet-18's layout with every convolution made 3-D. Parameter names are
// torchvision's:
//   stem.0, stem.1                                   Conv3d 3->64, 3x7x7, stride (1,2,2), pad (1,3,3) + BN + ReLU
//                                                    (no max-pool)
//   layer{1-4}.{0,1}.conv1.0 / .conv1.1               3x3x3 conv (the block's stride) + BN (+ ReLU)
//   layer{1-4}.{0,1}.conv2.0 / .conv2.1               3x3x3 conv + BN
//   layer{2-4}.0.downsample.0 / .1                   1x1x1 conv, stride 2 in T, H and W, + BN on the shortcut
//   fc                                               linear after global average pooling over T, H, W
// Widths 64, 128, 256, 512; layers 2-4 halve T, H and W in their first block. BatchNorm3d (eps 1e-5) is
// folded into the convs at load. features(x) = layer4 output (after its final ReLU) [N, 512, T/8, H/16, W/16]
// (rounded up), forward(x) = fc(globalAvgPool3d(features)). The Kinetics-400 weights expect clips of
// 16 x 112 x 112 normalized with torchvision's video mean / std (the video input side's job).
import { add, relu } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool3d } from "../tensor/pooling3d.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { bnSpec } from "./conv_bn.ts";
import { expectClip, foldConv3dBn, runConv3d, type FusedConv3d } from "./conv_bn3d.ts";
import { checkWeights, type ModelSpec, type VideoConvNetModel } from "./model_spec.ts";

export interface ResNet3dConfig {
  numClasses?: number; // 400 (Kinetics-400)
}

const WIDTHS = [64, 128, 256, 512];
const BLOCKS_PER_LAYER = 2; // R3D-18
const BN_EPS = 1e-5;
/** The channels of features(x). */
export const R3D_FEATURE_CHANNELS = WIDTHS[3];

interface BlockLayout {
  prefix: string; // "layer2.0"
  inChannels: number;
  width: number;
  stride: number; // the same in T, H and W
  downsample: boolean;
}

/** Every block of the network with its channels and stride, in order. */
function blockLayouts(): BlockLayout[] {
  const blocks: BlockLayout[] = [];
  let channels = WIDTHS[0];
  WIDTHS.forEach((width, layer) => {
    for (let j = 0; j < BLOCKS_PER_LAYER; j++) {
      const stride = j === 0 && layer > 0 ? 2 : 1;
      const downsample = stride !== 1 || channels !== width;
      blocks.push({ prefix: `layer${layer + 1}.${j}`, inChannels: channels, width, stride, downsample });
      channels = width;
    }
  });
  return blocks;
}

/** Every parameter of r3d_18, name -> shape, in torchvision's state-dict order (num_batches_tracked dropped). */
export function resnet3dSpec(config: ResNet3dConfig = {}): ModelSpec {
  const numClasses = config.numClasses ?? 400;
  const spec: ModelSpec = new Map();
  spec.set("stem.0.weight", [64, 3, 3, 7, 7]);
  bnSpec(spec, "stem.1", 64);
  for (const b of blockLayouts()) {
    spec.set(`${b.prefix}.conv1.0.weight`, [b.width, b.inChannels, 3, 3, 3]);
    bnSpec(spec, `${b.prefix}.conv1.1`, b.width);
    spec.set(`${b.prefix}.conv2.0.weight`, [b.width, b.width, 3, 3, 3]);
    bnSpec(spec, `${b.prefix}.conv2.1`, b.width);
    if (b.downsample) {
      spec.set(`${b.prefix}.downsample.0.weight`, [b.width, b.inChannels, 1, 1, 1]);
      bnSpec(spec, `${b.prefix}.downsample.1`, b.width);
    }
  }
  spec.set("fc.weight", [numClasses, R3D_FEATURE_CHANNELS]);
  spec.set("fc.bias", [numClasses]);
  return spec;
}

interface Block {
  conv1: FusedConv3d; // + ReLU
  conv2: FusedConv3d;
  downsample: FusedConv3d | null;
}

/** features(x): [N, 512, t, h, w]. */
export type ResNet3d = VideoConvNetModel<ResNet3dConfig>;

/** Builds r3d_18 from torchvision-named weights (checked against resnet3dSpec, BatchNorm folded here). */
export function createResNet3d(config: ResNet3dConfig, weights: Map<string, Tensor>): ResNet3d {
  const full = { numClasses: 400, ...config };
  checkWeights("createResNet3d(r3d_18)", resnet3dSpec(full), weights);

  const stem = foldConv3dBn(weights, "stem.0", "stem.1", BN_EPS, { stride: [1, 2, 2], padding: [1, 3, 3] });
  const blocks: Block[] = blockLayouts().map((b) => ({
    conv1: foldConv3dBn(weights, `${b.prefix}.conv1.0`, `${b.prefix}.conv1.1`, BN_EPS, {
      stride: b.stride,
      padding: 1,
    }),
    conv2: foldConv3dBn(weights, `${b.prefix}.conv2.0`, `${b.prefix}.conv2.1`, BN_EPS, { padding: 1 }),
    downsample: b.downsample
      ? foldConv3dBn(weights, `${b.prefix}.downsample.0`, `${b.prefix}.downsample.1`, BN_EPS, { stride: b.stride })
      : null,
  }));
  const fcWeight = weights.get("fc.weight")!;
  const fcBias = weights.get("fc.bias")!;

  function runBlock(x: Tensor, block: Block): Tensor {
    const y = runConv3d(runConv3d(x, block.conv1, "relu"), block.conv2); // ReLU fused into the store
    const shortcut = block.downsample ? runConv3d(x, block.downsample) : x;
    return relu(add(y, shortcut));
  }

  function features(x: Tensor): Tensor {
    expectClip("r3d_18.features", x);
    let y = runConv3d(x, stem, "relu");
    for (const block of blocks) y = runBlock(y, block);
    return y;
  }

  /** features [N, 512, t, h, w] -> logits [N, numClasses] (global average pool + classifier). */
  function head(feats: Tensor): Tensor {
    return linear(globalAvgPool3d(feats), fcWeight, fcBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  return { config: full, clipSize: [16, 112, 112], featureChannels: R3D_FEATURE_CHANNELS, features, head, forward };
}
