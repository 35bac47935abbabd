// Attention-score token pruning, inference only, in the style of the seeds' adaptive sparse ViT
// (Liu, Wu, Guo 2022, seed 001) and EViT (Liang et al. 2022). In each chosen block, between attention
// and MLP:
//   score_j = sum_h w_h * A_h[0, j]      for every non-prefix token j, A_h[0, :] = the class token's
//                                         attention row of head h (after softmax)
//   w_h     = |o_h| / sum_g |o_g|         head importance: L2 norm of the class token's output of head h,
//                                         o_h = A_h[0, :] V_h (the seed's "head importance weighted class
//                                         attention", read as a training-free quantity of the MHSA itself;
//                                         the seed gives only its abstract, so this reading is ours);
//                                         headWeighting "uniform" gives EViT's plain mean over heads
//   keep    { keepRate: q }:   the ceil(q * m) best of the m non-prefix tokens (EViT's keep rate;
//                              stable descending sort, ties keep the earlier token)
//           { threshold: s }:  the tokens with score >= s (the seed's thresholds are learned; here they
//                              are inputs); at least minKeep (default 1) best tokens survive
// Prefix tokens are never dropped. Kept tokens keep their order (PaPr's significance order survives).
// Scores are on the softmax scale: the non-prefix scores sum to at most 1 (1/m = average attention).
import type { AttentionOutputs, AttentionTaps } from "../tensor/attention_variants.ts";
import { argsortDescending } from "../tensor/sort.ts";
import { ShapeError, expectRank, shapeStr, type Tensor } from "../tensor/tensor.ts";
import type { PruneRecord, Reduction, ReductionState, TokenReducer } from "./token_reduction.ts";

export type HeadWeighting = "outputNorm" | "uniform";

/** Where and how much to prune: exactly one of keepRate (0, 1] or threshold. */
export interface PruneStage {
  block: number;
  keepRate?: number;
  threshold?: number;
}

export interface AttentionPruningOptions {
  stages: PruneStage[];
  headWeighting?: HeadWeighting; // default "outputNorm"
  minKeep?: number; // non-prefix tokens always kept by a threshold stage (default 1)
}

/**
 * Scores of the non-prefix tokens from the class token's attention classAttention [H, N] and its
 * per-head outputs classHeadOutput [H, hd] -> [N - numPrefix].
 */
export function classAttentionScores(
  classAttention: Tensor,
  classHeadOutput: Tensor,
  numPrefix: number,
  weighting: HeadWeighting = "outputNorm",
): Float32Array {
  const op = "classAttentionScores";
  expectRank(op, "classAttention", classAttention, 2);
  expectRank(op, "classHeadOutput", classHeadOutput, 2);
  const [H, N] = classAttention.shape;
  const hd = classHeadOutput.shape[1];
  if (classHeadOutput.shape[0] !== H) {
    throw new ShapeError(
      op,
      `classAttention ${shapeStr(classAttention.shape)} and classHeadOutput ${shapeStr(classHeadOutput.shape)} disagree on the number of heads`,
    );
  }
  if (!Number.isInteger(numPrefix) || numPrefix < 1 || numPrefix > N) {
    throw new ShapeError(
      op,
      `needs a class token: numPrefix ${numPrefix} must be in [1, ${N}] (classAttention ${shapeStr(classAttention.shape)})`,
    );
  }
  const weights = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    let sq = 0;
    for (let t = 0; t < hd; t++) sq += classHeadOutput.data[h * hd + t] ** 2;
    weights[h] = weighting === "uniform" ? 1 : Math.sqrt(sq);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const scores = new Float32Array(N - numPrefix);
  for (let j = numPrefix; j < N; j++) {
    let s = 0;
    for (let h = 0; h < H; h++) s += weights[h] * classAttention.data[h * N + j];
    scores[j - numPrefix] = s / total;
  }
  return scores;
}

/**
 * Which of the m scored tokens a stage keeps (ascending positions), and the margin of that decision: the
 * smallest gap between a kept and a dropped score (and between any score and the threshold), times m.
 */
export function selectByScore(
  scores: Float32Array,
  stage: Omit<PruneStage, "block">,
  minKeep = 1,
): { kept: Int32Array; margin: number } {
  const m = scores.length;
  const order = argsortDescending(scores);
  let count: number;
  if (stage.keepRate !== undefined) {
    count = Math.min(m, Math.ceil(stage.keepRate * m));
  } else {
    const threshold = stage.threshold!;
    count = 0;
    while (count < m && scores[order[count]] >= threshold) count++;
    count = Math.min(m, Math.max(count, minKeep));
  }
  const kept = order.slice(0, count).sort();
  // margin in units of the mean score 1/m, the scores' own scale
  let margin = count > 0 && count < m ? m * (scores[order[count - 1]] - scores[order[count]]) : Infinity;
  if (stage.threshold !== undefined) {
    for (const s of scores) margin = Math.min(margin, m * Math.abs(s - stage.threshold));
  }
  return { kept, margin };
}

function checkStages(stages: PruneStage[]): Map<number, PruneStage> {
  const byBlock = new Map<number, PruneStage>();
  for (const stage of stages) {
    const where = `attentionPruning: stage at block ${stage.block}`;
    if (!Number.isInteger(stage.block) || stage.block < 0)
      throw new RangeError(`${where}: block must be an integer >= 0`);
    if (byBlock.has(stage.block)) throw new RangeError(`${where}: block given twice`);
    if ((stage.keepRate === undefined) === (stage.threshold === undefined))
      throw new RangeError(`${where}: give exactly one of keepRate and threshold`);
    if (stage.keepRate !== undefined && !(stage.keepRate > 0 && stage.keepRate <= 1))
      throw new RangeError(`${where}: keepRate must be in (0, 1], got ${stage.keepRate}`);
    if (stage.threshold !== undefined && !Number.isFinite(stage.threshold))
      throw new RangeError(`${where}: threshold must be a finite number, got ${stage.threshold}`);
    byBlock.set(stage.block, stage);
  }
  return byBlock;
}

/** Attention-score pruning as a TokenReducer for runReducedBlocks / runWithTokenReduction. */
export function attentionPruning(options: AttentionPruningOptions): TokenReducer {
  const { headWeighting = "outputNorm", minKeep = 1 } = options;
  if (!Number.isInteger(minKeep) || minKeep < 0)
    throw new RangeError(`attentionPruning: minKeep must be an integer >= 0, got ${minKeep}`);
  const stages = checkStages(options.stages);
  const describe = (s: PruneStage) => (s.keepRate !== undefined ? `keep ${s.keepRate}` : `>= ${s.threshold}`);
  return {
    method: `attention-pruning(${[...stages.values()].map((s) => `${s.block}: ${describe(s)}`).join(", ")})`,
    taps(i: number): AttentionTaps | null {
      return stages.has(i) ? { classRow: true } : null;
    },
    check(numBlocks: number): void {
      for (const block of stages.keys()) {
        if (block >= numBlocks)
          throw new RangeError(`attentionPruning: stage at block ${block}, but the backbone has ${numBlocks} blocks`);
      }
    },
    reduce(i: number, _x: Tensor, state: ReductionState, attention: AttentionOutputs): Reduction | null {
      const stage = stages.get(i)!;
      const P = state.numPrefix;
      const scores = classAttentionScores(attention.classAttention!, attention.classHeadOutput!, P, headWeighting);
      const { kept, margin } = selectByScore(scores, stage, minKeep);
      const n = P + scores.length;
      const remap = new Int32Array(n).fill(-1);
      for (let j = 0; j < P; j++) remap[j] = j;
      kept.forEach((position, k) => {
        remap[P + position] = P + k;
      });
      const dropped = Int32Array.from({ length: n }, (_, j) => j).filter((j) => remap[j] < 0);
      const pruned: PruneRecord = { scores, dropped, rule: describe(stage), margin };
      return { remap, numOut: P + kept.length, pruned };
    },
  };
}
