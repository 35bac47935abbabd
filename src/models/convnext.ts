// ConvNeXt (Liu et al. 2022, "A ConvNet for the 2020s"), the hierarchical backbone of PAPR-SPEC.md section 5.
// Parameter names are timm's (torchvision's are mapped by src/models/load/names_convnext.ts):
//   stem.0, stem.1                               4x4 stride-4 conv, LayerNorm over channels
//   stages.{i}.downsample.0 / .1                 (stages 1-3) LayerNorm over channels, 2x2 stride-2 conv
//   stages.{i}.blocks.{j}.gamma                  layer scale [C]
//   stages.{i}.blocks.{j}.conv_dw                7x7 depthwise conv, padding 3
//   stages.{i}.blocks.{j}.norm                   LayerNorm, channels last
//   stages.{i}.blocks.{j}.mlp.fc1 / .fc2         C -> 4C -> C, exact GELU between
//   head.norm, head.fc                           global average pool, LayerNorm, linear
// LayerNorm eps 1e-6 everywhere. A block (PAPR-SPEC.md section 5's two operators):
//   y = x + gamma * fc2(gelu(fc1(norm(conv_dw(x)))))
//       conv_dw = the window operator (full map); norm .. gamma = the pixel operator (per position)
// With a stage mask (hierarchical PaPr), every block of the stage computes
//   y = x * fg + scatter_fg(pixel(conv_dw(x)[fg]))       (background positions are exactly 0)
// Downsampling layers and the head always run on the full map.
import { add, mul } from "../tensor/elementwise.ts";
import { conv2d } from "../tensor/conv.ts";
import { linear } from "../tensor/linear.ts";
import { layerNorm } from "../tensor/norm.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import { gatherRows, transpose } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { expectImage } from "./conv_bn.ts";
import {
  expectMaskFits,
  foregroundIndices,
  scatterRows,
  type HierarchicalModel,
  type MaskedForward,
  type SpatialMask,
} from "./hierarchical_model.ts";
import { checkWeights, type ModelSpec } from "./model_spec.ts";

export interface ConvNeXtConfig {
  depths: number[]; // blocks per stage
  dims: number[]; // channels per stage
  numClasses?: number; // 1000
  inChannels?: number; // 3
  imageSize?: number; // 224 (what the weights were trained at; any multiple of 32 runs)
}

export const CONVNEXT_PRESETS: Record<string, ConvNeXtConfig> = {
  convnext_tiny: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768] },
  convnext_small: { depths: [3, 3, 27, 3], dims: [96, 192, 384, 768] },
  convnext_base: { depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024] },
};

const EPS = 1e-6;
const MLP_RATIO = 4;
const KERNEL = 7;

function fullConfig(config: ConvNeXtConfig): Required<ConvNeXtConfig> {
  const full = { numClasses: 1000, inChannels: 3, imageSize: 224, ...config };
  const { depths, dims } = full;
  if (!Array.isArray(depths) || !Array.isArray(dims) || depths.length === 0 || depths.length !== dims.length)
    throw new Error(`convnext: depths and dims must be two lists of the same length, got ${JSON.stringify(config)}`);
  for (const n of [...depths, ...dims, full.numClasses, full.inChannels, full.imageSize]) {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`convnext: sizes must be positive integers, got ${JSON.stringify(config)}`);
  }
  return full;
}

/** Every parameter of the model, name -> shape, in timm's state-dict order. */
export function convnextSpec(config: ConvNeXtConfig): ModelSpec {
  const { depths, dims, numClasses, inChannels } = fullConfig(config);
  const spec: ModelSpec = new Map();
  spec.set("stem.0.weight", [dims[0], inChannels, 4, 4]);
  spec.set("stem.0.bias", [dims[0]]);
  spec.set("stem.1.weight", [dims[0]]);
  spec.set("stem.1.bias", [dims[0]]);
  depths.forEach((depth, i) => {
    const C = dims[i];
    if (i > 0) {
      spec.set(`stages.${i}.downsample.0.weight`, [dims[i - 1]]);
      spec.set(`stages.${i}.downsample.0.bias`, [dims[i - 1]]);
      spec.set(`stages.${i}.downsample.1.weight`, [C, dims[i - 1], 2, 2]);
      spec.set(`stages.${i}.downsample.1.bias`, [C]);
    }
    for (let j = 0; j < depth; j++) {
      const p = `stages.${i}.blocks.${j}`;
      spec.set(`${p}.gamma`, [C]);
      spec.set(`${p}.conv_dw.weight`, [C, 1, KERNEL, KERNEL]);
      spec.set(`${p}.conv_dw.bias`, [C]);
      spec.set(`${p}.norm.weight`, [C]);
      spec.set(`${p}.norm.bias`, [C]);
      spec.set(`${p}.mlp.fc1.weight`, [MLP_RATIO * C, C]);
      spec.set(`${p}.mlp.fc1.bias`, [MLP_RATIO * C]);
      spec.set(`${p}.mlp.fc2.weight`, [C, MLP_RATIO * C]);
      spec.set(`${p}.mlp.fc2.bias`, [C]);
    }
  });
  const last = dims[dims.length - 1];
  spec.set("head.norm.weight", [last]);
  spec.set("head.norm.bias", [last]);
  spec.set("head.fc.weight", [numClasses, last]);
  spec.set("head.fc.bias", [numClasses]);
  return spec;
}

/** The [H, W] grid after the 4x4 stem and after each 2x2 stride-2 downsampling (floor, as the convs do). */
export function convnextStageGrids(imageSize: number, numStages = 4): Array<[number, number]> {
  const grids: Array<[number, number]> = [];
  let side = Math.floor(imageSize / 4);
  for (let i = 0; i < numStages; i++) {
    if (i > 0) side = Math.floor(side / 2);
    grids.push([side, side]);
  }
  return grids;
}

/** [1, C, H, W] -> [H*W, C] (one row per position). */
export function toChannelsLast(x: Tensor): Tensor {
  const [, C, H, W] = x.shape;
  return transpose(x.reshape([C, H * W]), [1, 0]);
}

/** [H*W, C] -> [1, C, H, W]. */
export function toChannelsFirst(rows: Tensor, H: number, W: number): Tensor {
  const C = rows.shape[1];
  return transpose(rows, [1, 0]).reshape([1, C, H, W]);
}

/** LayerNorm over the channels of every position of [1, C, H, W] (timm's LayerNorm2d). */
function layerNorm2d(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const [, , H, W] = x.shape;
  return toChannelsFirst(layerNorm(toChannelsLast(x), weight, bias, EPS), H, W);
}

/** x [1, C, H, W] zeroed where the mask is background. */
function zeroBackground(x: Tensor, mask: SpatialMask): Tensor {
  const [, C, H, W] = x.shape;
  const out = new Float32Array(x.data);
  for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) if (!mask.foreground[p]) out[c * H * W + p] = 0;
  return new Tensor(out, x.shape);
}

export type ConvNeXt = HierarchicalModel<ConvNeXtConfig> & {
  /** logits [1, numClasses] from the last stage's output (pool, LayerNorm, fc). */
  head(features: Tensor): Tensor;
};

/** Builds a ConvNeXt from timm-named weights (checked against convnextSpec). */
export function createConvNeXt(config: ConvNeXtConfig, weights: Map<string, Tensor>): ConvNeXt {
  const full = fullConfig(config);
  checkWeights("createConvNeXt", convnextSpec(full), weights);
  const w = (name: string) => weights.get(name)!;

  /** The per-position operator on rows [n, C]: norm, fc1, GELU, fc2, layer scale. */
  function pixel(p: string, rows: Tensor): Tensor {
    const normed = layerNorm(rows, w(`${p}.norm.weight`), w(`${p}.norm.bias`), EPS);
    const hidden = linear(normed, w(`${p}.mlp.fc1.weight`), w(`${p}.mlp.fc1.bias`), { activation: "gelu" });
    return mul(linear(hidden, w(`${p}.mlp.fc2.weight`), w(`${p}.mlp.fc2.bias`)), w(`${p}.gamma`));
  }

  /** One block on x [1, C, H, W]; with a mask, the masked block of PAPR-SPEC.md section 5. */
  function block(p: string, x: Tensor, mask: SpatialMask | null): Tensor {
    const [, C, H, W] = x.shape;
    const mixed = toChannelsLast(
      conv2d(x, w(`${p}.conv_dw.weight`), w(`${p}.conv_dw.bias`), { padding: 3, groups: C }),
    );
    if (mask === null) return add(x, toChannelsFirst(pixel(p, mixed), H, W));
    const fg = foregroundIndices(mask);
    const branch = scatterRows(pixel(p, gatherRows(mixed, fg)), fg, H * W);
    return add(zeroBackground(x, mask), toChannelsFirst(branch, H, W));
  }

  function downsample(i: number, x: Tensor): Tensor {
    const p = `stages.${i}.downsample`;
    const normed = layerNorm2d(x, w(`${p}.0.weight`), w(`${p}.0.bias`));
    return conv2d(normed, w(`${p}.1.weight`), w(`${p}.1.bias`), { stride: 2 });
  }

  function head(features: Tensor): Tensor {
    const pooled = layerNorm(globalAvgPool(features), w("head.norm.weight"), w("head.norm.bias"), EPS);
    return linear(pooled, w("head.fc.weight"), w("head.fc.bias"));
  }

  function forwardMasked(x: Tensor, masks: ReadonlyArray<SpatialMask | null>): MaskedForward {
    expectImage("convnext", x);
    if (masks.length !== full.depths.length)
      throw new Error(`convnext: ${masks.length} stage masks given for ${full.depths.length} stages`);
    let y = layerNorm2d(
      conv2d(x, w("stem.0.weight"), w("stem.0.bias"), { stride: 4 }),
      w("stem.1.weight"),
      w("stem.1.bias"),
    );
    const stages: Tensor[] = [];
    full.depths.forEach((depth, i) => {
      if (i > 0) y = downsample(i, y);
      const mask = masks[i];
      if (mask) expectMaskFits(`convnext stage ${i}`, mask, y.shape[2], y.shape[3]);
      // a mask with every position foreground is the plain block (z = 1: the unmasked model, bit for bit)
      const active = mask && mask.foreground.some((v) => !v) ? mask : null;
      for (let j = 0; j < depth; j++) y = block(`stages.${i}.blocks.${j}`, y, active);
      stages.push(y);
    });
    return { logits: head(y), stages };
  }

  const unmasked = full.depths.map(() => null);
  return {
    config: full,
    imageSize: full.imageSize,
    numStages: full.depths.length,
    stageGrids: (imageSize: number) => convnextStageGrids(imageSize, full.depths.length),
    features: (x) => forwardMasked(x, unmasked).stages,
    forward: (x) => forwardMasked(x, unmasked).logits,
    forwardMasked,
    head,
  };
}
