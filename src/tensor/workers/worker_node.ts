// Entry of a Node pool worker (started by pool_node.ts): runs each job message, see jobs.ts.
import { parentPort } from "node:worker_threads";
import "../parallel.ts"; // registers the job kinds (gemm, heads)
import "../wasm/attention_wasm.ts"; // ... and the wasm ones (wasm_attach, wasm_tiles, wasm_heads)
import { createJobRunner } from "./jobs.ts";

const port = parentPort;
if (port === null) throw new Error("worker_node.ts runs only as a worker thread (started by the worker pool)");
port.on("message", createJobRunner());
port.postMessage("ready");
