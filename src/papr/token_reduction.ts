// Token reduction inside the ViT blocks, shared by ToMe (tome.ts) and attention-score pruning
// (attention_pruning.ts), alone or after PaPr's one-step pruning.
//
// Both methods act in the same place: inside block i, between attention and MLP,
//   x = tokens + attention(norm1(tokens))       attention may add a per-key bias and return taps
//   x, size = reduce(x, size)                    a remap old token -> new token (or -1 = dropped);
//                                                tokens mapped together are averaged, weighted by size
//   tokens = x + mlp(norm2(x))
// so each method only says, from the attention taps, how to remap the tokens (a TokenReducer).
//
// Bookkeeping (the audit trace): every token of the embedding (prefix tokens + all patches, the
// "embed rows") is followed to the token that holds it: groupOf[row] = current token index, or -1 once
// pruned (by PaPr or by a method). Per block: tokens in / out, MACs, the remap, and the method's record
// (which tokens merged into which, or which were dropped and their scores).
//
// MACs: a reducing block counts its attention half (norm1, qkv, QK^T, AV, proj) at the tokens
// entering it and its MLP half (norm2, fc1, fc2) at the tokens leaving the reduction, the fvcore count
// of the ToMe paper. The matching / scoring itself (ToMe's cosine similarities, the sort) is not
// counted, as in the ToMe paper; BlockRecord.overheadMacs says what ToMe's similarity matmul would add.
import type { Vit } from "../models/vit.ts";
import { createVit, vitSpec } from "../models/vit.ts";
import { checkWeights } from "../models/conv_common.ts";
import { multiHeadSelfAttentionEx, type AttentionOutputs, type AttentionTaps } from "../tensor/attention_variants.ts";
import { add } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { countMacs } from "../tensor/macs.ts";
import { layerNorm } from "../tensor/norm.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import {
  LAYER_NORM_MACS_PER_ELEMENT,
  headMacs,
  patchEmbedMacs,
  vitCost,
  type CostBreakdown,
  type VitCostConfig,
} from "./macs.ts";
import { costConfig, type Backbone, type PaprResult, type PaprTrace, type Proposer } from "./papr.ts";
import { proposalMap } from "./proposal.ts";
import { pruneTokens } from "./prune.ts";
import { keepCount, keepMask, keptPatches, rankPatches, type KeepConvention } from "./ranking.ts";
import { patchSignificance } from "./significance.ts";

// ---- the backbone, split inside its blocks ------------------------------------------------------

interface NormParams {
  weight: Tensor;
  bias: Tensor;
}
interface LinearParams {
  weight: Tensor;
  bias: Tensor | null;
}
/** One pre-norm ViT block's weights (timm names blocks.i.*). */
export interface VitBlockParams {
  norm1: NormParams;
  qkv: LinearParams;
  proj: LinearParams;
  norm2: NormParams;
  fc1: LinearParams;
  fc2: LinearParams;
}

/** A ViT backbone whose blocks can be run in two halves. */
export type ReducibleBackbone = Backbone & { blockParams(i: number): VitBlockParams };

/**
 * The backbone plus its block weights, from the same timm-named weights createVit was given (checked
 * against vitSpec, one error listing every problem). A Vit from createVit already has blockParams.
 */
export function withBlockParams(backbone: Backbone | Vit, weights: Map<string, Tensor>): ReducibleBackbone {
  checkWeights("withBlockParams", vitSpec(backbone.config), weights);
  const { blockParams } = createVit(backbone.config, weights);
  const { config, numBlocks, embed, block, head } = backbone;
  return { config, numBlocks, embed, block, head, blockParams };
}

/** First half of block i: tokens + attention(norm1(tokens)), with the taps the method asked for. */
export function attentionHalf(
  backbone: ReducibleBackbone,
  i: number,
  tokens: Tensor,
  taps: AttentionTaps,
): { x: Tensor; attention: AttentionOutputs } {
  const p = backbone.blockParams(i);
  const { numHeads, layerNormEps } = backbone.config;
  const attention = multiHeadSelfAttentionEx(
    layerNorm(tokens, p.norm1.weight, p.norm1.bias, layerNormEps),
    {
      qkvWeight: p.qkv.weight,
      qkvBias: p.qkv.bias,
      projWeight: p.proj.weight,
      projBias: p.proj.bias,
      numHeads,
    },
    taps,
  );
  return { x: add(tokens, attention.output), attention };
}

/** Second half of block i: x + mlp(norm2(x)). */
export function mlpHalf(backbone: ReducibleBackbone, i: number, x: Tensor): Tensor {
  const p = backbone.blockParams(i);
  const hidden = linear(
    layerNorm(x, p.norm2.weight, p.norm2.bias, backbone.config.layerNormEps),
    p.fc1.weight,
    p.fc1.bias,
    { activation: "gelu" },
  );
  return add(x, linear(hidden, p.fc2.weight, p.fc2.bias));
}

// ---- state, remaps and the audit trace ----------------------------------------------------------

export interface ReductionState {
  tokens: Tensor; // [n, D]
  size: Float32Array; // [n]: how many embed rows each token stands for (ToMe's size)
  groupOf: Int32Array; // [prefix + numPatches]: the token holding each embed row, -1 = pruned
  numPrefix: number; // the first numPrefix tokens are the prefix tokens (never merged or dropped)
}

/** What a method decided in one block: where each input token goes. */
export interface Reduction {
  remap: Int32Array; // [n]: token j goes into output token remap[j]; -1 = dropped
  numOut: number;
  merges?: MergeRecord;
  pruned?: PruneRecord;
  overheadMacs?: number; // the decision's own cost (ToMe's similarities), reported apart
}

/** ToMe: block-input token src[m] merged into block-input token dst[m]. */
export interface MergeRecord {
  r: number; // merges done (the schedule's r, clamped to what the token count allows)
  src: Int32Array;
  dst: Int32Array;
  margin: number; // smallest score gap behind a decision (see tome.ts); a near-tie shows up here
}

/** Attention pruning: scores of the non-prefix tokens (block-input order) and the dropped tokens. */
export interface PruneRecord {
  scores: Float32Array; // [n - prefix]
  dropped: Int32Array; // block-input token indices
  rule: string;
  margin: number; // smallest gap between a kept and a dropped score, or to the threshold, in units of 1/m
}

export interface BlockRecord {
  block: number;
  tokensIn: number;
  tokensOut: number;
  macs: number; // attention half at tokensIn, MLP half at tokensOut
  overheadMacs: number; // the method's own matching cost, not in `macs` (0 if none)
  remap: Int32Array | null; // null: nothing changed in this block
  merges?: MergeRecord;
  pruned?: PruneRecord;
}

/** A token-reduction method, decided block by block from the attention taps. */
export interface TokenReducer {
  readonly method: string;
  /** What block i's attention must compute, or null when block i is a plain block (then vit.block runs). */
  taps(i: number, state: ReductionState): AttentionTaps | null;
  /** After block i's attention (x = tokens + attention): the remap, or null for none. */
  reduce(i: number, x: Tensor, state: ReductionState, attention: AttentionOutputs): Reduction | null;
  /** Throws if the method's settings do not fit a backbone of numBlocks blocks. */
  check?(numBlocks: number): void;
}

/** No in-block reduction: PaPr alone, reported through the same trace as the other methods. */
export const noReduction: TokenReducer = { method: "none", taps: () => null, reduce: () => null };

/** The per-block trace as plain JSON values (typed arrays become arrays; infinite margins become null). */
export function blockRecordsJson(records: BlockRecord[]): unknown[] {
  const margin = (m: number) => (Number.isFinite(m) ? m : null);
  return records.map((b) => ({
    block: b.block,
    tokensIn: b.tokensIn,
    tokensOut: b.tokensOut,
    macs: b.macs,
    overheadMacs: b.overheadMacs,
    remap: b.remap && [...b.remap],
    ...(b.merges
      ? { merges: { r: b.merges.r, src: [...b.merges.src], dst: [...b.merges.dst], margin: margin(b.merges.margin) } }
      : {}),
    ...(b.pruned
      ? {
          pruned: {
            rule: b.pruned.rule,
            dropped: [...b.pruned.dropped],
            scores: [...b.pruned.scores],
            margin: margin(b.pruned.margin),
          },
        }
      : {}),
  }));
}

/**
 * Applies a remap to tokens x [n, D] with sizes [n]: output token k = the size-weighted average of the
 * input tokens mapped to k (a copy for a token mapped alone), its size = their summed sizes.
 */
export function reduceTokens(
  x: Tensor,
  size: Float32Array,
  remap: Int32Array,
  numOut: number,
): { tokens: Tensor; size: Float32Array } {
  expectRank("reduceTokens", "x", x, 2);
  const [n, D] = x.shape;
  if (size.length !== n || remap.length !== n) {
    throw new ShapeError(
      "reduceTokens",
      `x ${shapeStr(x.shape)} needs size and remap of length ${n}, got ${size.length} and ${remap.length}`,
    );
  }
  const sums = new Float64Array(numOut * D);
  const outSize = new Float64Array(numOut);
  const members = new Int32Array(numOut);
  const first = new Int32Array(numOut).fill(-1);
  for (let j = 0; j < n; j++) {
    const k = remap[j];
    if (k === -1) continue;
    if (!Number.isInteger(k) || k < 0 || k >= numOut)
      throw new RangeError(`reduceTokens: remap[${j}] = ${k} is not in [-1, ${numOut})`);
    const s = size[j];
    for (let c = 0; c < D; c++) sums[k * D + c] += s * x.data[j * D + c];
    outSize[k] += s;
    members[k] += 1;
    if (first[k] < 0) first[k] = j;
  }
  const out = new Float32Array(numOut * D);
  for (let k = 0; k < numOut; k++) {
    if (members[k] === 0) throw new RangeError(`reduceTokens: output token ${k} receives no input token`);
    if (members[k] === 1) out.set(x.data.subarray(first[k] * D, (first[k] + 1) * D), k * D);
    else for (let c = 0; c < D; c++) out[k * D + c] = sums[k * D + c] / outSize[k];
  }
  return { tokens: new Tensor(out, [numOut, D]), size: Float32Array.from(outSize) };
}

/** The embed rows of tokens entering the blocks: the prefix rows, then prefix + each kept patch. */
export function embedRowsOf(numPrefixTokens: number, keptPatchIndices: ArrayLike<number>): Int32Array {
  const rows = new Int32Array(numPrefixTokens + keptPatchIndices.length);
  for (let i = 0; i < numPrefixTokens; i++) rows[i] = i;
  for (let j = 0; j < keptPatchIndices.length; j++) rows[numPrefixTokens + j] = numPrefixTokens + keptPatchIndices[j];
  return rows;
}

/** MACs of one block whose attention sees tokensIn tokens and whose MLP sees tokensOut (= blockMacs when equal). */
export function reducedBlockMacs(tokensIn: number, tokensOut: number, embedDim: number, mlpRatio = 4): number {
  const D = embedDim;
  const attention = 4 * tokensIn * D * D + 2 * tokensIn * tokensIn * D + LAYER_NORM_MACS_PER_ELEMENT * tokensIn * D;
  const mlp = 2 * tokensOut * D * Math.round(mlpRatio * D) + LAYER_NORM_MACS_PER_ELEMENT * tokensOut * D;
  return attention + mlp;
}

/** The forward's cost from the per-block records (PaPr's breakdown: proposer, patch embed, blocks, head). */
export function reductionCost(c: VitCostConfig, records: BlockRecord[], proposerMacs = 0): CostBreakdown {
  if (records.length !== c.depth)
    throw new Error(`reductionCost: ${records.length} block records given for ${c.depth} blocks`);
  const blocks = records.map((r) => r.macs);
  const patchEmbed = patchEmbedMacs(c);
  const head = headMacs(c, records[records.length - 1].tokensOut);
  return {
    proposer: proposerMacs,
    patchEmbed,
    blocks,
    head,
    total: proposerMacs + patchEmbed + blocks.reduce((a, b) => a + b, 0) + head,
  };
}

export interface ReductionRun {
  tokens: Tensor; // leaving the last block
  size: Float32Array;
  groupOf: Int32Array; // final: embed row -> output token, -1 = pruned
  groupsPerBlock: Int32Array[]; // groupOf after each block
  blocks: BlockRecord[];
  blockTimes: number[]; // ms
}

/**
 * Runs every block of the backbone on `tokens` [n, D] (already PaPr-pruned or not), whose embed rows are
 * `rows` [n] (embedRowsOf), letting `reducer` merge or drop tokens inside the blocks.
 */
export function runReducedBlocks(
  backbone: ReducibleBackbone,
  tokens: Tensor,
  rows: Int32Array,
  reducer: TokenReducer,
): ReductionRun {
  const { numPrefixTokens, numPatches, embedDim, mlpRatio } = backbone.config;
  expectRank("runReducedBlocks", "tokens", tokens, 2);
  if (rows.length !== tokens.shape[0]) {
    throw new ShapeError(
      "runReducedBlocks",
      `rows must give the embed row of each token: tokens ${shapeStr(tokens.shape)}, rows [${rows.length}]`,
    );
  }
  reducer.check?.(backbone.numBlocks);
  const groupOf = new Int32Array(numPrefixTokens + numPatches).fill(-1);
  rows.forEach((row, j) => {
    if (!(row >= 0 && row < groupOf.length) || groupOf[row] !== -1)
      throw new RangeError(`runReducedBlocks: embed row ${row} is out of range or repeated`);
    groupOf[row] = j;
  });
  let state: ReductionState = {
    tokens,
    size: new Float32Array(tokens.shape[0]).fill(1),
    groupOf,
    numPrefix: numPrefixTokens,
  };
  const blocks: BlockRecord[] = [];
  const groupsPerBlock: Int32Array[] = [];
  const blockTimes: number[] = [];
  for (let i = 0; i < backbone.numBlocks; i++) {
    const start = performance.now();
    const n = state.tokens.shape[0];
    const taps = reducer.taps(i, state);
    let reduction: Reduction | null = null;
    if (taps === null) {
      state = { ...state, tokens: backbone.block(i, state.tokens) };
    } else {
      const { x, attention } = attentionHalf(backbone, i, state.tokens, taps);
      reduction = reducer.reduce(i, x, state, attention);
      let reduced = { tokens: x, size: state.size };
      let nextGroups = state.groupOf;
      if (reduction) {
        reduced = reduceTokens(x, state.size, reduction.remap, reduction.numOut);
        nextGroups = state.groupOf.map((g) => (g < 0 ? -1 : reduction!.remap[g]));
      }
      state = { ...state, tokens: mlpHalf(backbone, i, reduced.tokens), size: reduced.size, groupOf: nextGroups };
    }
    const tokensOut = state.tokens.shape[0];
    blocks.push({
      block: i,
      tokensIn: n,
      tokensOut,
      macs: reducedBlockMacs(n, tokensOut, embedDim, mlpRatio),
      overheadMacs: reduction?.overheadMacs ?? 0,
      remap: reduction?.remap ?? null,
      ...(reduction?.merges ? { merges: reduction.merges } : {}),
      ...(reduction?.pruned ? { pruned: reduction.pruned } : {}),
    });
    groupsPerBlock.push(state.groupOf);
    blockTimes.push(performance.now() - start);
  }
  return { tokens: state.tokens, size: state.size, groupOf: state.groupOf, groupsPerBlock, blocks, blockTimes };
}

// ---- PaPr, then a token-reduction method ----------------------------------------------------------

export interface ReductionOptions {
  z?: number; // PaPr keep ratio in (0, 1]; 1 = no PaPr pruning (the proposer is not needed)
  convention?: KeepConvention;
  order?: "significance" | "spatial";
  trace?: boolean; // PaPr's maps, as in Papr.predict
}

/** A PaprResult plus what the method did; macs and tokensPerBlock account for the reduction. */
export interface ReducedResult extends PaprResult {
  method: string;
  tokensAfterBlock: number[]; // tokens leaving each block
  reduction: ReductionRun;
}

/**
 * PaPr's one-step pruning (the steps of papr.ts: proposalMap, patchSignificance, rankPatches, keepCount,
 * pruneTokens), then the blocks with `reducer`, then the head. proposer may be null when z = 1.
 */
export function runWithTokenReduction(
  backbone: ReducibleBackbone,
  proposer: Proposer | null,
  x: Tensor,
  reducer: TokenReducer,
  options: ReductionOptions = {},
): ReducedResult {
  const { z = 1, convention = "official", order = "significance", trace = false } = options;
  const { numPatches, numPrefixTokens, gridSize } = backbone.config;
  const cost = costConfig(backbone);
  const k = keepCount(z, numPatches, numPrefixTokens, convention);
  const all = Int32Array.from({ length: numPatches }, (_, i) => i);
  let clockStart = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - clockStart;
    clockStart = now;
    return ms;
  };

  let maps: Omit<PaprTrace, "input" | "mask"> | null = null;
  let proposerMacs = 0;
  let proposerTime = 0;
  if (k < numPatches || (trace && proposer)) {
    if (!proposer) throw new Error(`runWithTokenReduction: z = ${z} prunes patches, so a proposer is needed`);
    const { result: features, macs } = countMacs(() => proposer.features(x));
    if (features.rank !== 4 || features.shape[0] !== 1)
      throw new ShapeError(
        "runWithTokenReduction proposer",
        `features must be [1, K, h, w], got ${shapeStr(features.shape)}`,
      );
    proposerMacs = macs;
    proposerTime = lap();
    const proposal = proposalMap(features);
    const significance = patchSignificance(proposal, [gridSize, gridSize]);
    maps = { features, proposal, significance, ranking: rankPatches(significance) };
  }
  const rankingTime = lap();
  const kept = k === numPatches ? all : keptPatches(maps!.ranking, k, order);
  const embedded = backbone.embed(x);
  const tokens = k === numPatches ? embedded : pruneTokens(embedded, numPrefixTokens, kept);
  const embedTime = lap();
  const run = runReducedBlocks(backbone, tokens, embedRowsOf(numPrefixTokens, kept), reducer);
  lap();
  const logits = backbone.head(run.tokens);
  const headTime = lap();
  const allTokens = numPrefixTokens + numPatches;
  const result: ReducedResult = {
    method: reducer.method,
    logits,
    kept,
    keptCount: k,
    numPatches,
    tokensPerBlock: run.blocks.map((b) => b.tokensIn),
    tokensAfterBlock: run.blocks.map((b) => b.tokensOut),
    macs: reductionCost(cost, run.blocks, proposerMacs),
    unprunedMacs: vitCost(cost, new Array(backbone.numBlocks).fill(allTokens)),
    timeMs: {
      proposer: proposerTime,
      ranking: rankingTime,
      embed: embedTime,
      blocks: run.blockTimes,
      head: headTime,
      total: proposerTime + rankingTime + embedTime + run.blockTimes.reduce((a, b) => a + b, 0) + headTime,
    },
    reduction: run,
  };
  if (trace && maps) result.trace = { input: x, ...maps, mask: keepMask(kept, numPatches) };
  return result;
}
