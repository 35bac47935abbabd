// Matrix products: matmul, batchedMatmul, and linear (PyTorch's nn.Linear).
//
// One kernel does the work: `linearInto`, dot products of rows of x with rows of
// weight (both contiguous), in 4x2 register blocks (~1.4x faster than 4x1 here).
// Sums run in float64 (plain JS numbers) and are stored as float32 once at the
// end. matmul transposes b once ([K,N] -> [N,K], O(K*N)), then is a linear without bias.
import { Tensor, ShapeError, expectRank, shapeStr, sizeOf } from "./tensor.ts";
import { expectMinRank } from "./checks.ts";
import { addMacs } from "./macs.ts";

/** a[M,K] @ b[K,N] -> [M,N] */
export function matmul(a: Tensor, b: Tensor): Tensor {
  expectRank("matmul", "a", a, 2);
  expectRank("matmul", "b", b, 2);
  const [M, K] = a.shape;
  const [K2, N] = b.shape;
  if (K !== K2) {
    throw new ShapeError("matmul", `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: inner dimensions ${K} and ${K2} differ`);
  }
  addMacs(M * K * N);
  const out = new Float32Array(M * N);
  linearInto(a.data, transposed(b.data, 0, K, N), null, out, M, K, N);
  return new Tensor(out, [M, N]);
}

/** a[B,M,K] @ b[B,K,N] -> [B,M,N] (one matmul per batch entry; no broadcasting of B). */
export function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  expectRank("batchedMatmul", "a", a, 3);
  expectRank("batchedMatmul", "b", b, 3);
  const [B, M, K] = a.shape;
  const [B2, K2, N] = b.shape;
  if (B !== B2) {
    throw new ShapeError("batchedMatmul", `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: batch sizes ${B} and ${B2} differ`);
  }
  if (K !== K2) {
    throw new ShapeError("batchedMatmul", `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: inner dimensions ${K} and ${K2} differ`);
  }
  addMacs(B * M * K * N);
  const out = new Float32Array(B * M * N);
  for (let batch = 0; batch < B; batch++) {
    const aBatch = a.data.subarray(batch * M * K, (batch + 1) * M * K);
    const outBatch = out.subarray(batch * M * N, (batch + 1) * M * N);
    linearInto(aBatch, transposed(b.data, batch * K * N, K, N), null, outBatch, M, K, N);
  }
  return new Tensor(out, [B, M, N]);
}

/** x[..., in] @ weight[out, in]^T + bias[out] -> [..., out]  (PyTorch weight layout). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  expectMinRank("linear", "x", x, 1);
  expectRank("linear", "weight", weight, 2);
  const [outFeatures, inFeatures] = weight.shape;
  const xIn = x.shape[x.rank - 1];
  if (xIn !== inFeatures) {
    throw new ShapeError(
      "linear",
      `x ${shapeStr(x.shape)} and weight ${shapeStr(weight.shape)}: x's last dimension ${xIn} differs from weight's in-features ${inFeatures}`,
    );
  }
  if (bias !== null) {
    expectRank("linear", "bias", bias, 1);
    if (bias.shape[0] !== outFeatures) {
      throw new ShapeError("linear", `bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)}: expected [${outFeatures}]`);
    }
  }
  const rows = sizeOf(x.shape.slice(0, -1));
  addMacs(rows * inFeatures * outFeatures);
  const out = new Float32Array(rows * outFeatures);
  linearInto(x.data, weight.data, bias === null ? null : bias.data, out, rows, inFeatures, outFeatures);
  return new Tensor(out, [...x.shape.slice(0, -1), outFeatures]);
}

/** b[K,N] (at offset) transposed into a new [N,K] buffer, so matmul can use linear's row-by-row dot products. */
function transposed(b: Float32Array, offset: number, K: number, N: number): Float32Array {
  const bt = new Float32Array(N * K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < N; j++) bt[j * K + k] = b[offset + k * N + j];
  }
  return bt;
}

/**
 * out[rows, outF] = x[rows, inF] @ weight[outF, inF]^T + bias.
 * Register block: 4 rows of x against 2 rows of weight, 8 sums at once, so each
 * loaded value is used 2 or 4 times. Leftover rows / the odd last output use `dot`.
 */
export function linearInto(
  x: Float32Array, weight: Float32Array, bias: Float32Array | null, out: Float32Array,
  rows: number, inF: number, outF: number,
): void {
  const biasOf = (o: number) => (bias === null ? 0 : bias[o]);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = r * inF, x1 = x0 + inF, x2 = x1 + inF, x3 = x2 + inF;
    let o = 0;
    for (; o + 2 <= outF; o += 2) {
      const wa = o * inF, wb = wa + inF;
      let s0a = 0, s1a = 0, s2a = 0, s3a = 0; // rows r..r+3 with weight row o
      let s0b = 0, s1b = 0, s2b = 0, s3b = 0; // rows r..r+3 with weight row o+1
      for (let k = 0; k < inF; k++) {
        const a = weight[wa + k], b = weight[wb + k];
        const v0 = x[x0 + k], v1 = x[x1 + k], v2 = x[x2 + k], v3 = x[x3 + k];
        s0a += v0 * a; s1a += v1 * a; s2a += v2 * a; s3a += v3 * a;
        s0b += v0 * b; s1b += v1 * b; s2b += v2 * b; s3b += v3 * b;
      }
      const ba = biasOf(o), bb = biasOf(o + 1);
      out[r * outF + o] = s0a + ba; out[r * outF + o + 1] = s0b + bb;
      out[(r + 1) * outF + o] = s1a + ba; out[(r + 1) * outF + o + 1] = s1b + bb;
      out[(r + 2) * outF + o] = s2a + ba; out[(r + 2) * outF + o + 1] = s2b + bb;
      out[(r + 3) * outF + o] = s3a + ba; out[(r + 3) * outF + o + 1] = s3b + bb;
    }
    for (; o < outF; o++) { // odd last output
      for (let i = r; i < r + 4; i++) out[i * outF + o] = dot(x, i * inF, weight, o * inF, inF) + biasOf(o);
    }
  }
  for (; r < rows; r++) { // the last rows % 4 rows, one at a time
    for (let o = 0; o < outF; o++) out[r * outF + o] = dot(x, r * inF, weight, o * inF, inF) + biasOf(o);
  }
}

/** sum_k a[aOffset + k] * b[bOffset + k], k < n, in float64. */
function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[aOffset + k] * b[bOffset + k];
  return s;
}
