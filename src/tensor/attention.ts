// Multi-head self-attention, exactly as timm's vision_transformer.Attention:
//   qkv = x @ qkvWeight^T + qkvBias                 [N, 3D] = per token [3, heads, hd]
//   per head h:  attn = softmax((q_h * scale) @ k_h^T)    [N, N], scale = hd^-0.5
//                out_h = attn @ v_h                       [N, hd]
//   merge heads side by side -> [N, D], then proj (linear).
// q, k and v are read in place from the qkv buffer (row stride 3D) by the GEMM of gemm.ts; the qkv
// buffer and one head's float64 [N, N] scores are scratch reused across heads and calls (nothing is
// allocated per head). With a worker pool the heads are split over the threads.
import { Tensor, ShapeError, expectRank, expectShape, shapeStr } from "./tensor.ts";
import { linear } from "./linear.ts";
import { softmaxLane } from "./softmax.ts";
import { addMacs } from "./macs.ts";
import { gemm, gemmArgs } from "./gemm.ts";
import { runAttentionHeads } from "./workers/pool.ts";

export interface AttentionParams {
  qkvWeight: Tensor; // [3D, D]
  qkvBias: Tensor | null; // [3D]
  projWeight: Tensor; // [D, D]
  projBias: Tensor | null; // [D]
  numHeads: number;
  segments?: number[]; // token counts of independent sets stacked in x (summing to N): attention stays
  //                      within each set, the linears run once over all rows. Default: one set of N.
}

/** Checks x [N, D] against params (heads, qkv and proj shapes); returns [N, D]. Shared with attention_variants.ts. */
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
  const op = "multiHeadSelfAttention";
  const [N, D] = checkAttentionParams(op, x, params);
  const { qkvWeight, qkvBias, projWeight, projBias, numHeads } = params;
  const segments = params.segments ?? [N];
  if (segments.some((n) => !Number.isInteger(n) || n < 1) || segments.reduce((a, b) => a + b, 0) !== N) {
    throw new ShapeError(
      op,
      `segments [${segments.join(", ")}] must be positive token counts summing to N = ${N} (x ${shapeStr(x.shape)})`,
    );
  }

  const qkv = qkvScratch(N * 3 * D);
  linear(x, qkvWeight, qkvBias, { out: qkv.reshape([N, 3 * D]) }); // [N, 3D]
  const merged = new Tensor(new Float32Array(N * D), [N, D]); // head h in columns h*hd .. (h+1)*hd-1
  let first = 0;
  for (const n of segments) {
    addMacs(2 * n * n * D); // q @ k^T and attn @ v, all heads
    runAttentionHeads(
      qkv.data.subarray(3 * D * first, 3 * D * (first + n)),
      merged.data.subarray(D * first, D * (first + n)),
      n,
      D,
      numHeads,
    );
    first += n;
  }
  return linear(merged, projWeight, projBias);
}

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

/** The attention loop the GEMM version replaced, one query row at a time (kept as the reference). */
export function attentionHeadsReference(
  qkv: Float32Array,
  merged: Float32Array,
  N: number,
  D: number,
  numHeads: number,
): void {
  const headDim = D / numHeads;
  const scale = headDim ** -0.5;
  const rowStride = 3 * D;
  const scores = new Float64Array(N);
  const exps = new Float64Array(N);
  const sums = new Float64Array(headDim);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < N; i++) {
      const q = i * rowStride + h * headDim;
      for (let j = 0; j < N; j++) {
        const k = j * rowStride + D + h * headDim;
        let s = 0;
        for (let t = 0; t < headDim; t++) s += qkv[q + t] * qkv[k + t];
        scores[j] = s * scale;
      }
      softmaxLane(scores, scores, 0, 1, N, exps);
      sums.fill(0);
      for (let j = 0; j < N; j++) {
        const v = j * rowStride + 2 * D + h * headDim;
        for (let t = 0; t < headDim; t++) sums[t] += scores[j] * qkv[v + t];
      }
      merged.set(sums, i * D + h * headDim);
    }
  }
}
