// ResNet-18/34/50/101/152 (He et al. 2016, torchvision "v1.5": the stride sits in the 3x3 conv of
// a bottleneck). Parameter names are timm's, which equal torchvision's:
//   conv1, bn1                                    7x7/2 stem conv + BN (+ ReLU, 3x3/2 max-pool)
//   layer{1-4}.{j}.conv{1,2[,3]}, .bn{1,2[,3]}    basic (2 convs) or bottleneck (3 convs) blocks
//   layer{1-4}.0.downsample.0 / .1                1x1 conv + BN on the shortcut when shape changes
//   fc                                            linear after global average pooling
// BatchNorm is folded into the convs at load. features(x) = layer4 output (after its final ReLU),
// forward(x) = fc(globalAvgPool(features)).
import { add, relu } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool, maxPool2d } from "../tensor/pooling.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { bnSpec, expectImage, foldConvBn, runConv, type FusedConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";

export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

export interface ResNetConfig {
  depth: ResNetDepth;
  numClasses?: number; // 1000
}

const BLOCKS_PER_LAYER: Record<ResNetDepth, number[]> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};
const WIDTHS = [64, 128, 256, 512]; // inner width of each layer; bottleneck output = 4x
const BN_EPS = 1e-5;

const isBottleneck = (depth: ResNetDepth) => depth >= 50;

interface BlockLayout {
  prefix: string; // "layer2.0"
  inChannels: number;
  width: number;
  stride: number;
  downsample: boolean;
}

/** Every block of the network with its channels and stride, in order. */
function blockLayouts(depth: ResNetDepth): BlockLayout[] {
  if (!(depth in BLOCKS_PER_LAYER)) throw new Error(`resnet: unsupported depth ${depth} (18, 34, 50, 101 or 152)`);
  const expansion = isBottleneck(depth) ? 4 : 1;
  const blocks: BlockLayout[] = [];
  let channels = 64;
  BLOCKS_PER_LAYER[depth].forEach((count, layer) => {
    const width = WIDTHS[layer];
    for (let j = 0; j < count; j++) {
      const stride = j === 0 && layer > 0 ? 2 : 1;
      const downsample = stride !== 1 || channels !== width * expansion;
      blocks.push({ prefix: `layer${layer + 1}.${j}`, inChannels: channels, width, stride, downsample });
      channels = width * expansion;
    }
  });
  return blocks;
}

/** The channels of features(x): 512 (basic blocks) or 2048 (bottlenecks). */
export function resnetFeatureChannels(depth: ResNetDepth): number {
  return WIDTHS[3] * (isBottleneck(depth) ? 4 : 1);
}

/** Every parameter of the model, name -> shape, in torchvision's state-dict order. */
export function resnetSpec(config: ResNetConfig): ModelSpec {
  const { depth, numClasses = 1000 } = config;
  const spec: ModelSpec = new Map();
  spec.set("conv1.weight", [64, 3, 7, 7]);
  bnSpec(spec, "bn1", 64);
  const expansion = isBottleneck(depth) ? 4 : 1;
  for (const b of blockLayouts(depth)) {
    // (in, out, kernel) of each conv in the residual branch
    const convs: [number, number, number][] = isBottleneck(depth)
      ? [
          [b.inChannels, b.width, 1],
          [b.width, b.width, 3],
          [b.width, b.width * 4, 1],
        ]
      : [
          [b.inChannels, b.width, 3],
          [b.width, b.width, 3],
        ];
    convs.forEach(([cin, cout, k], i) => {
      spec.set(`${b.prefix}.conv${i + 1}.weight`, [cout, cin, k, k]);
      bnSpec(spec, `${b.prefix}.bn${i + 1}`, cout);
    });
    if (b.downsample) {
      spec.set(`${b.prefix}.downsample.0.weight`, [b.width * expansion, b.inChannels, 1, 1]);
      bnSpec(spec, `${b.prefix}.downsample.1`, b.width * expansion);
    }
  }
  spec.set("fc.weight", [numClasses, resnetFeatureChannels(depth)]);
  spec.set("fc.bias", [numClasses]);
  return spec;
}

interface Block {
  convs: FusedConv[]; // the residual branch; ReLU between convs, not after the last
  downsample: FusedConv | null;
}

/** features(x): [1, 512 or 2048, H/32, W/32]. */
export type ResNet = ConvNetModel<ResNetConfig>;

/** Builds a ResNet from timm/torchvision-named weights (checked against resnetSpec, BN folded here). */
export function createResNet(config: ResNetConfig, weights: Map<string, Tensor>): ResNet {
  const full = { numClasses: 1000, ...config };
  const name = `resnet${full.depth}`;
  checkWeights(`createResNet(${name})`, resnetSpec(full), weights);

  const stem = foldConvBn(weights, "conv1", "bn1", BN_EPS, { stride: 2, padding: 3 });
  const blocks: Block[] = blockLayouts(full.depth).map((b) => {
    const kernels = isBottleneck(full.depth) ? [1, 3, 1] : [3, 3];
    const strided = isBottleneck(full.depth) ? 1 : 0; // v1.5: the stride sits in the first 3x3 conv
    const convs = kernels.map((k, i) =>
      foldConvBn(weights, `${b.prefix}.conv${i + 1}`, `${b.prefix}.bn${i + 1}`, BN_EPS, {
        stride: i === strided ? b.stride : 1,
        padding: (k - 1) / 2,
      }),
    );
    const downsample = b.downsample
      ? foldConvBn(weights, `${b.prefix}.downsample.0`, `${b.prefix}.downsample.1`, BN_EPS, {
          stride: b.stride,
          padding: 0,
        })
      : null;
    return { convs, downsample };
  });
  const fcWeight = weights.get("fc.weight")!;
  const fcBias = weights.get("fc.bias")!;

  function runBlock(x: Tensor, block: Block): Tensor {
    let y = x;
    block.convs.forEach((conv, i) => {
      y = runConv(y, conv, i < block.convs.length - 1 ? "relu" : "none"); // ReLU fused into the store
    });
    const shortcut = block.downsample ? runConv(x, block.downsample) : x;
    return relu(add(y, shortcut));
  }

  function features(x: Tensor): Tensor {
    expectImage(`${name}.features`, x);
    let y = maxPool2d(runConv(x, stem, "relu"), { kernel: 3, stride: 2, padding: 1 });
    for (const block of blocks) y = runBlock(y, block);
    return y;
  }

  /** features [1, C, h, w] -> logits [1, numClasses] (global average pool + classifier). */
  function head(feats: Tensor): Tensor {
    return linear(globalAvgPool(feats), fcWeight, fcBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  return { config: full, imageSize: 224, featureChannels: resnetFeatureChannels(full.depth), features, head, forward };
}
