// The prunable weight layers of a backbone and the DIMAP module each belongs to (docs/dimap.md).
// He & Zhou (ICLR 2024, "Data-independent Module-aware Pruning for Hierarchical Vision Transformers", Fig. 3)
// group Swin's layers into four modules:
//   qkv   QKV-M  every block's attn.qkv                     (the local window attention's inputs)
//   proj  PRJ-M  every block's attn.proj                    (attention outputs)
//   mlp   MLP-M  every block's mlp.fc1 and mlp.fc2
//   aux   AUX-M  patch embedding, patch merging reductions, classifier head
// The same idea on the other backbones (our choice, docs/dimap.md): a plain ViT has the same four modules
// (patch embed and head in AUX-M); a ConvNeXt has no attention, its token mixer is the 7x7 depthwise conv:
//   dwconv  DW-M   every block's conv_dw                    (spatial mixing, in place of attention)
//   mlp     MLP-M  every block's mlp.fc1 / mlp.fc2          (the pointwise convs)
//   aux     AUX-M  stem conv, downsampling convs, head.fc
// Only weight matrices / kernels are pruned (unstructured); biases, norms, position tables stay dense.
//
// `positions` is the number of output positions a weight is applied at in the dense forward, so the layer's
// MACs are numel * positions and removing one weight saves `positions` MACs (fvcore conventions, as in
// src/papr/macs.ts, swin_macs.ts, convnext_macs.ts).
import type { LoadedModel } from "../models/registry.ts";
import { convnextStageGrids, type ConvNeXtConfig } from "../models/convnext.ts";
import { mlpHidden, stageDim, swinStageGrids, type SwinConfig } from "../models/swin.ts";
import { convnextCost } from "../papr/convnext_macs.ts";
import { costConfig, vitCost } from "../papr/macs.ts";
import { swinMacs } from "../papr/swin_macs.ts";

export type ModuleName = "qkv" | "proj" | "mlp" | "aux" | "dwconv";

export interface PrunableLayer {
  name: string; // the weight tensor's name, e.g. "layers.0.blocks.1.attn.qkv.weight"
  module: ModuleName;
  shape: number[]; // [out, in] or [out, in, kh, kw]
  positions: number; // output positions per forward (MACs per weight)
  stage: number; // hierarchical stage (0 for ViT layers, -1 for the stem / head)
  mlp: boolean; // an MLP layer: runs on the PaPr foreground positions only when masked
}

/** The backbone's prunable layers (in forward order) and its dense MACs. */
export interface PruningPlan {
  family: "swin" | "convnext" | "vit";
  layers: PrunableLayer[];
  denseMacs: number; // the whole forward, fvcore conventions (norms, attention matmuls included)
}

export function pruningPlan(model: LoadedModel): PruningPlan {
  switch (model.family) {
    case "swin":
      return swinPlan(model.hierarchical.config);
    case "convnext":
      return convnextPlan(model.hierarchical.config, model.file.preprocess.inputSize);
    case "vit":
      return vitPlan(model.vit);
    default:
      throw new Error(`prune: ${model.file.arch} is a ${model.family}; DIMAP prunes swin, convnext and vit models`);
  }
}

export function swinPlan(config: SwinConfig): PruningPlan {
  const grids = swinStageGrids(config);
  const layers: PrunableLayer[] = [];
  const p = config.patchSize;
  const add = (name: string, module: ModuleName, shape: number[], positions: number, stage: number, mlp = false) =>
    layers.push({ name: `${name}.weight`, module, shape, positions, stage, mlp });
  add("patch_embed.proj", "aux", [config.embedDim, config.inChannels, p, p], grids[0][0] * grids[0][1], -1);
  config.depths.forEach((depth, i) => {
    const C = stageDim(config, i);
    const P = grids[i][0] * grids[i][1];
    const hidden = mlpHidden(config, i);
    if (i > 0) add(`layers.${i}.downsample.reduction`, "aux", [C, 2 * C], P, i);
    for (let j = 0; j < depth; j++) {
      const b = `layers.${i}.blocks.${j}`;
      add(`${b}.attn.qkv`, "qkv", [3 * C, C], P, i);
      add(`${b}.attn.proj`, "proj", [C, C], P, i);
      add(`${b}.mlp.fc1`, "mlp", [hidden, C], P, i, true);
      add(`${b}.mlp.fc2`, "mlp", [C, hidden], P, i, true);
    }
  });
  add("head.fc", "aux", [config.numClasses, stageDim(config, config.depths.length - 1)], 1, -1);
  const denseMacs = swinMacs(
    config,
    grids.map(([h, w]) => h * w),
  ).total;
  return { family: "swin", layers, denseMacs };
}

export function convnextPlan(config: Required<ConvNeXtConfig>, imageSize: number): PruningPlan {
  const { depths, dims, inChannels, numClasses } = config;
  const grids = convnextStageGrids(imageSize, depths.length);
  const layers: PrunableLayer[] = [];
  const add = (name: string, module: ModuleName, shape: number[], positions: number, stage: number, mlp = false) =>
    layers.push({ name, module, shape, positions, stage, mlp });
  add("stem.0.weight", "aux", [dims[0], inChannels, 4, 4], grids[0][0] * grids[0][1], -1);
  depths.forEach((depth, i) => {
    const C = dims[i];
    const P = grids[i][0] * grids[i][1];
    if (i > 0) add(`stages.${i}.downsample.1.weight`, "aux", [C, dims[i - 1], 2, 2], P, i);
    for (let j = 0; j < depth; j++) {
      const b = `stages.${i}.blocks.${j}`;
      add(`${b}.conv_dw.weight`, "dwconv", [C, 1, 7, 7], P, i);
      add(`${b}.mlp.fc1.weight`, "mlp", [4 * C, C], P, i, true);
      add(`${b}.mlp.fc2.weight`, "mlp", [C, 4 * C], P, i, true);
    }
  });
  add("head.fc.weight", "aux", [numClasses, dims[dims.length - 1]], 1, -1);
  const denseMacs = convnextCost(
    config,
    imageSize,
    depths.map(() => null),
  ).total;
  return { family: "convnext", layers, denseMacs };
}

export function vitPlan(vit: Extract<LoadedModel, { family: "vit" }>["vit"]): PruningPlan {
  const c = vit.config;
  const tokens = c.numPatches + c.numPrefixTokens;
  const hidden = Math.round(c.mlpRatio * c.embedDim);
  const D = c.embedDim;
  const layers: PrunableLayer[] = [];
  const add = (name: string, module: ModuleName, shape: number[], positions: number, mlp = false) =>
    layers.push({ name: `${name}.weight`, module, shape, positions, stage: name === "patch_embed.proj" ? -1 : 0, mlp });
  add("patch_embed.proj", "aux", [D, c.inChannels, c.patchSize, c.patchSize], c.numPatches);
  for (let i = 0; i < c.depth; i++) {
    add(`blocks.${i}.attn.qkv`, "qkv", [3 * D, D], tokens);
    add(`blocks.${i}.attn.proj`, "proj", [D, D], tokens);
    add(`blocks.${i}.mlp.fc1`, "mlp", [hidden, D], tokens, true);
    add(`blocks.${i}.mlp.fc2`, "mlp", [D, hidden], tokens, true);
  }
  add("head", "aux", [c.numClasses, D], 1);
  if (c.distillToken) add("head_dist", "aux", [c.numClasses, D], 1);
  const denseMacs = vitCost(costConfig(vit), new Array(c.depth).fill(tokens)).total;
  return { family: "vit", layers, denseMacs };
}

/** numel of a shape. */
export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
