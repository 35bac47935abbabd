// X3D-XS / X3D-S / X3D-M (Feichtenhofer, CVPR 2020, "X3D: Expanding Architectures for Efficient Video
// Recognition", Table 1), the video proposers of PAPR-SPEC.md section 6, in PyTorchVideo's layout and names
// (create_x3d; the torch hub checkpoints x3d_xs / x3d_s / x3d_m, which share one set of shapes and differ only
// in the clip they were trained on):
//   blocks.0.conv.conv_t          1x3x3 conv, stride (1,2,2), 3 -> 24 (PyTorchVideo names the SPATIAL conv conv_t)
//   blocks.0.conv.conv_xy         5x1x1 depthwise temporal conv, 24 -> 24 (and the temporal one conv_xy)
//   blocks.0.norm                 BN + ReLU
//   blocks.{1-4}.res_blocks.{j}   res2..res5: 3, 5, 11, 7 bottlenecks to 24, 48, 96, 192 channels:
//     .branch2.conv_a, .norm_a      1x1x1 conv to 2.25x (54, 108, 216, 432) + BN + ReLU
//     .branch2.conv_b, .norm_b.0    3x3x3 depthwise conv (stride (1,2,2) in block 0) + BN
//     .branch2.norm_b.1.block.0/2   squeeze-excitation on blocks 0, 2, 4, ... (1x1x1 convs with bias, ReLU
//                                   between, sigmoid gate; 8, 8, 16, 32 channels: round_width(inner, 1/16))
//                                   then Swish
//     .branch2.conv_c, .norm_c      1x1x1 conv to the stage's width + BN (no activation)
//     .branch1_conv [, .branch1_norm]  shortcut of block 0: 1x1x1 conv (stride (1,2,2)); its BN only where the
//                                   width changes (res3..res5: res2 keeps 24 channels, so its shortcut conv has none)
//   sum + ReLU
//   blocks.5.pool.pre_conv, .pre_norm   "conv5": 1x1x1 conv 192 -> 432 + BN + ReLU       <- features(x)
//   blocks.5.pool.post_conv       average pool (below), 1x1x1 conv 432 -> 2048 without bias or BN, ReLU
//   blocks.5.proj                 linear 2048 -> classes (dropout before it is the identity at inference)
// BatchNorm eps 1e-5, folded into the conv before it at load. features(x) = the conv5 map [N, 432, T, H/32, W/32]
// (T is kept: no temporal stride anywhere), the last map before the head's pooling; PaPr averages it over channels.
//
// The head's pooling: PyTorchVideo pools with AvgPool3d(kernel = [T, ceil(S/32), ceil(S/32)] of the training clip
// [T, S, S], stride 1), i.e. one window at the training size, then averages the logits over whatever positions
// remain. Here each kernel axis is clamped to the map (PyTorchVideo raises instead when a clip is shorter or smaller
// than the training one, as PaPr's 8-frame X3D-S clips are), and forward returns logits: PyTorchVideo's head applies a
// softmax before that final average, which changes no ranking when the pool leaves one position.
import { linear } from "../tensor/linear.ts";
import { conv3d, type Conv3dOptions } from "../tensor/conv3d.ts";
import { add, relu, silu } from "../tensor/elementwise.ts";
import { avgPool3d, globalAvgPool3d } from "../tensor/pooling3d.ts";
import { squeezeExcite } from "../tensor/se.ts";
import { expectShape, zeros, type Tensor } from "../tensor/tensor.ts";
import { bnSpec } from "./conv_bn.ts";
import { expectClip, foldConv3dBn, runConv3d, type FusedConv3d } from "./conv_bn3d.ts";
import { checkWeights, type ModelSpec, type VideoConvNetModel } from "./model_spec.ts";

export type X3dVariant = "xs" | "s" | "m";

export interface X3dConfig {
  variant: X3dVariant;
  numClasses?: number; // 400 (Kinetics-400)
  clip?: readonly [number, number, number]; // [T, H, W] trained at, sets the head's pool kernel; X3D_CLIPS[variant]
}

/** The clip [T, H, W] each checkpoint was trained on (PyTorchVideo's hub builders); it sets the head's pool kernel. */
export const X3D_CLIPS: Record<X3dVariant, readonly [number, number, number]> = {
  xs: [4, 160, 160],
  s: [13, 160, 160],
  m: [16, 224, 224],
};

// The expansion of X3D's base network X2D (paper, section 3): X2D has a 12-channel stem and stages of 1, 2, 5, 3
// blocks with widths 12, 24, 48, 96; X3D-XS/S/M widen by 2.0 (gamma_w) and deepen by 2.2 (gamma_d).
const BASE_STEM = 12;
const BASE_DEPTHS = [1, 2, 5, 3];
const WIDTH_FACTOR = 2.0;
const DEPTH_FACTOR = 2.2;
const BOTTLENECK_FACTOR = 2.25; // gamma_b: inner (expanded) width of a bottleneck over its output width
const SE_RATIO = 1 / 16;
const STEM_KERNEL_T = 5;
const HEAD_CHANNELS = 2048; // fc1 of Table 1 (post_conv)
const BN_EPS = 1e-5;
const SPATIAL_STRIDE = 32; // stem and each of the four stages halve H and W

/**
 * PyTorchVideo's round_width: `width * multiplier` to the nearest multiple of 8 (ties up), at least 8, bumped up by
 * 8 when rounding lost more than 10%.
 */
export function roundWidth(width: number, multiplier: number, divisor = 8): number {
  const scaled = width * multiplier;
  let out = Math.max(divisor, Math.floor(Math.floor(scaled + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * scaled) out += divisor;
  return out;
}

/** PyTorchVideo's round_repeats: ceil(repeats * multiplier). */
export function roundRepeats(repeats: number, multiplier: number): number {
  return Math.ceil(multiplier * repeats);
}

const STEM_CHANNELS = roundWidth(BASE_STEM, WIDTH_FACTOR); // 24
/** Output width of res2..res5: 24, 48, 96, 192. */
export const X3D_STAGE_CHANNELS = [1, 2, 4, 8].map((k) => roundWidth(BASE_STEM * k, WIDTH_FACTOR));
/** Blocks in res2..res5: 3, 5, 11, 7. */
export const X3D_STAGE_DEPTHS = BASE_DEPTHS.map((d) => roundRepeats(d, DEPTH_FACTOR));
/** Channels of features(x): conv5's 432 (the inner width of res5). */
export const X3D_FEATURE_CHANNELS = Math.floor(BOTTLENECK_FACTOR * X3D_STAGE_CHANNELS[3]);

interface BlockLayout {
  prefix: string; // "blocks.2.res_blocks.0"
  inChannels: number;
  inner: number; // 2.25x the output width
  outChannels: number;
  stride: number; // spatial stride of conv_b and the shortcut conv
  seChannels: number; // 0: no squeeze-excitation in this block
  shortcutConv: boolean;
  shortcutNorm: boolean;
}

/** Every bottleneck of res2..res5 with its channels, stride and optional parts, in order. */
function blockLayouts(): BlockLayout[] {
  const blocks: BlockLayout[] = [];
  let channels = STEM_CHANNELS;
  X3D_STAGE_CHANNELS.forEach((outChannels, stage) => {
    const inner = Math.floor(BOTTLENECK_FACTOR * outChannels);
    for (let j = 0; j < X3D_STAGE_DEPTHS[stage]; j++) {
      const stride = j === 0 ? 2 : 1;
      blocks.push({
        prefix: `blocks.${stage + 1}.res_blocks.${j}`,
        inChannels: channels,
        inner,
        outChannels,
        stride,
        seChannels: j % 2 === 0 ? roundWidth(inner, SE_RATIO) : 0,
        shortcutConv: channels !== outChannels || stride > 1,
        shortcutNorm: channels !== outChannels,
      });
      channels = outChannels;
    }
  });
  return blocks;
}

/** Every parameter of the model, name -> shape, in PyTorchVideo's state-dict order. */
export function x3dSpec(config: X3dConfig): ModelSpec {
  const { numClasses = 400 } = config;
  checkVariant(config.variant);
  const spec: ModelSpec = new Map();
  spec.set("blocks.0.conv.conv_t.weight", [STEM_CHANNELS, 3, 1, 3, 3]);
  spec.set("blocks.0.conv.conv_xy.weight", [STEM_CHANNELS, 1, STEM_KERNEL_T, 1, 1]);
  bnSpec(spec, "blocks.0.norm", STEM_CHANNELS);
  for (const b of blockLayouts()) {
    if (b.shortcutConv) spec.set(`${b.prefix}.branch1_conv.weight`, [b.outChannels, b.inChannels, 1, 1, 1]);
    if (b.shortcutNorm) bnSpec(spec, `${b.prefix}.branch1_norm`, b.outChannels);
    const branch = `${b.prefix}.branch2`;
    spec.set(`${branch}.conv_a.weight`, [b.inner, b.inChannels, 1, 1, 1]);
    bnSpec(spec, `${branch}.norm_a`, b.inner);
    spec.set(`${branch}.conv_b.weight`, [b.inner, 1, 3, 3, 3]);
    bnSpec(spec, `${branch}.norm_b.0`, b.inner);
    if (b.seChannels > 0) {
      spec.set(`${branch}.norm_b.1.block.0.weight`, [b.seChannels, b.inner, 1, 1, 1]);
      spec.set(`${branch}.norm_b.1.block.0.bias`, [b.seChannels]);
      spec.set(`${branch}.norm_b.1.block.2.weight`, [b.inner, b.seChannels, 1, 1, 1]);
      spec.set(`${branch}.norm_b.1.block.2.bias`, [b.inner]);
    }
    spec.set(`${branch}.conv_c.weight`, [b.outChannels, b.inner, 1, 1, 1]);
    bnSpec(spec, `${branch}.norm_c`, b.outChannels);
  }
  spec.set("blocks.5.pool.pre_conv.weight", [X3D_FEATURE_CHANNELS, X3D_STAGE_CHANNELS[3], 1, 1, 1]);
  bnSpec(spec, "blocks.5.pool.pre_norm", X3D_FEATURE_CHANNELS);
  spec.set("blocks.5.pool.post_conv.weight", [HEAD_CHANNELS, X3D_FEATURE_CHANNELS, 1, 1, 1]);
  spec.set("blocks.5.proj.weight", [numClasses, HEAD_CHANNELS]);
  spec.set("blocks.5.proj.bias", [numClasses]);
  return spec;
}

function checkVariant(variant: X3dVariant): void {
  if (!Object.hasOwn(X3D_CLIPS, variant)) {
    throw new Error(`x3d: unknown variant ${JSON.stringify(variant)} ("xs", "s" or "m")`);
  }
}

/** Squeeze-excitation parameters of one block, as tensor/se.ts takes them (1x1x1 weights as 1x1). */
interface SqueezeExcite3d {
  reduceWeight: Tensor; // [Cr, C, 1, 1]
  reduceBias: Tensor; // [Cr]
  expandWeight: Tensor; // [C, Cr, 1, 1]
  expandBias: Tensor; // [C]
}

interface Block {
  convA: FusedConv3d; // + ReLU
  convB: FusedConv3d; // depthwise, then SE (if any), then Swish
  se: SqueezeExcite3d | null;
  convC: FusedConv3d;
  shortcut: FusedConv3d | null;
}

/** features(x): [N, 432, T, ceil(H/32), ceil(W/32)], conv5 after its ReLU; clipSize: the training clip. */
export type X3d = VideoConvNetModel<X3dConfig>;

/** Builds an X3D from PyTorchVideo-named weights (checked against x3dSpec, BatchNorm folded here). */
export function createX3d(config: X3dConfig, weights: Map<string, Tensor>): X3d {
  checkVariant(config.variant);
  const full = { numClasses: 400, clip: X3D_CLIPS[config.variant], ...config };
  const name = `x3d_${full.variant}`;
  if (full.clip.length !== 3 || !full.clip.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`createX3d(${name}): clip must be [T, H, W], positive integers, got ${JSON.stringify(full.clip)}`);
  }
  checkWeights(`createX3d(${name})`, x3dSpec(full), weights);
  const get = (key: string) => weights.get(key)!; // names were checked against the spec

  const stemSpatial = withoutBias(get("blocks.0.conv.conv_t.weight"), { stride: [1, 2, 2], padding: [0, 1, 1] });
  const stemTemporal = foldConv3dBn(weights, "blocks.0.conv.conv_xy", "blocks.0.norm", BN_EPS, {
    padding: [(STEM_KERNEL_T - 1) / 2, 0, 0],
    groups: STEM_CHANNELS,
  });
  const blocks: Block[] = blockLayouts().map((b) => loadBlock(weights, b));
  const conv5 = foldConv3dBn(weights, "blocks.5.pool.pre_conv", "blocks.5.pool.pre_norm", BN_EPS, {});
  const postConv = get("blocks.5.pool.post_conv.weight");
  const projWeight = get("blocks.5.proj.weight");
  const projBias = get("blocks.5.proj.bias");
  const clipSize = full.clip;
  const poolKernel = [clipSize[0], Math.ceil(clipSize[1] / SPATIAL_STRIDE), Math.ceil(clipSize[2] / SPATIAL_STRIDE)];

  function features(x: Tensor): Tensor {
    expectClip(`${name}.features`, x);
    let y = runConv3d(runConv3d(x, stemSpatial), stemTemporal, "relu");
    for (const block of blocks) y = runBlock(y, block);
    return runConv3d(y, conv5, "relu");
  }

  /** features [N, 432, t, h, w] -> logits [N, numClasses] (see the file header for the pooling). */
  function head(feats: Tensor): Tensor {
    expectShape(`${name}.head`, "features", feats, [-1, X3D_FEATURE_CHANNELS, -1, -1, -1]);
    const kernel = poolKernel.map((k, i) => Math.min(k, feats.shape[2 + i])) as [number, number, number];
    const pooled = avgPool3d(feats, { kernel, stride: 1 });
    const hidden = conv3d(pooled, postConv, null, { activation: "relu" }); // [N, 2048, t', h', w']
    // mean over positions of proj(hidden) = proj(mean over positions): the projection is affine
    return linear(globalAvgPool3d(hidden), projWeight, projBias);
  }

  function forward(x: Tensor): Tensor {
    return head(features(x));
  }

  return { config: full, clipSize, featureChannels: X3D_FEATURE_CHANNELS, features, head, forward };
}

function loadBlock(weights: Map<string, Tensor>, b: BlockLayout): Block {
  const branch = `${b.prefix}.branch2`;
  const stride: [number, number, number] = [1, b.stride, b.stride];
  const get = (key: string) => weights.get(key)!;
  const flat = (t: Tensor) => t.reshape([t.shape[0], t.shape[1], 1, 1]);
  const se =
    b.seChannels > 0
      ? {
          reduceWeight: flat(get(`${branch}.norm_b.1.block.0.weight`)),
          reduceBias: get(`${branch}.norm_b.1.block.0.bias`),
          expandWeight: flat(get(`${branch}.norm_b.1.block.2.weight`)),
          expandBias: get(`${branch}.norm_b.1.block.2.bias`),
        }
      : null;
  let shortcut: FusedConv3d | null = null;
  if (b.shortcutNorm) {
    shortcut = foldConv3dBn(weights, `${b.prefix}.branch1_conv`, `${b.prefix}.branch1_norm`, BN_EPS, { stride });
  } else if (b.shortcutConv) {
    shortcut = withoutBias(get(`${b.prefix}.branch1_conv.weight`), { stride });
  }
  const fold = (conv: string, bn: string, options: Conv3dOptions) =>
    foldConv3dBn(weights, `${branch}.${conv}`, `${branch}.${bn}`, BN_EPS, options);
  return {
    convA: fold("conv_a", "norm_a", {}),
    convB: fold("conv_b", "norm_b.0", { stride, padding: 1, groups: b.inner }),
    se,
    convC: fold("conv_c", "norm_c", {}),
    shortcut,
  };
}

/** relu(shortcut(x) + conv_c(swish(se(conv_b(relu(conv_a(x))))))), BN folded into each conv. */
function runBlock(x: Tensor, block: Block): Tensor {
  let y = runConv3d(x, block.convA, "relu");
  if (block.se) {
    y = silu(squeezeExcite3d(runConv3d(y, block.convB), block.se));
  } else {
    y = runConv3d(y, block.convB, "silu"); // Swish fused into the store
  }
  y = runConv3d(y, block.convC);
  return relu(add(y, block.shortcut ? runConv3d(x, block.shortcut) : x));
}

/** x [N, C, T, H, W] scaled per (clip, channel) by sigmoid(expand(relu(reduce(mean over T, H, W)))). */
function squeezeExcite3d(x: Tensor, se: SqueezeExcite3d): Tensor {
  const [N, C, T, H, W] = x.shape;
  // tensor/se.ts squeezes over the last two axes: [N, C, T*H, W] has the same mean per channel
  const out = squeezeExcite(x.reshape([N, C, T * H, W]), { ...se, activation: "relu", gate: "sigmoid" });
  return out.reshape(x.shape);
}

/** A conv without bias or BatchNorm after it (the stem's spatial conv, res2's shortcut) as a FusedConv3d: zero bias. */
function withoutBias(weight: Tensor, options: Conv3dOptions): FusedConv3d {
  return { weight, bias: zeros([weight.shape[0]]), options };
}
