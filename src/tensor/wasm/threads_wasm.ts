// The wasm backend on several threads: every worker of the pool (workers/thread_pool.ts) runs its own
// instance of the same module over the same shared memory (runtime.ts creates it shared where the
// engine allows), so a job names only byte addresses in that memory; nothing is copied to a worker.
//
//   wasmThreads()        threads the wasm kernels may use now (1 without a pool or without shared memory)
//   kernelsHere()        this thread's instance: the main one, or the one a worker was given
//   runGemmTiles(call)   gemm_tiles (+ the GELU pass) over all tiles, split over the threads by row
//                        tiles (or by column panels when there are few rows); the calling thread takes
//                        the first share
//   splitWasmJobs(...)   posts per-worker jobs and runs the calling thread's share (attention_wasm.ts)
//
// Each output element is computed by the same instructions in the same order whichever thread runs
// it, so results are bit-identical to one thread.
import { MR as KERNEL_MR, NR as KERNEL_NR } from "./gemm_kernel.ts";
import { instantiateKernels, wasmKernels, type WasmKernels } from "./runtime.ts";
import { registerJobKind, type Job } from "../workers/jobs.ts";
import { activeWorkers, poolGeneration, runJobs } from "../workers/thread_pool.ts";

const MR = KERNEL_MR;
const NR = KERNEL_NR;

/**
 * Below this many multiply-adds a GEMM runs on the calling thread: a job's round trip (post, wake,
 * signal) costs ~20-60 us (22 us median measured in Node with both threads awake), which the wasm
 * kernel spends on ~1-2 M multiply-adds.
 */
export const MIN_WASM_PARALLEL_MACS = 2_000_000;

// ---- the workers' instances ----------------------------------------------------------------

/** Hands a worker the module and the shared memory; it instantiates the module over that memory. */
interface AttachJob extends Job {
  kind: "wasm_attach";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  relaxed: boolean;
}

let attached: WasmKernels | null = null; // in a worker: its instance over the main thread's memory

registerJobKind<AttachJob>("wasm_attach", (job) => {
  attached = instantiateKernels(job.module, job.memory, job.relaxed, true);
});

/** This thread's kernels: in a worker the instance attached to the shared memory, else the main instance. */
export function kernelsHere(): WasmKernels {
  return attached ?? wasmKernels();
}

let view = new Float32Array(0);

/** A float32 view of all of this thread's wasm memory (renewed after the memory grew). */
export function memoryHere(): Float32Array {
  const { buffer } = kernelsHere().memory;
  if (view.buffer !== buffer) view = new Float32Array(buffer);
  return view;
}

let attachedTo = { generation: -1, workers: 0 }; // the pool and how many of its workers have an instance

/** Threads the wasm kernels may use now: the pool's workers + this one, when the memory is shared. */
export function wasmThreads(): number {
  const workers = activeWorkers();
  if (workers === 0) return 1;
  const kernels = wasmKernels();
  if (!kernels.shared) return 1;
  const generation = poolGeneration();
  if (attachedTo.generation !== generation || attachedTo.workers < workers) {
    const job: AttachJob = {
      kind: "wasm_attach",
      module: kernels.module,
      memory: kernels.memory,
      relaxed: kernels.relaxed,
    };
    runJobs(
      Array.from({ length: workers }, () => job),
      () => {},
    );
    attachedTo = { generation, workers };
  }
  return workers + 1;
}

let splitCalls = 0;

/** How many calls have been split over worker threads so far (tests check that a split happened). */
export function wasmSplitCalls(): number {
  return splitCalls;
}

/** Runs jobs[t] on worker t and local() here, returning when all are done (wasmThreads() attached the workers). */
export function splitWasmJobs(jobs: Job[], local: () => void): void {
  splitCalls++;
  runJobs(jobs, local);
}

// ---- GEMM -----------------------------------------------------------------------------------

/** The arguments of gemm_tiles (byte addresses and strides, see gemm_kernel.ts) and whether GELU follows. */
export interface TilesCall {
  ap: number;
  K: number;
  bp: number;
  bKStride: number;
  bPanelStride: number;
  cp: number;
  ldc: number; // bytes
  rowTiles: number;
  colPanels: number;
  colBias: number;
  rowBias: number;
  act: number; // fused activation code (0-4)
  gelu: boolean; // a GELU pass over C after the product
  /** Float index of A's M rows as they are ([M, K]; each thread packs its row tiles into ap), or < 0: A is packed. */
  rawA: number;
  M: number;
}

/** Row tiles [p0, p1) x column panels [q0, q1) of the call, on `kernels`. */
function tilesRange(kernels: WasmKernels, t: TilesCall, p0: number, p1: number, q0: number, q1: number): void {
  if (p1 <= p0 || q1 <= q0) return; // the kernel's loops run at least once
  if (t.rawA >= 0) packRowTiles(memoryHere(), t, p0, p1);
  const cp = t.cp + p0 * MR * t.ldc + q0 * NR * 4;
  kernels.gemm_tiles(
    t.ap + p0 * MR * t.K * 4,
    t.K,
    t.bp + q0 * t.bPanelStride,
    t.bKStride,
    t.bPanelStride,
    cp,
    t.ldc,
    p1 - p0,
    q1 - q0,
    t.colBias + q0 * NR * 4,
    t.rowBias + p0 * MR * 4,
    t.act,
  );
  if (!t.gelu) return;
  if (q0 === 0 && q1 === t.colPanels) {
    kernels.gelu_inplace(cp, ((p1 - p0) * MR * t.ldc) / 16); // whole rows: one contiguous pass
  } else {
    for (let i = 0; i < (p1 - p0) * MR; i++) kernels.gelu_inplace(cp + i * t.ldc, (q1 - q0) * 2);
  }
}

interface TilesJob extends Job, TilesCall {
  kind: "wasm_tiles";
  p0: number;
  p1: number;
  q0: number;
  q1: number;
}

registerJobKind<TilesJob>("wasm_tiles", (job) => tilesRange(kernelsHere(), job, job.p0, job.p1, job.q0, job.q1));

/** Threads a GEMM of this size runs on (1 below MIN_WASM_PARALLEL_MACS). */
export function gemmThreads(M: number, N: number, K: number): number {
  return M * N * K < MIN_WASM_PARALLEL_MACS ? 1 : wasmThreads();
}

/** gemm_tiles over all of `t`'s tiles (and its GELU pass) on `threads` threads (gemmThreads). */
export function runGemmTiles(t: TilesCall, threads: number): void {
  const kernels = wasmKernels();
  if (threads === 1) {
    tilesRange(kernels, t, 0, t.rowTiles, 0, t.colPanels);
    return;
  }
  // whole row tiles per thread while there are enough of them, else whole column panels
  const byRows = t.rowTiles >= 2 * threads || t.rowTiles >= t.colPanels;
  if (!byRows && t.rawA >= 0) {
    // every thread reads all of A: pack it here first
    packRowTiles(memoryHere(), t, 0, t.rowTiles);
    t = { ...t, rawA: -1 };
  }
  const bounds = splitPoints(byRows ? t.rowTiles : t.colPanels, threads);
  const range = (i: number) =>
    byRows ? [bounds[i], bounds[i + 1], 0, t.colPanels] : [0, t.rowTiles, bounds[i], bounds[i + 1]];
  const jobs = Array.from({ length: threads - 1 }, (_, w): TilesJob => {
    const [p0, p1, q0, q1] = range(w + 1);
    return { ...t, kind: "wasm_tiles", p0, p1, q0, q1 };
  });
  const [p0, p1, q0, q1] = range(0);
  splitWasmJobs(jobs, () => tilesRange(kernels, t, p0, p1, q0, q1));
}

/** Row tiles [p0, p1) of A from its rows at t.rawA into MR-row panels at t.ap (gemm_wasm.ts's packRows). */
function packRowTiles(mem: Float32Array, t: TilesCall, p0: number, p1: number): void {
  const { K, M, rawA } = t;
  const ap = t.ap >> 2;
  for (let i = p0 * MR; i < p1 * MR; i++) {
    let dst = ap + (i - (i % MR)) * K + (i % MR);
    if (i >= M) {
      for (let k = 0; k < K; k++, dst += MR) mem[dst] = 0;
      continue;
    }
    const src = rawA + i * K;
    for (let k = 0; k < K; k++, dst += MR) mem[dst] = mem[src + k];
  }
}

/** parts + 1 split points of [0, length) as even as whole units allow. */
export function splitPoints(length: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((length * i) / parts));
}
