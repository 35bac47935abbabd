// Multi-head self-attention, exactly as timm's vision_transformer.Attention:
//   qkv = x @ qkvWeight^T + qkvBias                 [N, 3D] = per token [3, heads, hd]
//   per head h:  attn = softmax((q_h * scale) @ k_h^T)    [N, N], scale = hd^-0.5
//                out_h = attn @ v_h                       [N, hd]
//   merge heads side by side -> [N, D], then proj (linear).
// q, k and v are read in place from the qkv buffer (row stride 3D); one query row
// is done at a time, so the only scratch is a row of N scores and a row of hd sums.
import { Tensor, ShapeError, expectRank, expectShape, shapeStr } from "./tensor.ts";
import { linear } from "./linear.ts";
import { softmaxLane } from "./softmax.ts";
import { addMacs } from "./macs.ts";

export interface AttentionParams {
  qkvWeight: Tensor; // [3D, D]
  qkvBias: Tensor | null; // [3D]
  projWeight: Tensor; // [D, D]
  projBias: Tensor | null; // [D]
  numHeads: number;
}

/** x[N, D] -> [N, D] */
export function multiHeadSelfAttention(x: Tensor, params: AttentionParams): Tensor {
  const op = "multiHeadSelfAttention";
  expectRank(op, "x", x, 2);
  const [N, D] = x.shape;
  const { qkvWeight, qkvBias, projWeight, projBias, numHeads } = params;
  if (!Number.isInteger(numHeads) || numHeads < 1 || D % numHeads !== 0) {
    throw new ShapeError(op, `numHeads ${numHeads} must be a positive integer dividing D = ${D} (x ${shapeStr(x.shape)})`);
  }
  expectShape(op, "qkvWeight", qkvWeight, [3 * D, D]);
  if (qkvBias !== null) expectShape(op, "qkvBias", qkvBias, [3 * D]);
  expectShape(op, "projWeight", projWeight, [D, D]);
  if (projBias !== null) expectShape(op, "projBias", projBias, [D]);

  const headDim = D / numHeads;
  const scale = headDim ** -0.5;
  const qkv = linear(x, qkvWeight, qkvBias).data; // [N, 3D]
  addMacs(2 * N * N * D); // q @ k^T and attn @ v, all heads
  const rowStride = 3 * D;
  const merged = new Float32Array(N * D); // [N, D]: head h in columns h*hd .. (h+1)*hd-1
  const scores = new Float64Array(N); // one query row of attention
  const exps = new Float64Array(N); // softmax scratch
  const sums = new Float64Array(headDim); // one output row of a head
  for (let h = 0; h < numHeads; h++) {
    const qCol = h * headDim;
    const kCol = D + h * headDim;
    const vCol = 2 * D + h * headDim;
    for (let i = 0; i < N; i++) {
      const q = i * rowStride + qCol;
      for (let j = 0; j < N; j++) {
        const k = j * rowStride + kCol;
        let s = 0;
        for (let t = 0; t < headDim; t++) s += qkv[q + t] * qkv[k + t];
        scores[j] = s * scale;
      }
      softmaxLane(scores, scores, 0, 1, N, exps);
      sums.fill(0);
      for (let j = 0; j < N; j++) {
        const p = scores[j];
        const v = j * rowStride + vCol;
        for (let t = 0; t < headDim; t++) sums[t] += p * qkv[v + t];
      }
      merged.set(sums, i * D + h * headDim);
    }
  }
  return linear(new Tensor(merged, [N, D]), projWeight, projBias);
}
