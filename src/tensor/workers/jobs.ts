// The worker side of the thread pool: the message format and a registry of job kinds. Platform-neutral:
// no Node built-ins; shared by the Node and browser worker entries (worker_node.ts, worker_browser.ts).
//
// Every operand of a job lives in one SharedArrayBuffer, the arena, as float32 at the offsets the
// job names; the worker writes its block of the result there and then signals the main thread by
// incrementing control[0] (Atomics.add + Atomics.notify); a failed job also sets control[1] = 1.
// What a job of each kind computes is registered by the code that splits that kernel (../parallel.ts):
// this file and the pool know no kernel.

/** A job: its kind picks the registered runner; the rest is the kind's own fields. */
export interface Job {
  kind: string;
}

/** A message to a worker: a job, and the arena / control buffers when they are new. */
export interface JobMessage {
  job: Job;
  arena?: SharedArrayBuffer;
  control?: SharedArrayBuffer;
}

type JobRunner = (job: Job, arena: Float32Array<ArrayBufferLike>) => void;
const runners = new Map<string, JobRunner>([["none", () => {}]]); // "none": the pool's hand-over job

/** Says how a worker runs jobs of `kind`. */
export function registerJobKind<J extends Job>(
  kind: string,
  run: (job: J, arena: Float32Array<ArrayBufferLike>) => void,
): void {
  runners.set(kind, run as JobRunner);
}

/** The worker side: keeps the latest arena and control buffers and runs each job in them. */
export function createJobRunner(): (message: JobMessage) => void {
  let arena: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let control: Int32Array<ArrayBufferLike> = new Int32Array(0);
  return (message) => {
    if (message.arena) arena = new Float32Array(message.arena);
    if (message.control) control = new Int32Array(message.control);
    try {
      const run = runners.get(message.job.kind);
      if (!run) throw new Error(`worker pool: no runner registered for jobs of kind '${message.job.kind}'`);
      run(message.job, arena);
    } catch (error) {
      Atomics.store(control, 1, 1); // the main thread throws when it sees this
      console.error(error); // the worker itself stays up for the next job
    } finally {
      Atomics.add(control, 0, 1);
      Atomics.notify(control, 0);
    }
  };
}
