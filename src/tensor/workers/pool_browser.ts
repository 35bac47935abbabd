// Browser adapter of the worker pool (loaded by thread_pool.ts with a dynamic import): module Web Workers
// running worker_browser.ts. Needs SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP).
// A page's main thread may not block, so it spins on the shared counter; inside a worker it waits.
import type { PoolPlatform, PoolWorker } from "./thread_pool.ts";

const onMainThread = typeof (globalThis as { document?: unknown }).document !== "undefined";

export const browserPlatform: PoolPlatform = {
  availableCores: () =>
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,

  // Jobs go to a worker through a MessageChannel, not Worker.postMessage: Chromium delivers a Web
  // Worker's Worker.postMessage to its own (nested) worker only when the poster's event loop runs,
  // which a pool waiting for its jobs does not let it do (the pool hung inside the demo's worker);
  // a MessagePort's messages are delivered at once. The port is set up, and acknowledged, before
  // the worker counts as started, so every job (even the first) can be waited for.
  spawn: () =>
    new Promise<PoolWorker>((resolve, reject) => {
      const worker = new Worker(new URL("./worker_browser.ts", import.meta.url), { type: "module" });
      worker.onerror = (event) => reject(new Error(`worker pool: worker failed to start: ${event.message}`));
      worker.onmessage = (event) => {
        if (event.data !== "ready") return;
        worker.onmessage = null;
        const { port1, port2 } = new MessageChannel();
        port1.onmessage = (reply) => {
          if (reply.data !== "port ready") return;
          port1.onmessage = null;
          resolve({
            post: (m) => port1.postMessage(m),
            terminate: () => {
              port1.close();
              worker.terminate();
            },
          });
        };
        worker.postMessage({ port: port2 }, [port2]);
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
