// Darknet-Tiny ImageNet classifier, as in the TF.js model in ../shared/weights/darknet_tiny_tfjs
// (ml5.js): 15 x (conv, no bias, TF "SAME" padding -> BatchNorm eps 1e-3 -> LeakyReLU 0.1) with
// 2x2/2 "SAME" max-pools after layers 0, 1, 5 and 9 (total stride 16: 14x14 at 224, the ViT/16
// patch grid), then a 1x1 conv with bias to the classes and global average pooling.
// This project's canonical names (src/models/load/tfjs_models.ts maps the Keras names onto them):
//   layers.i.conv.weight [O,C,k,k] + layers.i.bn.{weight,bias,running_mean,running_var}   i = 0..14
//   head.weight [classes,128,1,1], head.bias
// features(x) = layer 14 after its LeakyReLU ([1, 128, 14, 14] at 224); forward(x) = the logits
// (the TF.js model has no softmax). Its class order is not verified against the ImageNet index.
import { leakyRelu } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool, maxPool2d } from "../tensor/pooling.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { bnSpec, expectImage, foldConvBn, runConv, type FusedConv } from "./conv_bn.ts";
import { checkWeights, type ModelSpec, type ConvNetModel } from "./model_spec.ts";

export interface DarknetLayer {
  kernel: number; // square kernel, stride 1
  filters: number;
  poolAfter: boolean; // 2x2/2 SAME max-pool after the activation
}

export interface DarknetConfig {
  layers?: readonly DarknetLayer[]; // default DARKNET_TINY_LAYERS
  numClasses?: number; // 1000
  leakySlope?: number; // 0.1
}

const BN_EPS = 1e-3;
const layer = (kernel: number, filters: number, poolAfter = false): DarknetLayer => ({ kernel, filters, poolAfter });
export const DARKNET_TINY_LAYERS: readonly DarknetLayer[] = [
  layer(3, 16, true),
  layer(3, 32, true),
  layer(1, 16),
  layer(3, 128),
  layer(1, 16),
  layer(3, 128, true),
  layer(1, 32),
  layer(3, 256),
  layer(1, 32),
  layer(3, 256, true),
  layer(1, 64),
  layer(3, 512),
  layer(1, 64),
  layer(3, 512),
  layer(1, 128),
];

/** Every parameter, name -> shape (PyTorch layouts), in layer order. */
export function darknetSpec(config: DarknetConfig = {}): ModelSpec {
  const { layers = DARKNET_TINY_LAYERS, numClasses = 1000 } = config;
  if (layers.length === 0) throw new Error("darknet: config.layers is empty");
  const spec: ModelSpec = new Map();
  let channels = 3;
  layers.forEach((l, i) => {
    spec.set(`layers.${i}.conv.weight`, [l.filters, channels, l.kernel, l.kernel]);
    bnSpec(spec, `layers.${i}.bn`, l.filters);
    channels = l.filters;
  });
  spec.set("head.weight", [numClasses, channels, 1, 1]);
  spec.set("head.bias", [numClasses]);
  return spec;
}

/** features(x): [1, 128, ceil(H/16), ceil(W/16)]. */
export type Darknet = ConvNetModel<DarknetConfig>;

export function createDarknet(config: DarknetConfig, weights: Map<string, Tensor>): Darknet {
  const full: Required<DarknetConfig> = { layers: DARKNET_TINY_LAYERS, numClasses: 1000, leakySlope: 0.1, ...config };
  checkWeights("createDarknet(darknet_tiny)", darknetSpec(full), weights);
  const convs: FusedConv[] = full.layers.map((_, i) =>
    foldConvBn(weights, `layers.${i}.conv`, `layers.${i}.bn`, BN_EPS, { stride: 1, padding: "same" }),
  );
  const headConv = weights.get("head.weight")!;
  const headWeight = headConv.reshape([headConv.shape[0], headConv.shape[1]]); // 1x1 conv commutes with the average pool
  const headBias = weights.get("head.bias")!;

  function features(x: Tensor): Tensor {
    expectImage("darknet_tiny.features", x);
    let y = x;
    full.layers.forEach((l, i) => {
      y = leakyRelu(runConv(y, convs[i]), full.leakySlope);
      if (l.poolAfter) y = maxPool2d(y, { kernel: 2, stride: 2, padding: "same" });
    });
    return y;
  }

  /** features [1, C, h, w] -> logits [1, numClasses] (global average pool + classifier). */
  function head(feats: Tensor): Tensor {
    return linear(globalAvgPool(feats), headWeight, headBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  const featureChannels = full.layers[full.layers.length - 1].filters;
  return { config: full, imageSize: 224, featureChannels, features, head, forward };
}
