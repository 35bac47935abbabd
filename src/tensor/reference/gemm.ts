// The matrix product as its definition: what the fast GEMM (../gemm.ts) must equal, exactly.
//
//   C[i, j] = act( sum_k A[i, k] * B[k, j] + bias )     i in [rowStart, rowEnd), j in [colStart, colEnd)
//
// The operands are the fast kernel's strided views (see `Gemm`), read here through ndarray views: a "nt"
// B (rows of a [N, K] weight, PyTorch's layout) is the same memory as a [K, N] matrix seen transposed.
// Sums run in float64 in the order k = 0, 1, ..., K-1, the order the fast kernel keeps, so the tests
// compare the two with ===.
import ndarray from "ndarray";
import { activationCode, applyActivation, type Gemm } from "../gemm.ts";
import type { LinearKernel } from "../linear.ts";

export function gemmReference(g: Gemm, rowStart = 0, rowEnd = g.M, colStart = 0, colEnd = g.N): void {
  const A = ndarray(g.a, [g.M, g.K], [g.lda, 1], g.aOffset);
  const B =
    g.bLayout === "nt"
      ? ndarray(g.b, [g.N, g.K], [g.ldb, 1], g.bOffset).transpose(1, 0) // [K, N] view of the [N, K] rows
      : ndarray(g.b, [g.K, g.N], [g.ldb, 1], g.bOffset);
  const C = ndarray(g.c, [g.M, g.N], [g.ldc, 1], g.cOffset);
  const act = activationCode(g.activation);
  for (let i = rowStart; i < rowEnd; i++) {
    for (let j = colStart; j < colEnd; j++) {
      let sum = 0;
      for (let k = 0; k < g.K; k++) sum += A.get(i, k) * B.get(k, j);
      if (g.bias !== null) sum += g.bias[g.biasOffset + (g.biasPerRow ? i : j)];
      C.set(i, j, act === 0 ? sum : applyActivation(Math.fround(sum), act));
    }
  }
}

/** out[rows, outF] = x[rows, inF] @ weight[outF, inF]^T + bias: a linear layer as dot products of rows. */
export const linearReference: LinearKernel = (x, weight, bias, out, rows, inF, outF) => {
  const X = ndarray(x, [rows, inF]);
  const W = ndarray(weight, [outF, inF]);
  const Y = ndarray(out, [rows, outF]);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let sum = 0;
      for (let k = 0; k < inF; k++) sum += X.get(r, k) * W.get(o, k);
      Y.set(r, o, sum + (bias === null ? 0 : bias[o]));
    }
  }
};
