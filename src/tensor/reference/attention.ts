// Multi-head attention over a qkv buffer as its definition, one query at a time: what the GEMM
// version (../attention.ts attentionHeadsInto) must equal within float rounding.
//
//   qkv [N, 3D] seen as [N, 3, H, hd]: q_h = qkv[:, 0, h, :], k_h = qkv[:, 1, h, :], v_h = qkv[:, 2, h, :]
//   per head h and query i:  p = softmax(scale * k_h @ q_h[i]),  scale = hd^-0.5
//                            merged[i, h, :] = p @ v_h            (merged [N, D] seen as [N, H, hd])
import ndarray from "ndarray";
import ops from "ndarray-ops";
import type { HeadsKernel } from "../attention.ts";

export const attentionHeadsReference: HeadsKernel = (qkv, merged, N, D, numHeads) => {
  const headDim = D / numHeads;
  const scale = headDim ** -0.5;
  const QKV = ndarray(qkv, [N, 3, numHeads, headDim]);
  const out = ndarray(merged, [N, numHeads, headDim]);
  const p = ndarray(new Float64Array(N), [N]);
  for (let h = 0; h < numHeads; h++) {
    const [q, k, v] = [0, 1, 2].map((part) => QKV.pick(null, part, h, null)); // each [N, hd]
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) p.set(j, scale * dot(q.pick(i, null), k.pick(j, null)));
      softmaxInPlace(p);
      for (let t = 0; t < headDim; t++) out.set(i, h, t, dot(p, v.pick(null, t)));
    }
  }
};

/** sum_t a[t] * b[t] over two 1-D views of the same length, in float64. */
function dot(a: ndarray.NdArray, b: ndarray.NdArray): number {
  let sum = 0;
  for (let t = 0; t < a.shape[0]; t++) sum += a.get(t) * b.get(t);
  return sum;
}

/** p <- exp(p - max p) / sum exp(p - max p) */
function softmaxInPlace(p: ndarray.NdArray): void {
  ops.subseq(p, ops.sup(p));
  ops.expeq(p);
  ops.divseq(p, ops.sum(p));
}
