// Node adapter of the worker pool (loaded by pool.ts with a dynamic import, never statically):
// worker_threads workers running worker_node.ts, and a blocking Atomics.wait on the main thread.
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { PoolPlatform, PoolWorker } from "./pool.ts";

// The worker's first code: import the entry; when this runs from TypeScript sources under tsx (whose
// loader hooks do not reach worker threads in Node 20), import it through tsx's own API instead.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
import(workerData.entry).catch(async (error) => {
  if (error.code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
  const tsx = await import("tsx/esm/api");
  await tsx.tsImport(workerData.entry, workerData.entry);
});`;

/** A worker thread running the module at `entry` (.ts under tsx, or .js), with `workerData.entry` set to it. */
export function startWorker(entry: URL, workerData: Record<string, unknown> = {}): Worker {
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, entry: entry.href } });
}

export const nodePlatform: PoolPlatform = {
  availableCores: () => availableParallelism(),

  spawn: () =>
    new Promise<PoolWorker>((resolve, reject) => {
      const worker = startWorker(new URL("./worker_node.ts", import.meta.url));
      worker.unref(); // an idle pool does not keep the process alive
      worker.once("error", reject);
      worker.once("message", (message) => {
        if (message !== "ready")
          return reject(new Error(`worker pool: unexpected first message ${JSON.stringify(message)}`));
        resolve({ post: (m) => worker.postMessage(m), terminate: () => void worker.terminate() });
      });
    }),

  waitFor(control, target) {
    for (;;) {
      const done = Atomics.load(control, 0);
      if (done >= target) return;
      Atomics.wait(control, 0, done);
    }
  },
};
