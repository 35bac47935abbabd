// The two heavy kernels split over worker threads: GEMM (rows, or columns when there are few rows)
// and attention (heads). The js backend registers these runners with the kernels (backend.ts); they
// split when setThreads has started workers (workers/thread_pool.ts) and run gemm / attentionHeadsInto
// on the calling thread otherwise. The kernel files import no pool, and the pool imports no kernel.
//
// A split call copies its operands into the shared arena (copies are O(inputs), against O(M*N*K)
// work), posts one job per worker, computes the first block itself on the calling thread and copies
// the workers' blocks back. Every element is computed exactly as on one thread, so results are
// identical whatever the thread count.
import { attentionHeadsInto, type HeadsKernel } from "./attention.ts";
import { gemm, gemmArgs, type FusedActivation, type Gemm } from "./gemm.ts";
import { registerJobKind, type Job } from "./workers/jobs.ts";
import { activeWorkers, runJobs, sharedArena } from "./workers/thread_pool.ts";

export { MAX_FORCED_THREADS, availableThreads, threadCount } from "./workers/thread_pool.ts";

/** Below this many multiply-adds a product runs on the calling thread (a job round trip is ~50 us). */
export const MIN_PARALLEL_MACS = 300_000;
/** ...and when there are fewer multiply-adds than this per float copied into the shared arena. */
export const MIN_WORK_PER_COPY = 4;

// ---- GEMM ----------------------------------------------------------------------------------

/** C[rows, cols] block of a GEMM whose operands are at float offsets in the arena. */
interface GemmJob extends Job {
  kind: "gemm";
  M: number;
  N: number;
  K: number;
  aOffset: number;
  lda: number;
  bOffset: number;
  ldb: number;
  bLayout: "nt" | "nn";
  biasOffset: number; // -1: no bias
  biasPerRow: boolean;
  cOffset: number;
  ldc: number;
  activation: FusedActivation;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

registerJobKind<GemmJob>("gemm", (job, arena) => {
  const g = gemmArgs({
    M: job.M,
    N: job.N,
    K: job.K,
    a: arena,
    aOffset: job.aOffset,
    lda: job.lda,
    b: arena,
    bOffset: job.bOffset,
    ldb: job.ldb,
    bLayout: job.bLayout,
    bias: job.biasOffset < 0 ? null : arena,
    biasOffset: Math.max(0, job.biasOffset),
    biasPerRow: job.biasPerRow,
    c: arena,
    cOffset: job.cOffset,
    ldc: job.ldc,
    activation: job.activation,
  });
  gemm(g, job.rowStart, job.rowEnd, job.colStart, job.colEnd);
});

/** gemm(g), split over the workers when the product is large enough. */
export function parallelGemm(g: Gemm): void {
  const workers = activeWorkers();
  const splittable = g.a instanceof Float32Array && g.b instanceof Float32Array && g.c instanceof Float32Array;
  if (workers === 0 || !splittable || g.M * g.N * g.K < MIN_PARALLEL_MACS) {
    gemm(g);
    return;
  }
  const threads = workers + 1;
  // split the longer side (in 3-wide tiles) so that each thread gets whole tiles
  const byRows = g.M >= g.N || g.M >= 3 * threads * 4;
  const bounds = splitPoints(byRows ? g.M : g.N, threads, 3);

  // the arena: [a | b | bias | c], each the span its operand's view covers
  const aSpan = span(g.aOffset, g.M, g.lda, g.K);
  const bSpan = g.bLayout === "nt" ? span(g.bOffset, g.N, g.ldb, g.K) : span(g.bOffset, g.K, g.ldb, g.N);
  const biasLength = g.bias === null ? 0 : g.biasPerRow ? g.M : g.N;
  const cSpan = span(g.cOffset, g.M, g.ldc, g.N);
  const copied = aSpan.length + bSpan.length + biasLength + cSpan.length;
  if (g.M * g.N * g.K < MIN_WORK_PER_COPY * copied) {
    // e.g. one row against a big weight: copying costs as much as computing
    gemm(g);
    return;
  }
  const arena = sharedArena(copied);
  let at = 0;
  const place = (source: Float32Array, from: number, length: number) => {
    arena.set(source.subarray(from, from + length), at);
    const offset = at;
    at += length;
    return offset;
  };
  const aAt = place(g.a as Float32Array, aSpan.start, aSpan.length);
  const bAt = place(g.b as Float32Array, bSpan.start, bSpan.length);
  const biasAt = g.bias === null ? -1 : place(g.bias, g.biasOffset, biasLength);
  const cAt = at;
  const job = (t: number): GemmJob => ({
    kind: "gemm",
    M: g.M,
    N: g.N,
    K: g.K,
    aOffset: aAt + (g.aOffset - aSpan.start),
    lda: g.lda,
    bOffset: bAt + (g.bOffset - bSpan.start),
    ldb: g.ldb,
    bLayout: g.bLayout,
    biasOffset: biasAt,
    biasPerRow: g.biasPerRow,
    cOffset: cAt + (g.cOffset - cSpan.start),
    ldc: g.ldc,
    activation: g.activation,
    rowStart: byRows ? bounds[t] : 0,
    rowEnd: byRows ? bounds[t + 1] : g.M,
    colStart: byRows ? 0 : bounds[t],
    colEnd: byRows ? g.N : bounds[t + 1],
  });
  const jobs = Array.from({ length: workers }, (_, t) => job(t + 1));
  const own = job(0);
  // the calling thread's block, straight from the caller's arrays
  runJobs(jobs, () => gemm(g, own.rowStart, own.rowEnd, own.colStart, own.colEnd));
  for (const { rowStart, rowEnd, colStart, colEnd, cOffset } of jobs) {
    // copy the workers' blocks back
    for (let i = rowStart; i < rowEnd; i++) {
      const from = cOffset + i * g.ldc;
      g.c.set(arena.subarray(from + colStart, from + colEnd), g.cOffset + i * g.ldc + colStart);
    }
  }
}

// ---- attention -------------------------------------------------------------------------------

/** Heads [headStart, headEnd) of attention over qkv[N, 3D] in the arena, into merged[N, D] in the arena. */
interface HeadsJob extends Job {
  kind: "heads";
  qkvOffset: number;
  mergedOffset: number;
  N: number;
  D: number;
  numHeads: number;
  headStart: number;
  headEnd: number;
}

registerJobKind<HeadsJob>("heads", (job, arena) => {
  const { N, D, numHeads, qkvOffset, mergedOffset } = job;
  const qkv = arena.subarray(qkvOffset, qkvOffset + N * 3 * D);
  const merged = arena.subarray(mergedOffset, mergedOffset + N * D);
  attentionHeadsInto(qkv, merged, N, D, numHeads, job.headStart, job.headEnd);
});

/** attentionHeadsInto over all heads, the heads split over the workers. */
export const parallelAttentionHeads: HeadsKernel = (qkv, merged, N, D, numHeads) => {
  const threads = Math.min(activeWorkers() + 1, numHeads);
  if (threads < 2 || 2 * N * N * D < MIN_PARALLEL_MACS) {
    attentionHeadsInto(qkv, merged, N, D, numHeads);
    return;
  }
  const bounds = splitPoints(numHeads, threads, 1);
  const arena = sharedArena(N * 3 * D + N * D);
  arena.set(qkv.subarray(0, N * 3 * D), 0);
  const jobs = Array.from({ length: threads - 1 }, (_, t): HeadsJob => ({
    kind: "heads",
    qkvOffset: 0,
    mergedOffset: N * 3 * D,
    N,
    D,
    numHeads,
    headStart: bounds[t + 1],
    headEnd: bounds[t + 2],
  }));
  runJobs(jobs, () => attentionHeadsInto(qkv, merged, N, D, numHeads, bounds[0], bounds[1]));
  const headDim = D / numHeads;
  for (const { headStart, headEnd } of jobs) {
    const from = headStart * headDim,
      to = headEnd * headDim; // this worker's columns
    for (let i = 0; i < N; i++)
      merged.set(arena.subarray(N * 3 * D + i * D + from, N * 3 * D + i * D + to), i * D + from);
  }
};

// ---- plumbing --------------------------------------------------------------------------------

/** The elements a strided view touches: rows of `cols` values `ld` apart from `offset`. */
function span(offset: number, rows: number, ld: number, cols: number): { start: number; length: number } {
  return { start: offset, length: rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols };
}

/** parts + 1 split points of [0, length), each part a multiple of `unit` (but the last). */
export function splitPoints(length: number, parts: number, unit: number): number[] {
  const units = Math.ceil(length / unit);
  return Array.from({ length: parts + 1 }, (_, t) => Math.min(length, Math.round((units * t) / parts) * unit));
}
