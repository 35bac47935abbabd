// Multi-head self-attention with taps, for the token-reduction methods (src/papr/tome.ts,
// src/papr/attention_pruning.ts). The same computation as multiHeadSelfAttention (attention.ts):
//   qkv = x @ qkvWeight^T + qkvBias                            [N, 3D] = per token [3, heads, hd]
//   per head h:  attn_h = softmax(scale * q_h @ k_h^T + bias)   [N, N], scale = hd^-0.5
//                out_h  = attn_h @ v_h                           [N, hd]
//   heads side by side -> [N, D] -> proj
// plus:
//   keyBias [N]      added to the logit of key j for every query and head (ToMe's proportional
//                    attention: bias_j = log(size_j), so a token standing for s patches counts s times)
//   keys: true       also return the keys averaged over the heads [N, hd] (ToMe's matching metric)
//   classRow: true   also return row 0 of every head's attention [H, N] (the class token's attention
//                    after softmax) and the class token's per-head output out_h[0] [H, hd]
import { Tensor, ShapeError, shapeStr } from "./tensor.ts";
import { linear } from "./linear.ts";
import { softmaxLane } from "./softmax.ts";
import { addMacs } from "./macs.ts";
import { checkAttentionParams, type AttentionParams } from "./attention.ts";

export interface AttentionTaps {
  keyBias?: ArrayLike<number> | null; // [N]
  keys?: boolean;
  classRow?: boolean;
}

export interface AttentionOutputs {
  output: Tensor; // [N, D]
  keyMean: Tensor | null; // [N, hd] when taps.keys
  classAttention: Tensor | null; // [H, N] when taps.classRow
  classHeadOutput: Tensor | null; // [H, hd] when taps.classRow
}

/** x[N, D] -> { output [N, D], and the tapped intermediates }. */
export function multiHeadSelfAttentionEx(
  x: Tensor,
  params: AttentionParams,
  taps: AttentionTaps = {},
): AttentionOutputs {
  const op = "multiHeadSelfAttentionEx";
  const [N, D] = checkAttentionParams(op, x, params);
  const { qkvWeight, qkvBias, projWeight, projBias, numHeads: H } = params;
  if (params.segments && params.segments.length > 1) {
    throw new ShapeError(
      op,
      `segments [${params.segments.join(", ")}]: the tapped attention runs on one token set only`,
    );
  }
  const keyBias = taps.keyBias ?? null;
  if (keyBias !== null && keyBias.length !== N) {
    throw new ShapeError(
      op,
      `keyBias must have one entry per token [${N}] (x ${shapeStr(x.shape)}), got [${keyBias.length}]`,
    );
  }
  if (taps.classRow && N < 1) throw new ShapeError(op, "classRow needs at least one token");

  const hd = D / H;
  const scale = hd ** -0.5;
  const qkv = linear(x, qkvWeight, qkvBias).data; // [N, 3D]
  addMacs(2 * N * N * D); // q @ k^T and attn @ v, all heads
  const rowStride = 3 * D;
  const merged = new Float32Array(N * D);
  const scores = new Float64Array(N);
  const exps = new Float64Array(N);
  const sums = new Float64Array(hd);
  const classAttention = taps.classRow ? new Float32Array(H * N) : null;
  const classHeadOutput = taps.classRow ? new Float32Array(H * hd) : null;
  for (let h = 0; h < H; h++) {
    const qCol = h * hd;
    const kCol = D + h * hd;
    const vCol = 2 * D + h * hd;
    for (let i = 0; i < N; i++) {
      const q = i * rowStride + qCol;
      for (let j = 0; j < N; j++) {
        const k = j * rowStride + kCol;
        let s = 0;
        for (let t = 0; t < hd; t++) s += qkv[q + t] * qkv[k + t];
        scores[j] = s * scale + (keyBias === null ? 0 : keyBias[j]);
      }
      softmaxLane(scores, scores, 0, 1, N, exps);
      sums.fill(0);
      for (let j = 0; j < N; j++) {
        const p = scores[j];
        const v = j * rowStride + vCol;
        for (let t = 0; t < hd; t++) sums[t] += p * qkv[v + t];
      }
      merged.set(sums, i * D + h * hd);
      if (i === 0 && classAttention && classHeadOutput) {
        classAttention.set(scores, h * N);
        classHeadOutput.set(sums, h * hd);
      }
    }
  }
  return {
    output: linear(new Tensor(merged, [N, D]), projWeight, projBias),
    keyMean: taps.keys ? keysMeanOverHeads(qkv, N, D, H) : null,
    classAttention: classAttention && new Tensor(classAttention, [H, N]),
    classHeadOutput: classHeadOutput && new Tensor(classHeadOutput, [H, hd]),
  };
}

/** The keys of qkv [N, 3D] averaged over the H heads -> [N, hd]. */
function keysMeanOverHeads(qkv: Float32Array, N: number, D: number, H: number): Tensor {
  const hd = D / H;
  const out = new Float32Array(N * hd);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < hd; t++) {
      let s = 0;
      for (let h = 0; h < H; h++) s += qkv[i * 3 * D + D + h * hd + t];
      out[i * hd + t] = s / H;
    }
  }
  return new Tensor(out, [N, hd]);
}
