// Entry of a browser pool worker (a module Web Worker started by pool_browser.ts): runs each job message.
import "../parallel.ts"; // registers the job kinds (gemm, heads)
import "../wasm/attention_wasm.ts"; // ... and the wasm ones (wasm_attach, wasm_tiles, wasm_heads)
import { createJobRunner, type JobMessage } from "./jobs.ts";

const run = createJobRunner();
const scope = globalThis as unknown as {
  onmessage: ((event: { data: JobMessage }) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (event) => run(event.data);
scope.postMessage("ready");
