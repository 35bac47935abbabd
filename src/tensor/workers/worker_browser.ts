// Entry of a browser pool worker (a module Web Worker started by pool_browser.ts): runs each job message.
import "../parallel.ts"; // registers the job kinds (gemm, heads)
import "../wasm/attention_wasm.ts"; // ... and the wasm ones (wasm_attach, wasm_tiles, wasm_heads)
import { createJobRunner, type JobMessage } from "./jobs.ts";

// Jobs arrive on the MessagePort of the first message (pool_browser.ts says why not on the worker's own port).
const run = createJobRunner();
const scope = globalThis as unknown as {
  onmessage: ((event: { data: { port: MessagePort } }) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (event) => {
  scope.onmessage = null;
  const { port } = event.data;
  port.onmessage = (job: MessageEvent<JobMessage>) => run(job.data);
  port.postMessage("port ready");
};
scope.postMessage("ready");
