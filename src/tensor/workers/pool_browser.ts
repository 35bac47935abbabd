// Browser adapter of the worker pool (loaded by pool.ts with a dynamic import): module Web Workers
// running worker_browser.ts. Needs SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP).
// A page's main thread may not block, so it spins on the shared counter; inside a worker it waits.
import type { PoolPlatform, PoolWorker } from "./pool.ts";

const onMainThread = typeof (globalThis as { document?: unknown }).document !== "undefined";

export const browserPlatform: PoolPlatform = {
  availableCores: () =>
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,

  spawn: () =>
    new Promise<PoolWorker>((resolve, reject) => {
      const worker = new Worker(new URL("./worker_browser.ts", import.meta.url), { type: "module" });
      worker.onerror = (event) => reject(new Error(`worker pool: worker failed to start: ${event.message}`));
      worker.onmessage = (event) => {
        if (event.data !== "ready") return;
        worker.onmessage = null;
        resolve({ post: (m) => worker.postMessage(m), terminate: () => worker.terminate() });
      };
    }),

  waitFor(control, target) {
    for (;;) {
      const done = Atomics.load(control, 0);
      if (done >= target) return;
      if (!onMainThread) Atomics.wait(control, 0, done);
    }
  },
};
