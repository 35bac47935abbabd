// (Shifted-)window multi-head self-attention with relative position bias, as in the Swin Transformer
// (Liu et al. 2021, section 3.2) and torchvision's shifted_window_attention, for one [H, W, C] map:
//   1. cyclic shift: the map is rolled by (-shift, -shift)
//   2. partition into (H / w) x (W / w) windows of N = w * w tokens, windows and tokens row-major
//   3. per window, per head h:  softmax(q_h k_h^T * scale + bias[h] + mask) v_h,  scale = hd^-0.5
//      bias [heads, N, N] = the relative position bias (gathered from the model's table);
//      mask = -100 between two tokens that came from different regions of the unrolled map (shifted
//      windows only: the rolled-in border strips must not attend across the wrap), else 0
//   4. heads side by side -> proj (linear), windows merged back and the roll undone.
// Steps 1, 2 and 4's reordering are one gather (`windowOrder`) and one scatter of the token rows.
// q, k, v are read in place from the qkv buffer by the GEMM of gemm.ts; scores are float64.
import { addMacs } from "./mac_counter.ts";
import { gemm, gemmArgs } from "./gemm.ts";
import { linear } from "./linear.ts";
import { gatherRows } from "./shape.ts";
import { softmaxLane } from "./softmax.ts";
import { Tensor, ShapeError, expectRank, expectShape, shapeStr } from "./tensor.ts";
import { checkAttentionParams, type AttentionParams } from "./attention.ts";

export interface WindowAttentionParams extends AttentionParams {
  windowSize: number; // w: windows of w x w tokens
  shiftSize: number; // 0 (W-MSA) or, typically, w / 2 rounded down (SW-MSA)
  relativePositionBias: Tensor; // [numHeads, N, N], N = w * w
}

/** Added to the scores of token pairs from different regions of a shifted window (torchvision's and timm's value). */
export const SHIFTED_WINDOW_MASK = -100;

/**
 * Row r of the windowed token order -> the map position (row-major, y * W + x) it reads: window
 * r / N (row-major over the windows), token r % N inside it (row-major), after rolling the map by -shift.
 */
export function windowOrder(H: number, W: number, window: number, shift: number): Int32Array {
  const order = new Int32Array(H * W);
  const windowsPerRow = W / window;
  const N = window * window;
  for (let r = 0; r < H * W; r++) {
    const win = Math.floor(r / N);
    const t = r % N;
    const y = Math.floor(win / windowsPerRow) * window + Math.floor(t / window); // in the rolled map
    const x = (win % windowsPerRow) * window + (t % window);
    order[r] = ((y + shift) % H) * W + ((x + shift) % W);
  }
  return order;
}

/**
 * Region label of every row of the windowed order (shifted windows): the rolled map is cut at
 * size - window and size - shift along each axis into 3 x 3 regions; tokens of a window attend only
 * within their region. Row r's label = 3 * band(y) + band(x) of its position in the rolled map.
 */
function regionLabels(H: number, W: number, window: number, shift: number): Int32Array {
  const band = (v: number, size: number) => (v < size - window ? 0 : v < size - shift ? 1 : 2);
  const labels = new Int32Array(H * W);
  const windowsPerRow = W / window;
  const N = window * window;
  for (let r = 0; r < H * W; r++) {
    const win = Math.floor(r / N);
    const t = r % N;
    const y = Math.floor(win / windowsPerRow) * window + Math.floor(t / window);
    const x = (win % windowsPerRow) * window + (t % window);
    labels[r] = 3 * band(y, H) + band(x, W);
  }
  return labels;
}

/** x[H, W, C] (normed tokens as a map) -> [H, W, C]. H and W must be multiples of the window size. */
export function windowAttention(x: Tensor, params: WindowAttentionParams): Tensor {
  const op = "windowAttention";
  expectRank(op, "x", x, 3);
  const [H, W, C] = x.shape;
  const { windowSize: w, shiftSize: shift, numHeads } = params;
  if (!Number.isInteger(w) || w < 1 || H % w !== 0 || W % w !== 0) {
    throw new ShapeError(op, `the map ${H}x${W} (x ${shapeStr(x.shape)}) is not a whole number of ${w}x${w} windows`);
  }
  if (!Number.isInteger(shift) || shift < 0 || shift >= w) {
    throw new ShapeError(op, `shiftSize must be an integer in [0, ${w}), got ${shift}`);
  }
  checkAttentionParams(op, x.reshape([H * W, C]), params);
  const N = w * w;
  expectShape(op, "relativePositionBias", params.relativePositionBias, [numHeads, N, N]);

  const order = windowOrder(H, W, w, shift);
  const windowed = gatherRows(x.reshape([H * W, C]), order); // [H*W, C], window after window
  const qkv = linear(windowed, params.qkvWeight, params.qkvBias).data; // [H*W, 3C]
  const merged = new Float32Array(H * W * C); // head h in columns h*hd .. (h+1)*hd-1
  const labels = shift > 0 ? regionLabels(H, W, w, shift) : null;
  addMacs(2 * H * W * N * C); // q @ k^T and attn @ v, every window and head
  windowHeadsInto(qkv, merged, H * W, C, numHeads, N, params.relativePositionBias.data, labels);
  const projected = linear(new Tensor(merged, [H * W, C]), params.projWeight, params.projBias).data;

  const out = new Float32Array(H * W * C); // windows merged back, roll undone
  for (let r = 0; r < H * W; r++) out.set(projected.subarray(r * C, (r + 1) * C), order[r] * C);
  return new Tensor(out, [H, W, C]);
}

let scoreBuffer = new Float64Array(0); // one window-head's [N, N] scores
let expBuffer = new Float64Array(0);

/** Every window (N consecutive rows of qkv [rows, 3C]) and head of attention into merged [rows, C]. */
function windowHeadsInto(
  qkv: Float32Array,
  merged: Float32Array,
  rows: number,
  C: number,
  numHeads: number,
  N: number,
  bias: Float32Array, // [numHeads, N, N]
  labels: Int32Array | null, // region of each row (shifted windows) or null
): void {
  const headDim = C / numHeads;
  const scale = headDim ** -0.5;
  if (scoreBuffer.length < N * N) scoreBuffer = new Float64Array(N * N);
  if (expBuffer.length < N) expBuffer = new Float64Array(N);
  const scores = scoreBuffer;
  for (let start = 0; start < rows; start += N) {
    for (let h = 0; h < numHeads; h++) {
      gemm(
        gemmArgs({
          M: N,
          N,
          K: headDim,
          a: qkv,
          aOffset: start * 3 * C + h * headDim,
          lda: 3 * C,
          b: qkv,
          bOffset: start * 3 * C + C + h * headDim,
          ldb: 3 * C,
          bLayout: "nt",
          c: scores,
        }),
      ); // q_h @ k_h^T
      const biasH = h * N * N;
      for (let i = 0; i < N; i++) {
        const row = i * N;
        for (let j = 0; j < N; j++) {
          let s = scores[row + j] * scale + bias[biasH + row + j];
          if (labels !== null && labels[start + i] !== labels[start + j]) s += SHIFTED_WINDOW_MASK;
          scores[row + j] = s;
        }
        softmaxLane(scores, scores, row, 1, N, expBuffer);
      }
      gemm(
        gemmArgs({
          M: N,
          N: headDim,
          K: N,
          a: scores,
          b: qkv,
          bOffset: start * 3 * C + 2 * C + h * headDim,
          ldb: 3 * C,
          bLayout: "nn",
          c: merged,
          cOffset: start * C + h * headDim,
          ldc: C,
        }),
      ); // attn @ v_h
    }
  }
}
