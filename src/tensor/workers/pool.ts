// An optional pool of worker threads for the two heavy kernels: GEMM (rows, or columns when there
// are few rows, split over the threads) and attention (heads split over the threads).
//
//   await setThreads();      // use every available core (starts one worker per extra core)
//   await setThreads(1);     // back to one thread (started workers stay idle, so switching is cheap)
//   stopThreads();           // end the workers
//
// The kernels stay synchronous. A split call copies its operands into one SharedArrayBuffer (the
// arena; copies are O(inputs), against O(M*N*K) work), posts one job per worker, computes the first
// block itself on the calling thread, waits on a shared counter (Atomics.wait in Node; a spin in the
// browser, where the main thread may not block) and copies the workers' blocks back. Every element
// is computed exactly as on one thread, so results are identical whatever the thread count.
//
// This file is platform-neutral: the Node (worker_threads) and browser (Web Workers) adapters are
// loaded with a dynamic import the first time a pool is started.
import { gemm, type Gemm } from "../gemm.ts";
import { attentionHeadsInto } from "../attention.ts";
import type { GemmJob, HeadsJob, Job, JobMessage } from "./jobs.ts";

/** One started worker, as the platform adapter gives it. */
export interface PoolWorker {
  post(message: JobMessage): void;
  terminate(): void;
}

/** What the pool needs from the platform (see pool_node.ts, pool_browser.ts). */
export interface PoolPlatform {
  availableCores(): number;
  spawn(): Promise<PoolWorker>; // resolves once the worker can take jobs
  /** Returns once control[0] >= target (blocking wait where allowed, else a spin). */
  waitFor(control: Int32Array, target: number): void;
}

/** Below this many multiply-adds a product runs on the calling thread (a job round trip is ~50 us). */
export const MIN_PARALLEL_MACS = 300_000;
/** ...and when there are fewer multiply-adds than this per float copied into the shared arena. */
export const MIN_WORK_PER_COPY = 4;

interface Pool {
  platform: PoolPlatform;
  workers: PoolWorker[]; // started; the first `active` take jobs
  active: number;
  control: Int32Array; // [0]: jobs done, [1]: 1 when a job failed
  arena: Float32Array; // shared operands of the current job
  arenaSent: boolean[]; // per worker: has it got the current arena?
}

let pool: Pool | null = null;
let platformPromise: Promise<PoolPlatform> | null = null;

/** Threads the kernels use now (1 = no pool). */
export function threadCount(): number {
  return pool === null ? 1 : pool.active + 1;
}

/** The number of cores the platform reports (navigator.hardwareConcurrency / os.availableParallelism). */
export async function availableThreads(): Promise<number> {
  return (await loadPlatform()).availableCores();
}

/**
 * Uses `threads` threads for GEMM and attention from now on (default: every available core),
 * starting workers as needed. Resolves to the thread count in use.
 */
export async function setThreads(threads?: number): Promise<number> {
  const platform = await loadPlatform();
  const want = threads ?? platform.availableCores();
  if (!Number.isInteger(want) || want < 1)
    throw new RangeError(`setThreads: threads must be an integer >= 1, got ${threads}`);
  if (want === 1) {
    if (pool !== null) pool.active = 0;
    return 1;
  }
  if (typeof SharedArrayBuffer === "undefined") {
    throw new Error(
      "setThreads: SharedArrayBuffer is not available (a browser page needs cross-origin isolation: COOP/COEP headers)",
    );
  }
  if (pool === null) {
    pool = {
      platform,
      workers: [],
      active: 0,
      control: new Int32Array(new SharedArrayBuffer(8)),
      arena: new Float32Array(0),
      arenaSent: [],
    };
  }
  const p = pool;
  const started = await Promise.all(
    Array.from({ length: Math.max(0, want - 1 - p.workers.length) }, () => platform.spawn()),
  );
  if (started.length > 0) {
    Atomics.store(p.control, 0, 0);
    for (const worker of started) {
      worker.post({ job: noJob(), control: p.control.buffer as SharedArrayBuffer }); // hands over the control buffer
      p.workers.push(worker);
      p.arenaSent.push(false);
    }
    waitForJobs(p, started.length); // the hand-over jobs
  }
  p.active = want - 1;
  return threadCount();
}

/** Ends every worker (the kernels run on the calling thread until setThreads starts new ones). */
export function stopThreads(): void {
  if (pool === null) return;
  for (const worker of pool.workers) worker.terminate();
  pool = null;
}

function loadPlatform(): Promise<PoolPlatform> {
  const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;
  platformPromise ??= isNode
    ? import("./pool_node.ts").then((m) => m.nodePlatform)
    : import("./pool_browser.ts").then((m) => m.browserPlatform);
  return platformPromise;
}

/** An empty job: zero rows of a GEMM. */
function noJob(): GemmJob {
  return {
    kind: "gemm",
    M: 0,
    N: 0,
    K: 0,
    aOffset: 0,
    lda: 0,
    bOffset: 0,
    ldb: 0,
    bLayout: "nt",
    biasOffset: -1,
    biasPerRow: false,
    cOffset: 0,
    ldc: 0,
    activation: "none",
    rowStart: 0,
    rowEnd: 0,
    colStart: 0,
    colEnd: 0,
  };
}

// ---- GEMM ----------------------------------------------------------------------------------

/** gemm(g), split over the pool when there is one and the product is large enough. */
export function runGemm(g: Gemm): void {
  const p = pool;
  const splittable = g.a instanceof Float32Array && g.b instanceof Float32Array && g.c instanceof Float32Array;
  if (p === null || p.active === 0 || !splittable || g.M * g.N * g.K < MIN_PARALLEL_MACS) {
    gemm(g);
    return;
  }
  const threads = p.active + 1;
  // split the longer side (in 3-wide tiles) so that each thread gets whole tiles
  const byRows = g.M >= g.N || g.M >= 3 * threads * 4;
  const length = byRows ? g.M : g.N;
  const bounds = splitPoints(length, threads, 3);

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
  const arena = arenaOf(p, copied);
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
  dispatch(p, job, threads - 1);
  gemm(g, ...blockOf(job(0))); // the calling thread's block, straight from the caller's arrays
  waitForJobs(p, threads - 1);
  for (let t = 1; t < threads; t++) {
    // copy the workers' blocks back
    const { rowStart, rowEnd, colStart, colEnd, cOffset } = job(t);
    for (let i = rowStart; i < rowEnd; i++) {
      const from = cOffset + i * g.ldc;
      g.c.set(arena.subarray(from + colStart, from + colEnd), g.cOffset + i * g.ldc + colStart);
    }
  }
}

function blockOf(job: GemmJob): [number, number, number, number] {
  return [job.rowStart, job.rowEnd, job.colStart, job.colEnd];
}

// ---- attention -------------------------------------------------------------------------------

/** attentionHeadsInto over all heads, the heads split over the pool when there is one. */
export function runAttentionHeads(
  qkv: Float32Array,
  merged: Float32Array,
  N: number,
  D: number,
  numHeads: number,
): void {
  const p = pool;
  const threads = p === null ? 1 : Math.min(p.active + 1, numHeads);
  if (p === null || threads < 2 || 2 * N * N * D < MIN_PARALLEL_MACS) {
    attentionHeadsInto(qkv, merged, N, D, numHeads);
    return;
  }
  const bounds = splitPoints(numHeads, threads, 1);
  const arena = arenaOf(p, N * 3 * D + N * D);
  arena.set(qkv.subarray(0, N * 3 * D), 0);
  const job = (t: number): HeadsJob => ({
    kind: "heads",
    qkvOffset: 0,
    mergedOffset: N * 3 * D,
    N,
    D,
    numHeads,
    headStart: bounds[t],
    headEnd: bounds[t + 1],
  });
  dispatch(p, job, threads - 1);
  attentionHeadsInto(qkv, merged, N, D, numHeads, bounds[0], bounds[1]);
  waitForJobs(p, threads - 1);
  const headDim = D / numHeads;
  for (let t = 1; t < threads; t++) {
    const from = bounds[t] * headDim,
      to = bounds[t + 1] * headDim; // this worker's columns
    for (let i = 0; i < N; i++)
      merged.set(arena.subarray(N * 3 * D + i * D + from, N * 3 * D + i * D + to), i * D + from);
  }
}

// ---- plumbing --------------------------------------------------------------------------------

/** Posts job(t) to workers 1..count (worker t-1), sending the arena to those that lack it. */
function dispatch(p: Pool, job: (t: number) => Job, count: number): void {
  Atomics.store(p.control, 0, 0);
  for (let t = 1; t <= count; t++) {
    const message: JobMessage = { job: job(t) };
    if (!p.arenaSent[t - 1]) {
      message.arena = p.arena.buffer as SharedArrayBuffer;
      p.arenaSent[t - 1] = true;
    }
    p.workers[t - 1].post(message);
  }
}

function waitForJobs(p: Pool, count: number): void {
  p.platform.waitFor(p.control, count);
  if (Atomics.load(p.control, 1) !== 0) {
    Atomics.store(p.control, 1, 0);
    throw new Error("worker pool: a job failed in a worker (see the worker's error output)");
  }
  Atomics.store(p.control, 0, 0);
}

/** The shared arena, grown (and re-sent to the workers) when `size` floats do not fit. */
function arenaOf(p: Pool, size: number): Float32Array {
  if (p.arena.length < size) {
    p.arena = new Float32Array(new SharedArrayBuffer(4 * Math.max(size, 2 * p.arena.length)));
    p.arenaSent = p.workers.map(() => false);
  }
  return p.arena;
}

/** The elements a strided view touches: rows of `cols` values `ld` apart from `offset`. */
function span(offset: number, rows: number, ld: number, cols: number): { start: number; length: number } {
  return { start: offset, length: rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols };
}

/** parts + 1 split points of [0, length), each part a multiple of `unit` (but the last). */
export function splitPoints(length: number, parts: number, unit: number): number[] {
  const units = Math.ceil(length / unit);
  return Array.from({ length: parts + 1 }, (_, t) => Math.min(length, Math.round((units * t) / parts) * unit));
}
