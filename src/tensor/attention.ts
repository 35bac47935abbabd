// Multi-head self-attention, exactly as timm's vision_transformer.Attention:
//   qkv = x @ qkvWeight^T + qkvBias                 [N, 3D] = per token [3, heads, hd]
//   per head h:  attn = softmax((q_h * scale) @ k_h^T)    [N, N], scale = hd^-0.5
//                out_h = attn @ v_h                       [N, hd]
//   merge heads side by side -> [N, D], then proj (linear).
// q, k and v are read in place from the qkv buffer (row stride 3D) by the GEMM of gemm.ts; the qkv
// buffer and one head's float64 [N, N] scores are scratch reused across heads and calls (nothing is
// allocated per head). With threads (parallel.ts) the heads are split over them.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, expectShape, shapeStr } from "./tensor.ts";
import { linear } from "./linear.ts";
import { softmaxLane } from "./softmax.ts";
import { addMacs } from "./mac_counter.ts";
import { gemm, gemmArgs } from "./gemm.ts";

/** Every head of attention over qkv [N, 3D] (per token [q | k | v]) into merged [N, D]. */
export type HeadsKernel = (qkv: Float32Array, merged: Float32Array, N: number, D: number, numHeads: number) => void;

// attentionHeadsInto over all heads; setThreads (parallel.ts) registers a runner that splits the heads.
let headsRunner: HeadsKernel = (qkv, merged, N, D, numHeads) => attentionHeadsInto(qkv, merged, N, D, numHeads);

/** Replaces the runner of the attention heads (null: back to attentionHeadsInto on the calling thread). */
export function registerAttentionHeadsRunner(runner: HeadsKernel | null): void {
  headsRunner = runner ?? ((qkv, merged, N, D, numHeads) => attentionHeadsInto(qkv, merged, N, D, numHeads));
}

export interface AttentionParams {
  qkvWeight: Tensor; // [3D, D]
  qkvBias: Tensor | null; // [3D]
  projWeight: Tensor; // [D, D]
  projBias: Tensor | null; // [D]
  numHeads: number;
}

/** Checks x [N, D] against params (heads, qkv and proj shapes); returns [N, D]. Shared with the attention variants. */
export function checkAttentionParams(op: string, x: Tensor, params: AttentionParams): [number, number] {
  expectRank(op, "x", x, 2);
  const [N, D] = x.shape;
  const { qkvWeight, qkvBias, projWeight, projBias, numHeads } = params;
  if (!Number.isInteger(numHeads) || numHeads < 1 || D % numHeads !== 0) {
    throw new ShapeError(
      op,
      `numHeads ${numHeads} must be a positive integer dividing D = ${D} (x ${shapeStr(x.shape)})`,
    );
  }
  expectShape(op, "qkvWeight", qkvWeight, [3 * D, D]);
  if (qkvBias !== null) expectShape(op, "qkvBias", qkvBias, [3 * D]);
  expectShape(op, "projWeight", projWeight, [D, D]);
  if (projBias !== null) expectShape(op, "projBias", projBias, [D]);
  return [N, D];
}

/** x[N, D] -> [N, D] */
export function multiHeadSelfAttention(x: Tensor, params: AttentionParams): Tensor {
  const [N, D] = checkAttentionParams("multiHeadSelfAttention", x, params);
  const { qkvWeight, qkvBias, projWeight, projBias, numHeads } = params;
  const qkv = qkvScratch(N * 3 * D);
  linear(x, qkvWeight, qkvBias, { out: qkv.reshape([N, 3 * D]) }); // [N, 3D]
  const merged = new Tensor(allocFloat32(N * D), [N, D]); // head h in columns h*hd .. (h+1)*hd-1
  runAttentionHeads(qkv.data, merged.data, N, D, numHeads);
  return linear(merged, projWeight, projBias);
}

/** Every head of attention over qkv [N, 3D] into merged [N, D] (split over threads after setThreads). */
export const runAttentionHeads: HeadsKernel = (qkv, merged, N, D, numHeads) => {
  addMacs(2 * N * N * D); // q @ k^T and attn @ v, all heads
  headsRunner(qkv, merged, N, D, numHeads);
};

let qkvBuffer = new Float32Array(0); // [N, 3D], reused across calls

function qkvScratch(size: number): Tensor {
  if (qkvBuffer.length < size) qkvBuffer = new Float32Array(size);
  return new Tensor(qkvBuffer.subarray(0, size), [size]);
}

let scoreBuffer = new Float64Array(0); // one head's [N, N] scores, reused across heads and calls
const softmaxScratch = { exps: new Float64Array(0) };

/**
 * Heads [headStart, headEnd) of attention over qkv[N, 3D] (per token [q | k | v], head h at columns
 * h*hd of each): per head two GEMMs over strided views of qkv and one float64 [N, N] score buffer,
 *   scores = q_h @ k_h^T;  each row: softmax(scores * scale);  merged[:, h*hd..] = scores @ v_h.
 */
export function attentionHeadsInto(
  qkv: Float32Array,
  merged: Float32Array,
  N: number,
  D: number,
  numHeads: number,
  headStart = 0,
  headEnd = numHeads,
): void {
  const headDim = D / numHeads;
  const scale = headDim ** -0.5;
  if (scoreBuffer.length < N * N) scoreBuffer = new Float64Array(N * N);
  if (softmaxScratch.exps.length < N) softmaxScratch.exps = new Float64Array(N);
  const scores = scoreBuffer;
  for (let h = headStart; h < headEnd; h++) {
    gemm(
      gemmArgs({
        M: N,
        N,
        K: headDim,
        a: qkv,
        aOffset: h * headDim,
        lda: 3 * D,
        b: qkv,
        bOffset: D + h * headDim,
        ldb: 3 * D,
        bLayout: "nt",
        c: scores,
      }),
    );
    for (let i = 0; i < N; i++) {
      const row = i * N;
      for (let j = row; j < row + N; j++) scores[j] *= scale;
      softmaxLane(scores, scores, row, 1, N, softmaxScratch.exps);
    }
    gemm(
      gemmArgs({
        M: N,
        N: headDim,
        K: N,
        a: scores,
        b: qkv,
        bOffset: 2 * D + h * headDim,
        ldb: 3 * D,
        bLayout: "nn",
        c: merged,
        cOffset: h * headDim,
        ldc: D,
      }),
    );
  }
}
