// Cost accounting as the PaPr paper reports it ("GFLOPs" = fvcore-style
// multiply-accumulate counts, proposer and full patch embedding included).
//
// fvcore conventions used here:
//   linear / matmul / conv        one MAC per multiply-add (bias free)
//   layer norm with affine        5 per element (fvcore's norm handler)
//   softmax, GELU, adds           not counted
// Per transformer block with N tokens, width D, MLP ratio r:
//   qkv 3ND^2 + attention QK^T and AV 2N^2D + proj ND^2 + MLP 2rND^2 + two layer norms 10ND
//   (= 12ND^2 + 2N^2D + 10ND for r = 4).

import type { Vit } from "../models/vit.ts";

export interface VitCostConfig {
  imageSize: number;
  patchSize: number;
  inChannels: number;
  embedDim: number;
  depth: number;
  mlpRatio: number;
  numClasses: number;
  numPrefixTokens: number;
  numHeads?: number; // not needed for the count
  distillToken?: boolean;
}

export const LAYER_NORM_MACS_PER_ELEMENT = 5;

/** The geometry the MAC count needs, from a ViT's config. */
export function costConfig(vit: Pick<Vit, "config">): VitCostConfig {
  const c = vit.config;
  return {
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    inChannels: c.inChannels,
    embedDim: c.embedDim,
    depth: c.depth,
    mlpRatio: c.mlpRatio,
    numClasses: c.numClasses,
    numPrefixTokens: c.numPrefixTokens,
    distillToken: c.distillToken,
  };
}

export function numPatchesOf(c: Pick<VitCostConfig, "imageSize" | "patchSize">): number {
  const side = Math.floor(c.imageSize / c.patchSize);
  return side * side;
}

/** MACs of one pre-norm transformer block on `tokens` tokens. */
export function blockMacs(tokens: number, embedDim: number, mlpRatio = 4): number {
  const N = tokens;
  const D = embedDim;
  const attention = 3 * N * D * D + 2 * N * N * D + N * D * D;
  const mlp = 2 * N * D * Math.round(mlpRatio * D);
  const norms = 2 * LAYER_NORM_MACS_PER_ELEMENT * N * D;
  return attention + mlp + norms;
}

/** Patch embedding: a conv with kernel = stride = patch over the whole image (always full, before pruning). */
export function patchEmbedMacs(c: VitCostConfig): number {
  return numPatchesOf(c) * c.inChannels * c.patchSize * c.patchSize * c.embedDim;
}

/** Final norm on the tokens leaving the last block, then the classifier head(s). */
export function headMacs(c: VitCostConfig, tokensOut: number): number {
  const heads = c.distillToken ? 2 : 1;
  return LAYER_NORM_MACS_PER_ELEMENT * tokensOut * c.embedDim + heads * c.embedDim * c.numClasses;
}

export interface CostBreakdown {
  proposer: number;
  patchEmbed: number;
  blocks: number[]; // one entry per block
  head: number;
  total: number;
}

/** Cost of a ViT forward in which block i sees tokensPerBlock[i] tokens, plus the proposer's MACs. */
export function vitCost(c: VitCostConfig, tokensPerBlock: number[], proposerMacs = 0): CostBreakdown {
  if (tokensPerBlock.length !== c.depth) {
    throw new Error(`vitCost: ${tokensPerBlock.length} token counts given for ${c.depth} blocks`);
  }
  const blocks = tokensPerBlock.map((n) => blockMacs(n, c.embedDim, c.mlpRatio));
  const patchEmbed = patchEmbedMacs(c);
  const head = headMacs(c, tokensPerBlock[tokensPerBlock.length - 1]);
  const total = proposerMacs + patchEmbed + blocks.reduce((a, b) => a + b, 0) + head;
  return { proposer: proposerMacs, patchEmbed, blocks, head, total };
}
