// What a pool worker does with one job: the message format and its execution, shared by the Node and
// browser worker entries (worker_node.ts, worker_browser.ts). Platform-neutral: no Node built-ins.
//
// Every operand of a job lives in one SharedArrayBuffer, the arena, as float32 at the offsets the
// job names; the worker writes its block of the result there and then signals the main thread by
// incrementing control[0] (Atomics.add + Atomics.notify); a failed job also sets control[1] = 1.
import { gemm, gemmArgs, type FusedActivation } from "../gemm.ts";
import { attentionHeadsInto } from "../attention.ts";

/** C[rows, cols] block of a GEMM whose operands are at float offsets in the arena. */
export interface GemmJob {
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

/** Heads [headStart, headEnd) of attention over qkv[N, 3D] in the arena, into merged[N, D] in the arena. */
export interface HeadsJob {
  kind: "heads";
  qkvOffset: number;
  mergedOffset: number;
  N: number;
  D: number;
  numHeads: number;
  headStart: number;
  headEnd: number;
}

export type Job = GemmJob | HeadsJob;

/** A message to a worker: a job, and the arena / control buffers when they are new. */
export interface JobMessage {
  job: Job;
  arena?: SharedArrayBuffer;
  control?: SharedArrayBuffer;
}

/** The worker side: keeps the latest arena and control buffers and runs each job in them. */
export function createJobRunner(): (message: JobMessage) => void {
  let arena: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let control: Int32Array<ArrayBufferLike> = new Int32Array(0);
  return (message) => {
    if (message.arena) arena = new Float32Array(message.arena);
    if (message.control) control = new Int32Array(message.control);
    try {
      runJob(message.job, arena);
    } catch (error) {
      Atomics.store(control, 1, 1); // the main thread throws when it sees this
      console.error(error); // the worker itself stays up for the next job
    } finally {
      Atomics.add(control, 0, 1);
      Atomics.notify(control, 0);
    }
  };
}

export function runJob(job: Job, arena: Float32Array<ArrayBufferLike>): void {
  if (job.kind === "gemm") {
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
  } else {
    const { N, D, numHeads, qkvOffset, mergedOffset } = job;
    const qkv = arena.subarray(qkvOffset, qkvOffset + N * 3 * D);
    const merged = arena.subarray(mergedOffset, mergedOffset + N * D);
    attentionHeadsInto(qkv, merged, N, D, numHeads, job.headStart, job.headEnd);
  }
}
