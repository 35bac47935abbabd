// Matrix products: matmul, batchedMatmul, and linear (PyTorch's nn.Linear).
//
// All three are one call of the packed, register-blocked GEMM in gemm.ts (through runGemm, which
// splits the rows over worker threads after setThreads): matmul reads b[K,N] in place ("nn"),
// linear reads the weight rows [out, in] in place ("nt"). Sums run in float64 and are stored as
// float32 once at the end. Their definition as plain loops: reference/gemm.ts.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr, sizeOf } from "./tensor.ts";
import { expectMinRank } from "./checks.ts";
import { addMacs } from "./mac_counter.ts";
import { gemmArgs, runGemm, type FusedActivation } from "./gemm.ts";

export interface LinearOptions {
  activation?: FusedActivation; // applied to each output as it is stored (default "none")
  out?: Tensor; // written in place instead of allocating (shape [..., out]); returned
}

/** a[M,K] @ b[K,N] -> [M,N] */
export function matmul(a: Tensor, b: Tensor): Tensor {
  expectRank("matmul", "a", a, 2);
  expectRank("matmul", "b", b, 2);
  const [M, K] = a.shape;
  const [K2, N] = b.shape;
  if (K !== K2) {
    throw new ShapeError(
      "matmul",
      `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: inner dimensions ${K} and ${K2} differ`,
    );
  }
  addMacs(M * K * N);
  const out = allocFloat32(M * N);
  runGemm(gemmArgs({ M, N, K, a: a.data, b: b.data, bLayout: "nn", c: out }));
  return new Tensor(out, [M, N]);
}

/** a[B,M,K] @ b[B,K,N] -> [B,M,N] (one matmul per batch entry; no broadcasting of B). */
export function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  expectRank("batchedMatmul", "a", a, 3);
  expectRank("batchedMatmul", "b", b, 3);
  const [B, M, K] = a.shape;
  const [B2, K2, N] = b.shape;
  if (B !== B2) {
    throw new ShapeError(
      "batchedMatmul",
      `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: batch sizes ${B} and ${B2} differ`,
    );
  }
  if (K !== K2) {
    throw new ShapeError(
      "batchedMatmul",
      `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}: inner dimensions ${K} and ${K2} differ`,
    );
  }
  addMacs(B * M * K * N);
  const out = allocFloat32(B * M * N);
  for (let batch = 0; batch < B; batch++) {
    runGemm(
      gemmArgs({
        M,
        N,
        K,
        a: a.data,
        aOffset: batch * M * K,
        b: b.data,
        bOffset: batch * K * N,
        bLayout: "nn",
        c: out,
        cOffset: batch * M * N,
      }),
    );
  }
  return new Tensor(out, [B, M, N]);
}

/** x[..., in] @ weight[out, in]^T + bias[out] -> [..., out]  (PyTorch weight layout), then the optional activation. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: LinearOptions = {}): Tensor {
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
      throw new ShapeError(
        "linear",
        `bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)}: expected [${outFeatures}]`,
      );
    }
  }
  const outShape = [...x.shape.slice(0, -1), outFeatures];
  const out = options.out ?? new Tensor(allocFloat32(sizeOf(outShape)), outShape);
  if (out.shape.join() !== outShape.join()) {
    throw new ShapeError("linear", `out ${shapeStr(out.shape)} does not match the result shape ${shapeStr(outShape)}`);
  }
  if (out.data === x.data) throw new ShapeError("linear", "out must not share its buffer with x");
  const rows = sizeOf(x.shape.slice(0, -1));
  addMacs(rows * inFeatures * outFeatures);
  runGemm(
    gemmArgs({
      M: rows,
      N: outFeatures,
      K: inFeatures,
      a: x.data,
      b: weight.data,
      bias: bias === null ? null : bias.data,
      c: out.data,
      activation: options.activation ?? "none",
    }),
  );
  return out;
}

/** out[rows, outF] = x[rows, inF] @ weight[outF, inF]^T + bias, on flat arrays. */
export type LinearKernel = (
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  rows: number,
  inF: number,
  outF: number,
) => void;

/** LinearKernel through the fast GEMM. */
export const linearInto: LinearKernel = (x, weight, bias, out, rows, inF, outF) => {
  runGemm(gemmArgs({ M: rows, N: outF, K: inF, a: x, b: weight, bias, c: out }));
};
