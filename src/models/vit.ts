// Vision Transformer (Dosovitskiy et al. 2021) and DeiT (Touvron et al. 2021), inference only, one image,
// as timm's vision_transformer.py / deit.py build them (eval mode: no dropout; no layer scale). Names are timm's:
//   patch_embed.proj                  conv patch x patch / stride patch: [1,3,H,W] -> [1,D,H/p,W/p]
//   cls_token [1,1,D], dist_token     prefix tokens (DeiT distilled has both)
//   pos_embed [1, prefix+patches, D]  added after the prefix tokens are prepended
//   blocks.i.norm1, blocks.i.attn.qkv, blocks.i.attn.proj     pre-norm multi-head self-attention + residual
//   blocks.i.norm2, blocks.i.mlp.fc1, blocks.i.mlp.fc2         pre-norm MLP (exact GELU) + residual
//   norm                              final LayerNorm (absent, i.e. timm's Identity, when fc_norm is used)
//   fc_norm                           LayerNorm after pooling (MAE-style heads)
//   head, head_dist                   classifier(s); distilled: mean of head(cls) and head_dist(dist)
// Tokens are [n, D] (no batch axis). The forward pass is split so that PaPr can prune between embed and blocks:
//   forward(x) = head(blocks(embed(x))), blocks(t) = block(depth-1, ... block(0, t)).
// block() and head() work on any number of tokens >= the prefix (a pruned set).
import { conv2d } from "../tensor/conv.ts";
import { add } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { layerNorm } from "../tensor/norm.ts";
import { multiHeadSelfAttention } from "../tensor/attention.ts";
import { concat, gatherRows, transpose } from "../tensor/shape.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import { checkWeights, type ModelSpec } from "./conv_common.ts";

export interface VitConfig {
  imageSize: number; // square input side, e.g. 224
  patchSize: number; // 16, 14, ...
  inChannels: number; // 3
  embedDim: number; // D
  depth: number; // number of blocks
  numHeads: number;
  mlpRatio: number; // hidden = floor(D * mlpRatio)
  qkvBias: boolean;
  numClasses: number;
  classToken: boolean;
  distillToken: boolean; // DeiT distilled (needs classToken, globalPool "token")
  globalPool: "token" | "avg"; // "avg" = mean of the non-prefix tokens
  fcNorm: boolean; // LayerNorm after pooling instead of before (then `norm` is absent)
  layerNormEps: number; // 1e-6 in timm
}

const BASE: VitConfig = {
  imageSize: 224,
  patchSize: 16,
  inChannels: 3,
  embedDim: 768,
  depth: 12,
  numHeads: 12,
  mlpRatio: 4,
  qkvBias: true,
  numClasses: 1000,
  classToken: true,
  distillToken: false,
  globalPool: "token",
  fcNorm: false,
  layerNormEps: 1e-6,
};
const TINY = { embedDim: 192, depth: 12, numHeads: 3 };
const SMALL = { embedDim: 384, depth: 12, numHeads: 6 };
const LARGE = { embedDim: 1024, depth: 24, numHeads: 16 };
const HUGE = { embedDim: 1280, depth: 32, numHeads: 16, patchSize: 14 };
const DISTILLED = { distillToken: true };
const AT_384 = { imageSize: 384 };
const MAE_HEAD = { globalPool: "avg" as const, fcNorm: true }; // MAE fine-tuned: mean of patch tokens -> fc_norm

/** Named presets (timm model names; mae_* = MAE fine-tuned classifiers as released by the MAE authors). */
export const VIT_PRESETS: Record<string, VitConfig> = {
  deit_tiny_patch16_224: { ...BASE, ...TINY },
  deit_small_patch16_224: { ...BASE, ...SMALL },
  deit_base_patch16_224: { ...BASE },
  deit_base_patch16_384: { ...BASE, ...AT_384 },
  deit_tiny_distilled_patch16_224: { ...BASE, ...TINY, ...DISTILLED },
  deit_small_distilled_patch16_224: { ...BASE, ...SMALL, ...DISTILLED },
  deit_base_distilled_patch16_224: { ...BASE, ...DISTILLED },
  deit_base_distilled_patch16_384: { ...BASE, ...DISTILLED, ...AT_384 },
  vit_tiny_patch16_224: { ...BASE, ...TINY },
  vit_small_patch16_224: { ...BASE, ...SMALL },
  vit_base_patch16_224: { ...BASE },
  vit_large_patch16_224: { ...BASE, ...LARGE },
  vit_tiny_patch16_384: { ...BASE, ...TINY, ...AT_384 },
  vit_small_patch16_384: { ...BASE, ...SMALL, ...AT_384 },
  vit_base_patch16_384: { ...BASE, ...AT_384 },
  vit_large_patch16_384: { ...BASE, ...LARGE, ...AT_384 },
  vit_huge_patch14_224: { ...BASE, ...HUGE },
  mae_vit_base_patch16_224: { ...BASE, ...MAE_HEAD },
  mae_vit_large_patch16_224: { ...BASE, ...LARGE, ...MAE_HEAD },
  mae_vit_huge_patch14_224: { ...BASE, ...HUGE, ...MAE_HEAD },
};

/** A preset by name, with optional overrides (e.g. { numClasses: 10 }). */
export function vitConfig(name: string, overrides: Partial<VitConfig> = {}): VitConfig {
  const preset = VIT_PRESETS[name];
  if (!preset) throw new Error(`vitConfig: unknown preset '${name}' (known: ${Object.keys(VIT_PRESETS).join(", ")})`);
  return { ...preset, ...overrides };
}

/** Class token and/or distillation token: 0, 1 or 2. */
export function numPrefixTokens(config: VitConfig): number {
  return Number(config.classToken) + Number(config.distillToken);
}

/** Patches per side: imageSize / patchSize. */
export function gridSize(config: VitConfig): number {
  return config.imageSize / config.patchSize;
}

function mlpHidden(config: VitConfig): number {
  return Math.floor(config.embedDim * config.mlpRatio);
}

/** Throws naming the first inconsistent field of the config. */
function checkConfig(c: VitConfig): void {
  const bad = (message: string) => new Error(`vit config: ${message}`);
  for (const key of ["imageSize", "patchSize", "inChannels", "embedDim", "depth", "numHeads", "numClasses"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw bad(`${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.imageSize % c.patchSize !== 0)
    throw bad(`imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.embedDim % c.numHeads !== 0) throw bad(`embedDim ${c.embedDim} is not divisible by numHeads ${c.numHeads}`);
  if (!(c.mlpRatio > 0) || mlpHidden(c) < 1) throw bad(`mlpRatio must be > 0, got ${c.mlpRatio}`);
  if (c.globalPool !== "token" && c.globalPool !== "avg")
    throw bad(`globalPool must be "token" or "avg", got ${c.globalPool}`);
  if (c.distillToken && !c.classToken) throw bad("distillToken needs classToken");
  if (c.globalPool === "token" && !c.classToken) throw bad(`globalPool "token" needs classToken`);
  if (c.distillToken && (c.globalPool !== "token" || c.fcNorm))
    throw bad(`distillToken needs globalPool "token" and no fcNorm`);
  if (!(c.layerNormEps >= 0)) throw bad(`layerNormEps must be >= 0, got ${c.layerNormEps}`);
}

/** Every parameter of the model, name -> shape, in timm's state-dict order. */
export function vitSpec(config: VitConfig): ModelSpec {
  checkConfig(config);
  const { embedDim: D, patchSize: p, inChannels } = config;
  const hidden = mlpHidden(config);
  const numTokens = numPrefixTokens(config) + gridSize(config) ** 2;
  const spec: ModelSpec = new Map();
  if (config.classToken) spec.set("cls_token", [1, 1, D]);
  if (config.distillToken) spec.set("dist_token", [1, 1, D]);
  spec.set("pos_embed", [1, numTokens, D]);
  spec.set("patch_embed.proj.weight", [D, inChannels, p, p]);
  spec.set("patch_embed.proj.bias", [D]);
  const linearSpec = (name: string, outF: number, inF: number, bias = true) => {
    spec.set(`${name}.weight`, [outF, inF]);
    if (bias) spec.set(`${name}.bias`, [outF]);
  };
  const normSpec = (name: string) => {
    spec.set(`${name}.weight`, [D]);
    spec.set(`${name}.bias`, [D]);
  };
  for (let i = 0; i < config.depth; i++) {
    normSpec(`blocks.${i}.norm1`);
    linearSpec(`blocks.${i}.attn.qkv`, 3 * D, D, config.qkvBias);
    linearSpec(`blocks.${i}.attn.proj`, D, D);
    normSpec(`blocks.${i}.norm2`);
    linearSpec(`blocks.${i}.mlp.fc1`, hidden, D);
    linearSpec(`blocks.${i}.mlp.fc2`, D, hidden);
  }
  normSpec(config.fcNorm ? "fc_norm" : "norm");
  linearSpec("head", config.numClasses, D);
  if (config.distillToken) linearSpec("head_dist", config.numClasses, D);
  return spec;
}

interface Norm {
  weight: Tensor;
  bias: Tensor;
}
interface Linear {
  weight: Tensor;
  bias: Tensor | null;
}
export interface Block {
  norm1: Norm;
  qkv: Linear;
  proj: Linear;
  norm2: Norm;
  fc1: Linear;
  fc2: Linear;
}

export interface Vit {
  readonly config: VitConfig & { numPrefixTokens: number; gridSize: number; numPatches: number };
  readonly numBlocks: number;
  embed(x: Tensor): Tensor; // [1, 3, H, W] -> [prefix + patches, D]
  block(i: number, tokens: Tensor, segments?: number[]): Tensor; // [n, D] -> [n, D]; segments: see blocksBatch
  blockParams(i: number): Block; // block i's weights, for methods that run a block in parts (ToMe)
  blocks(tokens: Tensor): Tensor; // all blocks in order
  // Several independent token sets [n_i, D] through all blocks at once: the per-token layers (norms,
  // linears, MLP) run once over the stacked rows (larger, faster GEMMs), attention within each set.
  // Equal to blocks() on each set.
  blocksBatch(sets: Tensor[]): Tensor[];
  head(tokens: Tensor): Tensor; // [n, D] -> [numClasses]
  forward(x: Tensor): Tensor; // [1, 3, H, W] -> [numClasses]
}

/** Builds a ViT / DeiT from timm-named weights, checked against vitSpec(config) (one error lists every problem). */
export function createVit(config: VitConfig, weights: Map<string, Tensor>): Vit {
  const spec = vitSpec(config);
  checkWeights("createVit", spec, weights);
  const w = (name: string) => weights.get(name)!; // every name was checked against the spec
  const norm = (name: string): Norm => ({ weight: w(`${name}.weight`), bias: w(`${name}.bias`) });
  const fc = (name: string): Linear => ({ weight: w(`${name}.weight`), bias: weights.get(`${name}.bias`) ?? null });

  const D = config.embedDim;
  const prefix = numPrefixTokens(config);
  const grid = gridSize(config);
  const numPatches = grid * grid;
  const eps = config.layerNormEps;
  const prefixTokens = (["cls_token", "dist_token"] as const)
    .filter((name) => spec.has(name))
    .map((name) => w(name).reshape([1, D]));
  const posEmbed = w("pos_embed").reshape([prefix + numPatches, D]);
  const patchProj = fc("patch_embed.proj");
  const blockWeights: Block[] = Array.from({ length: config.depth }, (_, i) => ({
    norm1: norm(`blocks.${i}.norm1`),
    qkv: fc(`blocks.${i}.attn.qkv`),
    proj: fc(`blocks.${i}.attn.proj`),
    norm2: norm(`blocks.${i}.norm2`),
    fc1: fc(`blocks.${i}.mlp.fc1`),
    fc2: fc(`blocks.${i}.mlp.fc2`),
  }));
  const finalNorm = config.fcNorm ? null : norm("norm");
  const fcNorm = config.fcNorm ? norm("fc_norm") : null;
  const headFc = fc("head");
  const headDist = config.distillToken ? fc("head_dist") : null;

  function embed(x: Tensor): Tensor {
    const { inChannels: C, imageSize: S } = config;
    expectRank("vit.embed", "x", x, 4);
    if (x.shape.join() !== [1, C, S, S].join()) {
      throw new ShapeError(
        "vit.embed",
        `x must be one image [1, ${C}, ${S}, ${S}] (config imageSize ${S}), got ${shapeStr(x.shape)}`,
      );
    }
    const patches = conv2d(x, patchProj.weight, patchProj.bias, { stride: config.patchSize }); // [1, D, grid, grid]
    const patchTokens = transpose(patches.reshape([D, numPatches]), [1, 0]); // [numPatches, D], row-major over the grid
    return add(concat([...prefixTokens, patchTokens], 0), posEmbed); // [prefix + numPatches, D]
  }

  function expectTokens(op: string, tokens: Tensor, minRows: number): void {
    expectRank(op, "tokens", tokens, 2);
    if (tokens.shape[1] !== D || tokens.shape[0] < minRows) {
      throw new ShapeError(op, `tokens must be [n, ${D}] with n >= ${minRows}, got ${shapeStr(tokens.shape)}`);
    }
  }

  function block(i: number, tokens: Tensor, segments?: number[]): Tensor {
    if (!Number.isInteger(i) || i < 0 || i >= config.depth)
      throw new RangeError(`vit.block: index ${i} is not in [0, ${config.depth})`);
    expectTokens(`vit.block(${i})`, tokens, 1);
    const b = blockWeights[i];
    let x = tokens;
    const attention = multiHeadSelfAttention(layerNorm(x, b.norm1.weight, b.norm1.bias, eps), {
      qkvWeight: b.qkv.weight,
      qkvBias: b.qkv.bias,
      projWeight: b.proj.weight,
      projBias: b.proj.bias,
      numHeads: config.numHeads,
      segments,
    });
    x = add(x, attention);
    const hidden = linear(layerNorm(x, b.norm2.weight, b.norm2.bias, eps), b.fc1.weight, b.fc1.bias, {
      activation: "gelu",
    }); // fused erf GELU
    return add(x, linear(hidden, b.fc2.weight, b.fc2.bias));
  }

  function blocks(tokens: Tensor): Tensor {
    let x = tokens;
    for (let i = 0; i < config.depth; i++) x = block(i, x);
    return x;
  }

  function blocksBatch(sets: Tensor[]): Tensor[] {
    sets.forEach((t) => expectTokens("vit.blocksBatch", t, 1));
    const segments = sets.map((t) => t.shape[0]);
    let x = concat(sets, 0); // [sum of n, D]
    for (let i = 0; i < config.depth; i++) x = block(i, x, segments);
    let first = 0;
    return segments.map((n) => {
      first += n;
      return new Tensor(x.data.slice((first - n) * D, first * D), [n, D]);
    });
  }

  function head(tokens: Tensor): Tensor {
    const pooledFromPatches = config.globalPool === "avg";
    expectTokens("vit.head", tokens, prefix + (pooledFromPatches ? 1 : 0));
    const x = finalNorm ? layerNorm(tokens, finalNorm.weight, finalNorm.bias, eps) : tokens;
    if (headDist) {
      // DeiT distilled, inference: average of the class-token and distillation-token heads
      const logits = add(
        linear(row(x, 0), headFc.weight, headFc.bias),
        linear(row(x, 1), headDist.weight, headDist.bias),
      );
      for (let j = 0; j < logits.size; j++) logits.data[j] = logits.data[j] / 2;
      return logits;
    }
    let pooled = pooledFromPatches ? meanOfRows(x, prefix) : row(x, 0); // [D]
    if (fcNorm) pooled = layerNorm(pooled, fcNorm.weight, fcNorm.bias, eps);
    return linear(pooled, headFc.weight, headFc.bias); // [numClasses]
  }

  return {
    config: { ...config, numPrefixTokens: prefix, gridSize: grid, numPatches },
    numBlocks: config.depth,
    embed,
    block,
    blockParams(i: number): Block {
      if (!Number.isInteger(i) || i < 0 || i >= config.depth)
        throw new RangeError(`blockParams: index ${i} is not in [0, ${config.depth})`);
      return blockWeights[i];
    },
    blocks,
    blocksBatch,
    head,
    forward: (x) => head(blocks(embed(x))),
  };
}

/** Row i of x[n, D] as a [D] tensor. */
function row(x: Tensor, i: number): Tensor {
  return gatherRows(x, [i]).reshape([x.shape[1]]);
}

/** Mean of rows start..n-1 of x[n, D] -> [D] (float64 sums). */
function meanOfRows(x: Tensor, start: number): Tensor {
  const [n, D] = x.shape;
  const sums = new Float64Array(D);
  for (let r = start; r < n; r++) {
    for (let j = 0; j < D; j++) sums[j] += x.data[r * D + j];
  }
  return new Tensor(
    Float32Array.from(sums, (s) => s / (n - start)),
    [D],
  );
}
