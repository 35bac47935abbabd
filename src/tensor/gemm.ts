// The one fast matrix-product kernel. Every linear layer, 1x1 and im2col convolution and both
// products of attention go through `gemm`; reference/gemm.ts holds its definition as a plain triple
// loop, which the tests compare it against.
//
//   C[i, j] = act( sum_k A[i, k] * B[k, j] + bias )     i in [rowStart, rowEnd), j in [colStart, colEnd)
//
// Operands are strided views over flat arrays (see `Gemm`): A[i, k] = a[aOffset + i*lda + k];
// B is either rows of a [N, K] matrix ("nt": B[k, j] = b[bOffset + j*ldb + k], PyTorch's weight
// layout) or a [K, N] matrix ("nn": B[k, j] = b[bOffset + k*ldb + j]); C[i, j] = c[cOffset + i*ldc + j].
// The bias is per column (linear layers) or per row (convolutions, output channels on rows).
//
// How it is fast in plain JS (V8 compiles the inner loop to scalar float64 code):
//   1. A's rows are packed in panels of MR = 3 rows, k-major (panel[k*3 + i]), and B's columns in
//      panels of NR = 3 (panel[k*3 + j]), converted to float64 once, into ONE scratch Float64Array.
//      One array keeps V8 to one map check and one bounds-check base per loop iteration, and the
//      float64 panels need no float32 -> float64 conversion in the inner loop.
//   2. The microkernel keeps a 3x3 block of sums in registers: per k it loads 3 + 3 values and does
//      9 multiply-adds. (3x3 is the largest block V8 keeps in the 16 xmm registers without spilling
//      much; 3x4 / 4x4 spill and were not faster here.) `(i + 1) | 0` indices drop V8's overflow checks.
//   3. The epilogue adds the bias and applies the activation while the tile is stored (fused; the
//      activation sees the float32-rounded sum, as a separate activation kernel would; GELU uses
//      fastErfc, within 1.3e-9 of the exact erfc).
// Measured on a 2-core AMD EPYC (Zen 3) VM: ~4.3 GFLOP/s on DeiT-Small's shapes, one thread. The
// limit is V8's scalar code: each typed-array load costs ~6 instructions (index sign extension,
// bounds check, base address), so a 3x3 step is ~58 instructions for 9 multiply-adds.
// Sums run in float64 in the order k = 0, 1, ..., K-1 and are rounded to the output type once:
// the same values as the definition (reference/gemm.ts gemmReference).

/** Activation fused into the store of each output. */
export type FusedActivation = "none" | "relu" | "relu6" | "hardswish" | "hardsigmoid" | "gelu" | "silu" | "sigmoid";

export interface Gemm {
  M: number; // rows of A and C
  N: number; // columns of B and C
  K: number; // the summed dimension
  a: Float32Array | Float64Array;
  aOffset: number;
  lda: number; // A[i, k] = a[aOffset + i*lda + k]
  b: Float32Array | Float64Array;
  bOffset: number;
  ldb: number;
  bLayout: "nt" | "nn"; // "nt": B[k, j] = b[bOffset + j*ldb + k]; "nn": b[bOffset + k*ldb + j]
  bias: Float32Array | null;
  biasOffset: number;
  biasPerRow: boolean; // false: bias[biasOffset + j] (linear); true: bias[biasOffset + i] (conv)
  c: Float32Array | Float64Array;
  cOffset: number;
  ldc: number; // C[i, j] = c[cOffset + i*ldc + j]
  activation: FusedActivation;
}

/** A Gemm with the usual defaults: contiguous operands at offset 0, B "nt", no bias, no activation. */
export function gemmArgs(g: Pick<Gemm, "M" | "N" | "K" | "a" | "b" | "c"> & Partial<Gemm>): Gemm {
  const bLayout = g.bLayout ?? "nt";
  return {
    aOffset: 0,
    lda: g.K,
    bOffset: 0,
    ldb: bLayout === "nt" ? g.K : g.N,
    bLayout,
    bias: null,
    biasOffset: 0,
    biasPerRow: false,
    cOffset: 0,
    ldc: g.N,
    activation: "none",
    ...g,
  };
}

const MR = 3; // rows per A panel
const NR = 3; // columns per B panel

let scratch = new Float64Array(0); // packed panels; grows to the largest product seen, then is reused
const tile = new Float64Array(MR * NR); // one microkernel result

function scratchOf(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch;
}

/** C = act(A B + bias) on rows [rowStart, rowEnd) x columns [colStart, colEnd) of C. */
export function gemm(g: Gemm, rowStart = 0, rowEnd = g.M, colStart = 0, colEnd = g.N): void {
  const K = g.K;
  const rows = rowEnd - rowStart;
  if (rows <= 0 || colEnd <= colStart) return;
  const panels = Math.ceil(rows / MR);
  const bAt = panels * MR * K; // B panel after the A panels
  const s = scratchOf(bAt + NR * K);
  const act = activationCode(g.activation);
  packRows(g, rowStart, rowEnd, s);
  for (let j = colStart; j < colEnd; j += NR) {
    const cols = Math.min(NR, colEnd - j);
    if (g.bLayout === "nt") packColumnsNT(g.b, g.bOffset + j * g.ldb, g.ldb, cols, K, s, bAt);
    else packColumnsNN(g.b, g.bOffset + j, g.ldb, cols, K, s, bAt);
    for (let p = 0; p < panels; p++) {
      microkernel3x3(s, p * MR * K, bAt, K, tile);
      const i = rowStart + p * MR;
      storeTile(g, tile, i, Math.min(MR, rowEnd - i), j, cols, act);
    }
  }
}

/** s[p*MR*K + k*MR + r] = A[rowStart + p*MR + r, k]; rows past rowEnd are 0. */
function packRows(g: Gemm, rowStart: number, rowEnd: number, s: Float64Array): void {
  const { a, aOffset, lda, K } = g;
  let at = 0;
  for (let i0 = rowStart; i0 < rowEnd; i0 += MR) {
    for (let r = 0; r < MR; r++) {
      const i = i0 + r;
      if (i < rowEnd) {
        const from = aOffset + i * lda;
        for (let k = 0; k < K; k++) s[at + k * MR + r] = a[from + k];
      } else {
        for (let k = 0; k < K; k++) s[at + k * MR + r] = 0;
      }
    }
    at += MR * K;
  }
}

// Deliberate kernel specialisation: packColumnsNT and packColumnsNN are the same packing for B's two
// layouts (rows of a weight [N, K], or a [K, N] matrix), each with its own inner loop order.
/** B panel from rows of [N, K]: s[at + k*NR + j] = b[from + j*ldb + k], j < cols (0 beyond). */
function packColumnsNT(
  b: Float32Array | Float64Array,
  from: number,
  ldb: number,
  cols: number,
  K: number,
  s: Float64Array,
  at: number,
): void {
  for (let j = 0; j < NR; j++) {
    if (j < cols) {
      const row = from + j * ldb;
      for (let k = 0; k < K; k++) s[at + k * NR + j] = b[row + k];
    } else {
      for (let k = 0; k < K; k++) s[at + k * NR + j] = 0;
    }
  }
}

/** B panel from [K, N]: s[at + k*NR + j] = b[from + k*ldb + j], j < cols (0 beyond). */
function packColumnsNN(
  b: Float32Array | Float64Array,
  from: number,
  ldb: number,
  cols: number,
  K: number,
  s: Float64Array,
  at: number,
): void {
  if (cols === NR) {
    for (let k = 0; k < K; k++) {
      const src = from + k * ldb;
      const dst = at + k * NR;
      s[dst] = b[src];
      s[dst + 1] = b[src + 1];
      s[dst + 2] = b[src + 2];
    }
    return;
  }
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < NR; j++) s[at + k * NR + j] = j < cols ? b[from + k * ldb + j] : 0;
  }
}

/** out[r*3 + j] = sum_k s[ia + k*3 + r] * s[ib + k*3 + j] (float64, k ascending). */
function microkernel3x3(s: Float64Array, ia: number, ib: number, K: number, out: Float64Array): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c10 = 0,
    c11 = 0,
    c12 = 0,
    c20 = 0,
    c21 = 0,
    c22 = 0;
  const end = (ia + 3 * K) | 0;
  for (; ia < end; ia = (ia + 3) | 0, ib = (ib + 3) | 0) {
    const a0 = s[ia],
      a1 = s[(ia + 1) | 0],
      a2 = s[(ia + 2) | 0];
    const b0 = s[ib];
    c00 += a0 * b0;
    c10 += a1 * b0;
    c20 += a2 * b0;
    const b1 = s[(ib + 1) | 0];
    c01 += a0 * b1;
    c11 += a1 * b1;
    c21 += a2 * b1;
    const b2 = s[(ib + 2) | 0];
    c02 += a0 * b2;
    c12 += a1 * b2;
    c22 += a2 * b2;
  }
  out[0] = c00;
  out[1] = c01;
  out[2] = c02;
  out[3] = c10;
  out[4] = c11;
  out[5] = c12;
  out[6] = c20;
  out[7] = c21;
  out[8] = c22;
}

/** Writes the valid rows x cols of a 3x3 tile at C[i, j], adding the bias and applying the activation. */
function storeTile(g: Gemm, t: Float64Array, i: number, rows: number, j: number, cols: number, act: number): void {
  const { c, ldc, bias, biasOffset, biasPerRow } = g;
  for (let r = 0; r < rows; r++) {
    const at = g.cOffset + (i + r) * ldc + j;
    for (let q = 0; q < cols; q++) {
      let v = t[r * NR + q];
      if (bias !== null) v += bias[biasOffset + (biasPerRow ? i + r : j + q)];
      c[at + q] = act === 0 ? v : applyActivation(Math.fround(v), act); // rounded first, as an unfused activation sees it
    }
  }
}

// ---- fused activations (elementwise.ts's formulas on float64 values; GELU with fastErfc) ----

const ACTIVATIONS: FusedActivation[] = ["none", "relu", "relu6", "hardswish", "hardsigmoid", "gelu", "silu", "sigmoid"];

export function activationCode(name: FusedActivation): number {
  const code = ACTIVATIONS.indexOf(name);
  if (code < 0) throw new Error(`gemm: unknown activation '${String(name)}' (known: ${ACTIVATIONS.join(", ")})`);
  return code;
}

/** The activation with code `act` applied to v. */
export function applyActivation(v: number, act: number): number {
  switch (act) {
    case 1:
      return v < 0 ? 0 : v;
    case 2:
      return v < 0 ? 0 : v > 6 ? 6 : v;
    case 3:
      return v * hardsigmoidOf(v);
    case 4:
      return hardsigmoidOf(v);
    case 5:
      return 0.5 * v * fastErfc(-v * Math.SQRT1_2);
    case 6:
      return v / (1 + Math.exp(-v));
    case 7:
      return 1 / (1 + Math.exp(-v));
    default:
      return v;
  }
}

// erfc for the fused GELU (a fused GELU costs about half of a separate gelu() pass over the output):
//   erfc(x) = exp(-x^2) * t * P(t),  t = 2 / (2 + x),  x >= 0;   erfc(-x) = 2 - erfc(x)
// P of degree 12, least-squares fitted to mpmath's erfcx by tools/fit/fit_erfcx.py: relative error
// of erfc < 1.3e-9 on [0, 27] (below float32's 6e-8 by 50x; erfc(x > 27) underflows to 0 anyway).
export function fastErfc(x: number): number {
  const a = Math.abs(x);
  const t = 2 / (2 + a);
  // P(t), coefficients t^0 .. t^12 (Horner)
  const p =
    0.28209479208809074 +
    t *
      (0.282094725420902 +
        t *
          (0.24683582904013482 +
            t *
              (0.17626439020622395 +
                t *
                  (0.0839900992469486 +
                    t *
                      (-0.0036662466714061925 +
                        t *
                          (-0.07348633697198469 +
                            t *
                              (0.044669069313631335 +
                                t *
                                  (-0.3138420493470335 +
                                    t *
                                      (0.6253506068258105 +
                                        t *
                                          (-0.5365976605855719 +
                                            t * (0.22415205573331948 + t * -0.03785927553531969)))))))))));
  const e = Math.exp(-a * a) * t * p;
  return x >= 0 ? e : 2 - e;
}

function hardsigmoidOf(v: number): number {
  const t = v + 3;
  return (t < 0 ? 0 : t > 6 ? 6 : t) / 6;
}

// ---- where products run --------------------------------------------------------------------

// Every caller (linear, conv, attention) runs its products through runGemm. On one thread that is
// gemm itself; setThreads (../parallel.ts) registers a runner that splits large products over worker
// threads, computing every element exactly as gemm does.
let gemmRunner: (g: Gemm) => void = (g) => gemm(g);

export function runGemm(g: Gemm): void {
  gemmRunner(g);
}

/** Replaces the runner of runGemm (null: back to gemm on the calling thread). */
export function registerGemmRunner(runner: ((g: Gemm) => void) | null): void {
  gemmRunner = runner ?? ((g) => gemm(g));
}
