// Evaluation speed-up: several independent token sets through a ViT's blocks at once. The per-token
// layers (norms, linears, MLP) run once over the stacked rows (larger, faster GEMMs); attention stays
// within each set. Each set's result equals vit.blocks(set) exactly: a GEMM computes every row on its
// own, and the attention heads of a set see only that set's rows.
import type { Vit } from "../models/vit.ts";
import { checkAttentionParams, runAttentionHeads, type AttentionParams } from "../tensor/attention.ts";
import { linear } from "../tensor/linear.ts";
import { concat } from "../tensor/shape.ts";
import { ShapeError, Tensor } from "../tensor/tensor.ts";

/** vit.blocks on each of `sets` ([n_i, D] each), computed together. */
export function blocksBatch(vit: Vit, sets: Tensor[]): Tensor[] {
  const D = vit.config.embedDim;
  const segments = sets.map((t) => {
    if (t.rank !== 2 || t.shape[1] !== D || t.shape[0] < 1)
      throw new ShapeError("blocksBatch", `each set must be [n, ${D}], got [${t.shape.join(", ")}]`);
    return t.shape[0];
  });
  const withinSets = (x: Tensor, params: AttentionParams) => segmentedAttention(x, params, segments);
  let x = concat(sets, 0); // [sum of n_i, D]
  for (let i = 0; i < vit.numBlocks; i++) x = vit.mlpHalf(i, vit.attentionHalf(i, x, withinSets));
  let first = 0;
  return segments.map((n) => {
    first += n;
    return new Tensor(x.data.slice((first - n) * D, first * D), [n, D]);
  });
}

/**
 * multiHeadSelfAttention over stacked token sets x [N, D] (N = sum of segments): qkv and proj over all
 * rows at once, the attention of each set over its own rows only.
 */
export function segmentedAttention(x: Tensor, params: AttentionParams, segments: number[]): Tensor {
  const [N, D] = checkAttentionParams("segmentedAttention", x, params);
  if (segments.some((n) => !Number.isInteger(n) || n < 1) || segments.reduce((a, b) => a + b, 0) !== N) {
    throw new ShapeError(
      "segmentedAttention",
      `segments [${segments.join(", ")}] must be positive token counts summing to N = ${N} (x [${x.shape.join(", ")}])`,
    );
  }
  const qkv = linear(x, params.qkvWeight, params.qkvBias).data; // [N, 3D]
  const merged = new Float32Array(N * D);
  let first = 0;
  for (const n of segments) {
    runAttentionHeads(
      qkv.subarray(3 * D * first, 3 * D * (first + n)),
      merged.subarray(D * first, D * (first + n)),
      n,
      D,
      params.numHeads,
    );
    first += n;
  }
  return linear(new Tensor(merged, [N, D]), params.projWeight, params.projBias);
}
