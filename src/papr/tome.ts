// ToMe, token merging (Bolya et al., "Token Merging: Your ViT but Faster", ICLR 2023), inference only,
// as PAPR-SPEC.md section 4 describes it. In block i, between attention and MLP:
//   1. metric = the attention keys averaged over heads [t, hd], L2-normalised per token
//   2. split the t tokens by position: A = even positions 0, 2, 4, ..., B = odd positions 1, 3, ...
//   3. score every A-B pair by cosine similarity; prefix tokens (class / distillation) are protected:
//      a prefix token in A gets no edge (its row is -inf), a prefix token in B receives none (column -inf)
//   4. each A token keeps its best B match (first best on ties); the r A tokens with the highest best
//      score (stable descending sort) merge into their match, r = min(r_i, floor((t - prefix) / 2))
//   5. merged token = size-weighted average of its members; size = summed sizes (starts at 1)
//   6. output order: prefix tokens, then the unmerged A tokens, then the B tokens, each in their
//      previous order (for ViTs with a class token this is the authors' order; see tomeRemap)
// and in every block after a merge, proportional attention: log(size_j) is added to the attention
// logits of key j, so a token standing for s patches is attended as if it were s copies.
//
// With PaPr the tokens enter in significance order, so A/B neighbours are rank neighbours; the
// authors merge only in the second half of the blocks when z < 1 (paprTomeSchedule).
//
// Ties and near-ties: exact ties are broken the same way everywhere (lower index first, for the best B
// match and for the A order). Near-ties are different: the cosine similarities here are summed in float64
// from float32 keys, PyTorch sums in float32; after 12 blocks they differ by ~1e-6 (measured against a
// float64 run), so a decision whose score gap is smaller could flip. Every matching reports its margin
// (the smallest gap behind a decision: r-th vs (r+1)-th best A score, and each merged A token's best vs
// second-best B score). The golden generator (tools/golden/tome_ref.py, run_checked) writes a fixture
// only when every margin is >= 2e-5 and a float64 rerun takes the same decisions.
import type { AttentionOutputs, AttentionTaps } from "../tensor/attention_variants.ts";
import { argsortDescending } from "../tensor/sort.ts";
import { ShapeError, expectRank, shapeStr, type Tensor } from "../tensor/tensor.ts";
import type { MergeRecord, Reduction, ReductionState, TokenReducer } from "./token_reduction.ts";

/** r merges in each block from `start` on, none before. */
export function tomeSchedule(depth: number, r: number, start = 0): number[] {
  if (!Number.isInteger(depth) || depth < 1)
    throw new RangeError(`tomeSchedule: depth must be a positive integer, got ${depth}`);
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`tomeSchedule: r must be an integer >= 0, got ${r}`);
  if (!Number.isInteger(start) || start < 0 || start > depth)
    throw new RangeError(`tomeSchedule: start ${start} is not in [0, ${depth}]`);
  return Array.from({ length: depth }, (_, i) => (i >= start ? r : 0));
}

/**
 * The PaPr + ToMe schedule: with PaPr pruning (z < 1) the authors merge only in the second half of
 * the blocks (from floor(depth / 2)); without it (z = 1) in every block. secondHalf: false merges in
 * every block whatever z.
 */
export function paprTomeSchedule(
  depth: number,
  r: number,
  z: number,
  options: { secondHalf?: boolean } = {},
): number[] {
  const { secondHalf = true } = options;
  return tomeSchedule(depth, r, secondHalf && z < 1 ? Math.floor(depth / 2) : 0);
}

export interface Matching extends MergeRecord {
  remap: Int32Array; // [t]: old token -> new token
  numOut: number; // t - r
}

/**
 * Bipartite soft matching on keys [t, c] (the metric, not yet normalised): which r tokens of A merge
 * into which tokens of B, with the first numProtected tokens protected.
 */
export function bipartiteSoftMatching(keys: Tensor, r: number, numProtected: number): Matching {
  const op = "bipartiteSoftMatching";
  expectRank(op, "keys", keys, 2);
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`${op}: r must be an integer >= 0, got ${r}`);
  const [t, c] = keys.shape;
  if (!Number.isInteger(numProtected) || numProtected < 0 || numProtected > t) {
    throw new ShapeError(op, `numProtected ${numProtected} must be in [0, ${t}] for keys ${shapeStr(keys.shape)}`);
  }
  const merges = Math.max(0, Math.min(r, Math.floor((t - numProtected) / 2)));
  const identity = Int32Array.from({ length: t }, (_, i) => i);
  if (merges === 0)
    return { r: 0, src: new Int32Array(0), dst: new Int32Array(0), margin: Infinity, remap: identity, numOut: t };

  // 1. unit-length metric rows (float32, as torch keeps them)
  const unit = new Float32Array(t * c);
  for (let i = 0; i < t; i++) {
    let sq = 0;
    for (let j = 0; j < c; j++) sq += keys.data[i * c + j] ** 2;
    const norm = Math.sqrt(sq);
    for (let j = 0; j < c; j++) unit[i * c + j] = keys.data[i * c + j] / norm;
  }
  // 2-4. best B match of every A token (A = even positions, B = odd), and the runner-up gap
  const numA = Math.ceil(t / 2);
  const numB = Math.floor(t / 2);
  const best = new Float64Array(numA);
  const bestB = new Int32Array(numA);
  const runnerUpGap = new Float64Array(numA);
  for (let a = 0; a < numA; a++) {
    const ta = 2 * a;
    let top = -Infinity;
    let second = -Infinity;
    let arg = 0;
    if (ta >= numProtected) {
      for (let b = 0; b < numB; b++) {
        const tb = 2 * b + 1;
        if (tb < numProtected) continue;
        let s = 0;
        for (let j = 0; j < c; j++) s += unit[ta * c + j] * unit[tb * c + j];
        if (s > top) {
          second = top;
          top = s;
          arg = b;
        } else if (s > second) second = s;
      }
    }
    best[a] = top;
    bestB[a] = arg;
    runnerUpGap[a] = top - second; // Infinity when there is a single candidate
  }
  const order = argsortDescending(best); // stable: ties keep the lower A index first
  const srcA = order.slice(0, merges);
  let margin =
    merges < numA && Number.isFinite(best[order[merges]]) ? best[order[merges - 1]] - best[order[merges]] : Infinity;
  for (const a of srcA) margin = Math.min(margin, runnerUpGap[a]);

  const src = Int32Array.from(srcA, (a) => 2 * a);
  const dst = Int32Array.from(srcA, (a) => 2 * bestB[a] + 1);
  const remap = tomeRemap(t, numProtected, src, dst);
  return { r: merges, src, dst, margin, remap, numOut: t - merges };
}

/**
 * Where each of t tokens goes when tokens src[m] merge into dst[m]: output = prefix tokens, then the
 * A tokens (even positions) that stay, then the B tokens (odd positions), each in their previous
 * order. With one class token (or class + distillation) this is the order of the ToMe authors; for
 * prefix-free ViTs the authors keep the unmerged A tokens in score order instead (a documented
 * difference: the output then differs only by a permutation).
 */
export function tomeRemap(t: number, numPrefix: number, src: Int32Array, dst: Int32Array): Int32Array {
  const merged = new Uint8Array(t);
  for (const s of src) merged[s] = 1;
  const remap = new Int32Array(t).fill(-1);
  let next = 0;
  for (let i = 0; i < numPrefix; i++) remap[i] = next++;
  for (let i = numPrefix; i < t; i++) if (i % 2 === 0 && !merged[i]) remap[i] = next++;
  for (let i = numPrefix; i < t; i++) if (i % 2 === 1) remap[i] = next++;
  src.forEach((s, m) => {
    remap[s] = remap[dst[m]];
  });
  return remap;
}

export interface TomeOptions {
  schedule: number[]; // r per block (tomeSchedule / paprTomeSchedule)
  proportionalAttention?: boolean; // add log(size) to the attention logits (default true, as the authors)
}

/** ToMe as a TokenReducer for runReducedBlocks / runWithTokenReduction. */
export function tome(options: TomeOptions): TokenReducer {
  const { schedule, proportionalAttention = true } = options;
  schedule.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0) throw new RangeError(`tome: schedule[${i}] = ${r} must be an integer >= 0`);
  });
  const rOf = (i: number) => {
    if (i >= schedule.length)
      throw new RangeError(`tome: schedule has ${schedule.length} entries, block ${i} has none`);
    return schedule[i];
  };
  const first = schedule.findIndex((r) => r > 0);
  return {
    method: first < 0 ? "tome(r=0)" : `tome(r=${Math.max(...schedule)}${first > 0 ? ` from block ${first}` : ""})`,
    taps(i: number, state: ReductionState): AttentionTaps | null {
      const merged = state.size.some((s) => s !== 1);
      if (rOf(i) === 0 && !(proportionalAttention && merged)) return null;
      return {
        keys: rOf(i) > 0,
        keyBias: proportionalAttention && merged ? Float32Array.from(state.size, Math.log) : null,
      };
    },
    check(numBlocks: number): void {
      if (schedule.length !== numBlocks)
        throw new RangeError(`tome: schedule has ${schedule.length} entries for ${numBlocks} blocks`);
    },
    reduce(i: number, _x: Tensor, state: ReductionState, attention: AttentionOutputs): Reduction | null {
      if (rOf(i) === 0) return null;
      const keys = attention.keyMean!; // [t, hd]
      const matching = bipartiteSoftMatching(keys, rOf(i), state.numPrefix);
      if (matching.r === 0) return null;
      const { remap, numOut, ...merges } = matching;
      const [t, hd] = keys.shape;
      // the cosine similarities, |A| x |B| dot products of hd channels (normalisation and sort not counted)
      return { remap, numOut, merges, overheadMacs: Math.ceil(t / 2) * Math.floor(t / 2) * hd };
    },
  };
}
