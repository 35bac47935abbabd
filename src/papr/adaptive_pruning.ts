// Adaptive sparse token pruning with learned thresholds (AS-ViT: Liu, Wu, Guo, "Adaptive Sparse ViT:
// Towards Learnable Adaptive Token Pruning by Fully Exploiting Self-Attention", IJCAI 2023; seed 001).
// Inference only; the thresholds are fit in PyTorch (tools/train/train_thresholds.py, reference
// tools/train/adaptive.py) and read from a small JSON file beside the model (adaptive-thresholds.json).
//
// At each pruning block b (inside the block, between attention and MLP, as attention_pruning.ts):
//   s_j = sum_h w_h A_h[0, j] / sum_h w_h    head-importance-weighted class attention of patch token j
//   w_h = |A_h[0, :] V_h|                     head importance: norm of the class token's output of head h
//   keep token j  iff  s_j >= theta_b         (at least the best token survives; prefix tokens always)
// so the number of tokens each block sees is a result of the image, not a setting: an image whose class
// token attends to few patches loses many, one that attends broadly keeps them.
//
// Placement: the paper prunes DeiT (12 blocks) in blocks 4, 7, 10 (1-based); scaled to any depth this is
// floor(depth k / 4), k = 1, 2, 3 (0-based: 3, 6, 9 at depth 12; 1, 3, 4 for the 6-block scenes ViT).
// One thresholds file holds the thresholds for a few budgets (the target mean fraction of the unpruned
// blocks' MACs during training); a budget is chosen by its exact value.
//
// With PaPr (z < 1) the same stages run on PaPr's kept tokens: PaPr first, then adaptive pruning in the
// later blocks. The scores there are over fewer tokens (each is larger: they sum to at most 1), so fewer
// tokens fall under a threshold fit on all patches; this is the method's adaptivity, left as it is.
import { attentionPruning } from "./attention_pruning.ts";
import type { TokenReducer } from "./token_reduction.ts";

export const ADAPTIVE_THRESHOLDS_FORMAT = "papr-ts/adaptive-thresholds/1";
export const ADAPTIVE_THRESHOLDS_FILE = "adaptive-thresholds.json";

/** One budget's thresholds, one per pruning block, on the softmax scale of the scores. */
export interface AdaptiveBudget {
  budget: number;
  thresholds: number[];
  validation?: unknown; // what training measured with hard masks (kept as written, for the report)
}

export interface AdaptiveThresholds {
  blocks: number[]; // pruning blocks, ascending, 0-based
  budgets: AdaptiveBudget[];
}

/** The paper's pruning blocks scaled to `depth`: floor(depth k / 4), k = 1, 2, 3, distinct, >= 1. */
export function adaptivePruningBlocks(depth: number): number[] {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`adaptivePruningBlocks: depth ${depth}`);
  const blocks = [...new Set([1, 2, 3].map((k) => Math.floor((depth * k) / 4)))].filter((b) => b >= 1);
  return blocks.length > 0 ? blocks : [0];
}

/** Parses and checks a thresholds file (its text); every problem is named with the file and the field. */
export function parseAdaptiveThresholds(text: string, name: string): AdaptiveThresholds {
  const fail = (what: string): never => {
    throw new Error(`${name}: ${what}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return fail("must be a JSON object");
  const d = doc as Record<string, unknown>;
  if (d.format !== ADAPTIVE_THRESHOLDS_FORMAT)
    fail(`"format" must be "${ADAPTIVE_THRESHOLDS_FORMAT}", got ${JSON.stringify(d.format)}`);
  if (d.headWeighting !== undefined && d.headWeighting !== "outputNorm")
    fail(`"headWeighting" must be "outputNorm", got ${JSON.stringify(d.headWeighting)}`);
  const blocks = d.blocks;
  if (
    !Array.isArray(blocks) ||
    blocks.length === 0 ||
    blocks.length > 64 ||
    !blocks.every((b, i) => Number.isInteger(b) && b >= 0 && (i === 0 || b > blocks[i - 1]))
  )
    fail(`"blocks" must be a non-empty ascending list of block indices, got ${JSON.stringify(blocks)}`);
  const budgets = d.budgets;
  if (!Array.isArray(budgets) || budgets.length === 0 || budgets.length > 64)
    fail(`"budgets" must be a non-empty list`);
  const parsed = (budgets as unknown[]).map((entry, i): AdaptiveBudget => {
    const e = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const where = `budgets[${i}]`;
    if (typeof e.budget !== "number" || !(e.budget > 0 && e.budget <= 1))
      fail(`${where}.budget must be a number in (0, 1], got ${JSON.stringify(e.budget)}`);
    const t = e.thresholds;
    if (
      !Array.isArray(t) ||
      t.length !== (blocks as number[]).length ||
      !t.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1)
    )
      fail(
        `${where}.thresholds must be ${(blocks as number[]).length} numbers in [0, 1] (one per block), got ${JSON.stringify(t)}`,
      );
    return { budget: e.budget as number, thresholds: t as number[], validation: e.validation };
  });
  const seen = new Set<number>();
  for (const b of parsed) {
    if (seen.has(b.budget)) fail(`budget ${b.budget} is given twice`);
    seen.add(b.budget);
  }
  return { blocks: blocks as number[], budgets: parsed };
}

/** The thresholds of one budget (exact value), or an error listing the budgets the file has. */
export function budgetThresholds(file: AdaptiveThresholds, budget: number): AdaptiveBudget {
  const found = file.budgets.find((b) => b.budget === budget);
  if (!found)
    throw new RangeError(
      `adaptive pruning: no thresholds for budget ${budget}; the file has ${file.budgets.map((b) => b.budget).join(", ")}`,
    );
  return found;
}

/** Adaptive pruning with the given thresholds as a TokenReducer (for Papr.predict / runReducedBlocks). */
export function adaptivePruning(blocks: number[], thresholds: number[], label = "adaptive"): TokenReducer {
  if (blocks.length !== thresholds.length)
    throw new RangeError(`adaptivePruning: ${blocks.length} blocks but ${thresholds.length} thresholds`);
  const inner = attentionPruning({
    stages: blocks.map((block, i) => ({ block, threshold: thresholds[i] })),
    headWeighting: "outputNorm",
    minKeep: 1,
  });
  return {
    method: `${label}(${blocks.map((b, i) => `${b}: >= ${thresholds[i].toPrecision(4)}`).join(", ")})`,
    taps: inner.taps,
    reduce: inner.reduce,
    check: inner.check,
  };
}

/** The reducer of one budget of a thresholds file. */
export function adaptivePruningForBudget(file: AdaptiveThresholds, budget: number): TokenReducer {
  return adaptivePruning(file.blocks, budgetThresholds(file, budget).thresholds, `adaptive budget ${budget}`);
}

/**
 * Where each patch left the ViT, from a reduction run's groups after every block (ReductionRun.groupsPerBlock):
 * [numPatches] = -1 kept to the head, -2 never entered the blocks (pruned by PaPr), else the block that dropped it.
 */
export function droppedAtBlock(
  groupsPerBlock: Int32Array[],
  entered: ArrayLike<number>,
  numPrefix: number,
): Int32Array {
  const numPatches = (groupsPerBlock[0]?.length ?? numPrefix) - numPrefix;
  const out = new Int32Array(numPatches).fill(-2);
  for (let j = 0; j < entered.length; j++) {
    const patch = entered[j];
    out[patch] = -1;
    const block = groupsPerBlock.findIndex((groups) => groups[numPrefix + patch] < 0);
    if (block >= 0) out[patch] = block;
  }
  return out;
}
