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
import { checkFinite } from "../tensor/checks.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import { attentionWithTaps, type AttentionOutputs, type AttentionTaps } from "./attention_taps.ts";
import {
  LAYER_NORM_MACS_PER_ELEMENT,
  headMacs,
  patchEmbedMacs,
  type CostBreakdown,
  type VitCostConfig,
} from "./macs.ts";

/** Runs one named stage (papr.ts's Observer; here: each block). */
type Observer = <T>(stage: string, run: () => T) => T;

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
  method: string; // the reducer's method ("none": plain blocks)
  tokens: Tensor; // leaving the last block
  size: Float32Array;
  groupOf: Int32Array; // final: embed row -> output token, -1 = pruned
  groupsPerBlock: Int32Array[]; // groupOf after each block
  blocks: BlockRecord[];
}

/**
 * What the block loop needs of a backbone: the image ViT (vit.ts) or any model built on its trunk, e.g. the
 * VideoMAE classifier (video_vit.ts, no prefix token, numPatches = its 1568 tubelet tokens).
 */
export type BlockBackbone = Pick<Vit, "numBlocks" | "block" | "attentionHalf" | "mlpHalf"> & {
  readonly config: Pick<Vit["config"], "numPrefixTokens" | "numPatches" | "embedDim" | "mlpRatio">;
};

/**
 * Runs every block of the ViT on `tokens` [n, D] (already PaPr-pruned or not), whose embed rows are
 * `rows` [n] (embedRowsOf), letting `reducer` merge or drop tokens inside the blocks.
 */
export function runReducedBlocks(
  vit: BlockBackbone,
  tokens: Tensor,
  rows: Int32Array,
  reducer: TokenReducer,
  observe: Observer = (_, run) => run(),
): ReductionRun {
  const { numPrefixTokens, numPatches } = vit.config;
  expectRank("runReducedBlocks", "tokens", tokens, 2);
  if (rows.length !== tokens.shape[0]) {
    throw new ShapeError(
      "runReducedBlocks",
      `rows must give the embed row of each token: tokens ${shapeStr(tokens.shape)}, rows [${rows.length}]`,
    );
  }
  reducer.check?.(vit.numBlocks);
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
  for (let i = 0; i < vit.numBlocks; i++) {
    const before = state;
    const step = observe(`block ${i}`, () => reducedBlock(vit, i, before, reducer));
    state = step.state;
    blocks.push(step.record);
    groupsPerBlock.push(state.groupOf);
  }
  return {
    method: reducer.method,
    tokens: state.tokens,
    size: state.size,
    groupOf: state.groupOf,
    groupsPerBlock,
    blocks,
  };
}

/**
 * Block i with the reducer between its halves: x = attentionHalf (with the taps the reducer asks for),
 * the reducer's remap applied to x (tokens averaged by size), then mlpHalf. A block whose taps are
 * null is the plain vit.block.
 */
export function reducedBlock(
  vit: BlockBackbone,
  i: number,
  state: ReductionState,
  reducer: TokenReducer,
): { state: ReductionState; record: BlockRecord } {
  const { embedDim, mlpRatio } = vit.config;
  const n = state.tokens.shape[0];
  const taps = reducer.taps(i, state);
  let reduction: Reduction | null = null;
  let next: ReductionState;
  if (taps === null) {
    next = { ...state, tokens: checkFinite(`block ${i} output (step 8)`, vit.block(i, state.tokens)) };
  } else {
    let tapped: AttentionOutputs | null = null;
    const x = vit.attentionHalf(
      i,
      state.tokens,
      (normed, params) => (tapped = attentionWithTaps(normed, params, taps)).output,
    );
    // the reducer ranks or matches tokens by x: NaN there would fail obscurely, so it is named here
    checkFinite(`block ${i} attention output (step 8, before ${reducer.method})`, x);
    reduction = reducer.reduce(i, x, state, tapped!);
    let reduced = { tokens: x, size: state.size };
    let nextGroups = state.groupOf;
    if (reduction) {
      const remap = reduction.remap;
      reduced = reduceTokens(x, state.size, remap, reduction.numOut);
      nextGroups = state.groupOf.map((g) => (g < 0 ? -1 : remap[g]));
    }
    const tokens = checkFinite(`block ${i} output (step 8)`, vit.mlpHalf(i, reduced.tokens));
    next = { ...state, tokens, size: reduced.size, groupOf: nextGroups };
  }
  const tokensOut = next.tokens.shape[0];
  const record: BlockRecord = {
    block: i,
    tokensIn: n,
    tokensOut,
    macs: reducedBlockMacs(n, tokensOut, embedDim, mlpRatio),
    overheadMacs: reduction?.overheadMacs ?? 0,
    remap: reduction?.remap ?? null,
    ...(reduction?.merges ? { merges: reduction.merges } : {}),
    ...(reduction?.pruned ? { pruned: reduction.pruned } : {}),
  };
  return { state: next, record };
}
