// gemm() of gemm.ts on the wasm backend: the same strided-view contract (`Gemm`), computed by the
// f32x4 micro-kernel of gemm_kernel.ts. What it does around the kernel:
//   - A (rows) is packed in MR-row panels into scratch on every call (M*K floats, O(1/N) of the work);
//   - B in the "nt" layout (a [N, K] weight) declared constant (../constants.ts: models declare their
//     weights) is packed once into 8-column panels and kept in the persistent area, keyed by its array,
//     offset and shape, until invalidateConstant drops it; any other "nt" B is packed into scratch per call;
//   - B in the "nn" layout ([K, N] activations: im2col columns, matmul) is copied row by row into
//     scratch with its rows padded to whole panels and read in place;
//   - the bias goes in as a column vector or a row vector (the other one zero), activations 1-4 are
//     fused into the store; GELU runs as a second pass over C in wasm (gelu_kernel.ts: gemm.ts's erfc
//     polynomial, float32); SiLU / sigmoid are applied in JS while C is copied out.
//   - the kernel's tiles are split over worker threads sharing the memory (threads_wasm.ts);
// Float64 operands (the JS attention's score buffer) go to the JS gemm.
import { activationCode, applyActivation as applyActivationImported, gemm, type Gemm } from "../gemm.ts";
import { MR as KERNEL_MR, NR as KERNEL_NR } from "./gemm_kernel.ts";
import { isConstant, onInvalidateConstant } from "../constants.ts";
import {
  align,
  allocatePersistent,
  compactRows,
  memoryF32,
  resetPersistent,
  scratchBase,
  wasmKernels,
  zeroFloats,
} from "./runtime.ts";
import { gemmThreads, runGemmTiles } from "./threads_wasm.ts";

// module-local copies: imported bindings may compile to getters (tsx), slow inside the packing loops
const MR = KERNEL_MR;
const NR = KERNEL_NR;
const applyActivation = applyActivationImported;

const FUSED_IN_WASM = 4; // activation codes <= 4 run in the kernel's store

interface PackedWeight {
  offset: number;
  ldb: number;
  N: number;
  K: number;
  at: number; // byte address of the panels
}

let weightCache = new WeakMap<object, PackedWeight[]>();
onInvalidateConstant((data) => weightCache.delete(data));

/** C = act(A B + bias) as gemm(g) does, in float32 sums on the wasm kernel. */
export function wasmGemm(g: Gemm): void {
  const { M, N, K } = g;
  if (M <= 0 || N <= 0) return;
  if (K === 0 || !(g.a instanceof Float32Array) || !(g.b instanceof Float32Array) || !(g.c instanceof Float32Array)) {
    gemm(g);
    return;
  }
  const rowTiles = Math.ceil(M / MR);
  const colPanels = Math.ceil(N / NR);
  const Mpad = rowTiles * MR;
  const Npad = colPanels * NR;

  // a weight met before: its cached panels (looked up first: packing one may grow the persistent area)
  const weight = g.bLayout === "nt" ? cachedWeight(g) : null;

  // scratch: [A panels | B rows (nn) | colBias | rowBias | C]
  let at = scratchBase();
  const take = (floats: number) => {
    const here = at;
    at = align(at + floats * 4);
    return here;
  };
  const aAt = take(Mpad * K);
  const bAt = weight !== null ? weight.at : g.bLayout === "nt" ? take(Npad * K) : take(K * Npad + NR);
  const colBiasAt = take(Npad);
  const rowBiasAt = take(Mpad);
  const cAt = take(Mpad * Npad);
  // on several threads, A's rows are copied as they are and each thread packs the row tiles it computes
  const threads = gemmThreads(M, N, K);
  const rawAAt = threads > 1 ? take(M * K) : -1;
  const mem = memoryF32(at);

  if (threads > 1) copyRows(g, mem, rawAAt >> 2);
  else packRows(g, mem, aAt >> 2, Mpad);
  if (weight === null && g.bLayout === "nn") copyRowsNN(g, mem, bAt >> 2, Npad);
  if (weight === null && g.bLayout === "nt") packColumnsNT(g, mem, bAt >> 2);
  const panelsPacked = g.bLayout === "nt";
  writeBias(g, mem, colBiasAt >> 2, Npad, rowBiasAt >> 2, Mpad);

  const act = activationCode(g.activation);
  // the product (and the GELU pass, in wasm), split over the threads when there are several
  runGemmTiles(
    {
      ap: aAt,
      K,
      bp: bAt,
      bKStride: panelsPacked ? NR * 4 : Npad * 4, // bytes from B[k, j] to B[k + 1, j]
      bPanelStride: panelsPacked ? NR * 4 * K : NR * 4, // bytes from one 8-column panel to the next
      cp: cAt,
      ldc: Npad * 4,
      rowTiles,
      colPanels,
      colBias: colBiasAt,
      rowBias: rowBiasAt,
      act: act <= FUSED_IN_WASM ? act : 0,
      gelu: act === GELU,
      rawA: rawAAt >> 2,
      M,
    },
    threads,
  );
  copyOut(g, mem, cAt >> 2, Npad, act > FUSED_IN_WASM && act !== GELU ? act : 0);
}

/** mem[to + p*MR*K + k*MR + r] = A[p*MR + r, k]; rows past M are 0. */
function packRows(g: Gemm, mem: Float32Array, to: number, Mpad: number): void {
  const { a, aOffset, lda, K, M } = g;
  for (let i = 0; i < Mpad; i++) {
    let dst = to + (i - (i % MR)) * K + (i % MR);
    if (i >= M) {
      for (let k = 0; k < K; k++, dst += MR) mem[dst] = 0;
      continue;
    }
    const src = aOffset + i * lda;
    for (let k = 0; k < K; k++, dst += MR) mem[dst] = a[src + k];
  }
}

/** mem[to + i*K + k] = A[i, k]: the rows of A as they are (packed by the threads, threads_wasm.ts). */
function copyRows(g: Gemm, mem: Float32Array, to: number): void {
  const { a, aOffset, lda, K, M } = g;
  const af = a as Float32Array;
  for (let i = 0; i < M; i++) mem.set(af.subarray(aOffset + i * lda, aOffset + i * lda + K), to + i * K);
}

/** B [K, N] ("nn") into rows of Npad floats (the padding columns are left as they are: their outputs are dropped). */
function copyRowsNN(g: Gemm, mem: Float32Array, to: number, Npad: number): void {
  const { b, bOffset, ldb, K, N } = g;
  const bf = b as Float32Array;
  for (let k = 0; k < K; k++) mem.set(bf.subarray(bOffset + k * ldb, bOffset + k * ldb + N), to + k * Npad);
  zeroFloats(to + K * Npad, NR);
  for (let k = 0; k < K; k++) zeroFloats(to + k * Npad + N, Npad - N);
}

/** The packed panels of an "nt" B declared constant (a weight), from the cache or packed now; null for other arrays. */
function cachedWeight(g: Gemm): PackedWeight | null {
  const { b, bOffset, ldb, N, K } = g;
  if (!isConstant(b)) return null;
  let list = weightCache.get(b);
  if (list === undefined) weightCache.set(b, (list = []));
  const found = list.find((e) => e.offset === bOffset && e.ldb === ldb && e.N === N && e.K === K);
  if (found !== undefined) return found;
  const bytes = Math.ceil(N / NR) * NR * K * 4;
  let at = allocatePersistent(bytes);
  if (at < 0) {
    weightCache = new WeakMap();
    resetPersistent();
    weightCache.set(b, (list = []));
    at = allocatePersistent(bytes);
  }
  const entry = { offset: bOffset, ldb, N, K, at };
  list.push(entry);
  packColumnsNT(g, memoryF32(), entry.at >> 2);
  return entry;
}

/** mem[to + q*NR*K + k*NR + j] = B[k, q*NR + j] = b[bOffset + (q*NR + j)*ldb + k]; columns past N are 0. */
function packColumnsNT(g: Gemm, mem: Float32Array, to: number): void {
  const { b, bOffset, ldb, N, K } = g;
  const Npad = Math.ceil(N / NR) * NR;
  for (let j = 0; j < Npad; j++) {
    let dst = to + (j - (j % NR)) * K + (j % NR);
    if (j >= N) {
      for (let k = 0; k < K; k++, dst += NR) mem[dst] = 0;
      continue;
    }
    const src = bOffset + j * ldb;
    for (let k = 0; k < K; k++, dst += NR) mem[dst] = b[src + k];
  }
}

/** colBias (per column) and rowBias (per row): the bias in one, zeros in the other. */
function writeBias(g: Gemm, mem: Float32Array, colAt: number, Npad: number, rowAt: number, Mpad: number): void {
  zeroFloats(colAt, Npad);
  zeroFloats(rowAt, Mpad);
  if (g.bias === null) return;
  const count = g.biasPerRow ? g.M : g.N;
  mem.set(g.bias.subarray(g.biasOffset, g.biasOffset + count), g.biasPerRow ? rowAt : colAt);
}

/** C rows back into g.c (with the unfused activation applied on the way when `act` is set). */
function copyOut(g: Gemm, mem: Float32Array, from: number, Npad: number, act: number): void {
  const { cOffset, ldc, M, N } = g;
  const c = g.c as Float32Array; // wasmGemm takes Float32Array outputs only
  if (act === 0 && ldc === N) {
    // g.c's rows are contiguous: move C's rows together in wasm, then one copy
    compactRows(from, M, Npad, N);
    c.set(mem.subarray(from, from + M * N), cOffset);
    return;
  }
  for (let i = 0; i < M; i++) {
    const src = from + i * Npad;
    const dst = cOffset + i * ldc;
    if (act === 0) c.set(mem.subarray(src, src + N), dst);
    else for (let j = 0; j < N; j++) c[dst + j] = applyActivation(mem[src + j], act);
  }
}

const GELU = activationCode("gelu");
