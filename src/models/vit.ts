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
//   forward(x) = head(blocks(embed(x))), blocks(t) = block(depth-1, ... block(0, t)),
//   block(i, t) = mlpHalf(i, attentionHalf(i, t))   (token merging / dropping acts between the halves).
// The blocks and head work on any number of tokens >= the prefix (a pruned set). They are built by createVitTrunk,
// which other embeddings reuse (VideoMAE tubelets: src/models/video_vit.ts).
import { conv2d } from "../tensor/conv.ts";
import { add } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { layerNorm } from "../tensor/norm.ts";
import { multiHeadSelfAttention, type AttentionParams } from "../tensor/attention.ts";
import { concat, gatherRows, transpose } from "../tensor/shape.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import { checkWeights, type ModelSpec } from "./model_spec.ts";

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

function mlpHidden(config: Pick<VitConfig, "embedDim" | "mlpRatio">): number {
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
  const numTokens = numPrefixTokens(config) + gridSize(config) ** 2;
  const spec: ModelSpec = new Map();
  if (config.classToken) spec.set("cls_token", [1, 1, D]);
  if (config.distillToken) spec.set("dist_token", [1, 1, D]);
  spec.set("pos_embed", [1, numTokens, D]);
  spec.set("patch_embed.proj.weight", [D, inChannels, p, p]);
  spec.set("patch_embed.proj.bias", [D]);
  for (const [name, shape] of vitTrunkSpec(config)) spec.set(name, shape);
  return spec;
}

/**
 * What follows the embedding (blocks, final norm or fc_norm, head): the part a ViT shares with the other
 * embeddings (video tubelets, src/models/video_vit.ts). Only these fields of a VitConfig are read.
 */
export type VitTrunkConfig = Pick<
  VitConfig,
  | "embedDim"
  | "depth"
  | "numHeads"
  | "mlpRatio"
  | "qkvBias"
  | "numClasses"
  | "classToken"
  | "distillToken"
  | "globalPool"
  | "fcNorm"
  | "layerNormEps"
>;

/** The trunk's parameters, name -> shape: blocks.i.*, norm | fc_norm, head (, head_dist), in timm's order. */
export function vitTrunkSpec(config: VitTrunkConfig): ModelSpec {
  const D = config.embedDim;
  const hidden = mlpHidden(config);
  const spec: ModelSpec = new Map();
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

interface NormWeights {
  weight: Tensor; // [D]
  bias: Tensor; // [D]
}
interface LinearWeights {
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
}
/** One pre-norm block's weights (timm names blocks.i.norm1, .attn.qkv, .attn.proj, .norm2, .mlp.fc1, .mlp.fc2). */
export interface VitBlockWeights {
  norm1: NormWeights;
  qkv: LinearWeights;
  proj: LinearWeights;
  norm2: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

/** The attention of a block: normed tokens [n, D] -> [n, D]. multiHeadSelfAttention, or a variant that taps it. */
export type AttentionKernel = (x: Tensor, params: AttentionParams) => Tensor;

/** The blocks and the head of a ViT: everything after the embedding (tokens [n, D] in, logits out). */
export interface VitTrunk {
  readonly numBlocks: number;
  // block i = mlpHalf(i, attentionHalf(i, tokens)); token-reduction methods act between the halves
  attentionHalf(i: number, tokens: Tensor, attention?: AttentionKernel): Tensor; // tokens + attention(norm1(tokens))
  mlpHalf(i: number, x: Tensor): Tensor; // x + mlp(norm2(x)), exact GELU
  block(i: number, tokens: Tensor): Tensor; // [n, D] -> [n, D]
  blockWeights(i: number): VitBlockWeights;
  blocks(tokens: Tensor): Tensor; // all blocks in order
  head(tokens: Tensor): Tensor; // [n, D] -> [numClasses]
}

export interface Vit extends VitTrunk {
  readonly config: VitConfig & { numPrefixTokens: number; gridSize: number; numPatches: number };
  embed(x: Tensor): Tensor; // [1, 3, H, W] -> [prefix + patches, D]
  forward(x: Tensor): Tensor; // [1, 3, H, W] -> [numClasses]
}

/** Builds a ViT / DeiT from timm-named weights, checked against vitSpec(config) (one error lists every problem). */
export function createVit(config: VitConfig, weights: Map<string, Tensor>): Vit {
  const spec = vitSpec(config);
  checkWeights("createVit", spec, weights);
  const w = (name: string) => weights.get(name)!; // every name was checked against the spec
  const D = config.embedDim;
  const prefix = numPrefixTokens(config);
  const grid = gridSize(config);
  const numPatches = grid * grid;
  const prefixTokens = (["cls_token", "dist_token"] as const)
    .filter((name) => spec.has(name))
    .map((name) => w(name).reshape([1, D]));
  const posEmbed = w("pos_embed").reshape([prefix + numPatches, D]);
  const patchProj = linearWeights(weights, "patch_embed.proj");
  const trunk = createVitTrunk(config, weights);

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

  return {
    ...trunk,
    config: { ...config, numPrefixTokens: prefix, gridSize: grid, numPatches },
    embed,
    forward: (x) => trunk.head(trunk.blocks(embed(x))),
  };
}

function linearWeights(weights: Map<string, Tensor>, name: string): LinearWeights {
  return { weight: weights.get(`${name}.weight`)!, bias: weights.get(`${name}.bias`) ?? null };
}

/**
 * The blocks and head of a ViT from timm-named weights (blocks.i.*, norm | fc_norm, head, head_dist). The caller
 * has checked the names against a spec that contains vitTrunkSpec(config); the embedding is the caller's.
 */
export function createVitTrunk(config: VitTrunkConfig, weights: Map<string, Tensor>): VitTrunk {
  const w = (name: string) => weights.get(name)!;
  const norm = (name: string): NormWeights => ({ weight: w(`${name}.weight`), bias: w(`${name}.bias`) });
  const fc = (name: string) => linearWeights(weights, name);
  const D = config.embedDim;
  const prefix = Number(config.classToken) + Number(config.distillToken);
  const eps = config.layerNormEps;
  const weightsOfBlock: VitBlockWeights[] = Array.from({ length: config.depth }, (_, i) => ({
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

  function expectTokens(op: string, tokens: Tensor, minRows: number): void {
    expectRank(op, "tokens", tokens, 2);
    if (tokens.shape[1] !== D || tokens.shape[0] < minRows) {
      throw new ShapeError(op, `tokens must be [n, ${D}] with n >= ${minRows}, got ${shapeStr(tokens.shape)}`);
    }
  }

  function blockWeights(i: number): VitBlockWeights {
    if (!Number.isInteger(i) || i < 0 || i >= config.depth)
      throw new RangeError(`vit block index ${i} is not in [0, ${config.depth})`);
    return weightsOfBlock[i];
  }

  function attentionHalf(i: number, tokens: Tensor, attention: AttentionKernel = multiHeadSelfAttention): Tensor {
    const b = blockWeights(i);
    expectTokens(`vit.attentionHalf(${i})`, tokens, 1);
    const normed = layerNorm(tokens, b.norm1.weight, b.norm1.bias, eps);
    return add(
      tokens,
      attention(normed, {
        qkvWeight: b.qkv.weight,
        qkvBias: b.qkv.bias,
        projWeight: b.proj.weight,
        projBias: b.proj.bias,
        numHeads: config.numHeads,
      }),
    );
  }

  function mlpHalf(i: number, x: Tensor): Tensor {
    const b = blockWeights(i);
    expectTokens(`vit.mlpHalf(${i})`, x, 1);
    const hidden = linear(layerNorm(x, b.norm2.weight, b.norm2.bias, eps), b.fc1.weight, b.fc1.bias, {
      activation: "gelu",
    }); // fused erf GELU
    return add(x, linear(hidden, b.fc2.weight, b.fc2.bias));
  }

  function block(i: number, tokens: Tensor): Tensor {
    expectTokens(`vit.block(${i})`, tokens, 1);
    return mlpHalf(i, attentionHalf(i, tokens));
  }

  function blocks(tokens: Tensor): Tensor {
    let x = tokens;
    for (let i = 0; i < config.depth; i++) x = block(i, x);
    return x;
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

  return { numBlocks: config.depth, attentionHalf, mlpHalf, block, blockWeights, blocks, head };
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
