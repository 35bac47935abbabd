// A pool of worker threads that run jobs, knowing nothing of what the jobs compute (../parallel.ts
// splits the kernels into jobs and registers their kinds, workers/jobs.ts).
//
//   await startThreads(n)   n - 1 workers take jobs beside the calling thread (started as needed)
//   runJobs(jobs, local)    posts jobs[t] to worker t, runs local() on the calling thread, waits for all
//   stopThreads()           ends the workers
//
// Operands travel in one SharedArrayBuffer, the arena (sharedArena(size)); the calling thread waits
// on a shared counter (Atomics.wait in Node; a spin on a browser page's main thread, which may not
// block). This file is platform-neutral: the Node (worker_threads) and browser (Web Workers) adapters
// are loaded with a dynamic import the first time a pool is started.
import type { Job, JobMessage } from "./jobs.ts";

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

interface Pool {
  platform: PoolPlatform;
  workers: PoolWorker[]; // started; the first `active` take jobs
  active: number;
  control: Int32Array; // [0]: jobs done, [1]: 1 when a job failed
  arena: Float32Array; // shared operands of the current jobs
  arenaSent: boolean[]; // per worker: has it got the current arena?
}

let pool: Pool | null = null;
let poolsStarted = 0; // counts the pools created, so that users of the workers notice a new set of them
let platformPromise: Promise<PoolPlatform> | null = null;

function loadPlatform(): Promise<PoolPlatform> {
  const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;
  platformPromise ??= isNode
    ? import("./pool_node.ts").then((m) => m.nodePlatform)
    : import("./pool_browser.ts").then((m) => m.browserPlatform);
  return platformPromise;
}

/** Threads the kernels use now (1 = no pool). */
export function threadCount(): number {
  return pool === null ? 1 : pool.active + 1;
}

/** Workers taking jobs now, beside the calling thread (0 = no pool). */
export function activeWorkers(): number {
  return pool === null ? 0 : pool.active;
}

/**
 * Which pool runs now: changes when stopThreads ends the workers and setThreads starts new ones (workers
 * of one pool are only added, never replaced). Code that sets state up in the workers keys it by this.
 */
export function poolGeneration(): number {
  return poolsStarted;
}

/** The number of cores the platform reports (navigator.hardwareConcurrency / os.availableParallelism). */
export async function availableThreads(): Promise<number> {
  return (await loadPlatform()).availableCores();
}

/**
 * Most threads even when forced: each worker costs ~5 MB and a start-up; past the core count they
 * only time-slice (`--threads 1000` used to start 1000 workers and pass 5 GB).
 */
export const MAX_FORCED_THREADS = 256;

/**
 * Uses `threads` threads from now on (default: every available core), starting workers as needed.
 * More threads than cores is refused unless `force` (then at most MAX_FORCED_THREADS).
 */
export async function startThreads(threads?: number, options: { force?: boolean } = {}): Promise<number> {
  const platform = await loadPlatform();
  const cores = platform.availableCores();
  const want = threads ?? cores;
  if (!Number.isInteger(want) || want < 1)
    throw new RangeError(`setThreads: threads must be an integer >= 1, got ${threads}`);
  if (want > cores && !options.force) {
    throw new RangeError(
      `setThreads: ${want} threads is more than the ${cores} available cores (force to start them anyway)`,
    );
  }
  if (want > MAX_FORCED_THREADS)
    throw new RangeError(`setThreads: ${want} threads is more than the limit of ${MAX_FORCED_THREADS}`);
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
    poolsStarted++;
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
      // the first job hands over the control buffer
      worker.post({ job: { kind: "none" }, control: p.control.buffer as SharedArrayBuffer });
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

/** The shared arena, at least `size` floats (grown, and re-sent to the workers, when they do not fit). */
export function sharedArena(size: number): Float32Array {
  const p = requirePool();
  if (p.arena.length < size) {
    p.arena = new Float32Array(new SharedArrayBuffer(4 * Math.max(size, 2 * p.arena.length)));
    p.arenaSent = p.workers.map(() => false);
  }
  return p.arena;
}

/** Posts jobs[t] to worker t, runs `local` on the calling thread meanwhile, and returns once every job is done. */
export function runJobs(jobs: Job[], local: () => void): void {
  const p = requirePool();
  if (jobs.length > p.active) throw new RangeError(`worker pool: ${jobs.length} jobs for ${p.active} active workers`);
  Atomics.store(p.control, 0, 0);
  jobs.forEach((job, t) => {
    const message: JobMessage = { job };
    if (!p.arenaSent[t]) {
      message.arena = p.arena.buffer as SharedArrayBuffer;
      p.arenaSent[t] = true;
    }
    p.workers[t].post(message);
  });
  try {
    local();
  } finally {
    waitForJobs(p, jobs.length);
  }
}

function requirePool(): Pool {
  if (pool === null) throw new Error("worker pool: not started (setThreads)");
  return pool;
}

function waitForJobs(p: Pool, count: number): void {
  p.platform.waitFor(p.control, count);
  if (Atomics.load(p.control, 1) !== 0) {
    Atomics.store(p.control, 1, 0);
    throw new Error("worker pool: a job failed in a worker (see the worker's error output)");
  }
  Atomics.store(p.control, 0, 0);
}
