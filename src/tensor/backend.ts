// Which kernels run: "js" (the plain-JS kernels, the reference, split over worker threads by
// setThreads) or "wasm" (the WebAssembly SIMD kernels of wasm/, assembled at load time; one thread).
// A backend is a set of runners registered with the kernels (registerGemmRunner, ...), as
// parallel.ts registers its thread-split runners; the kernel files import neither.
//
//   setBackend("wasm");   // throws, naming the reason, where WebAssembly SIMD does not validate
//   setBackend("js");
//   backendName();        // the active one; the default is the fastest available (wasm where it validates)
import { registerAttentionHeadsRunner } from "./attention.ts";
import { registerConvGemmRunner, registerDepthwiseRunner } from "./conv.ts";
import { registerGemmRunner } from "./gemm.ts";
import { parallelAttentionHeads, parallelGemm } from "./parallel.ts";
import { startThreads, stopThreads as stopPool } from "./workers/thread_pool.ts";
import { wasmAttentionHeads } from "./wasm/attention_wasm.ts";
import { wasmDepthwise } from "./wasm/depthwise_wasm.ts";
import { wasmConvGemm } from "./wasm/conv_wasm.ts";
import { wasmGemm } from "./wasm/gemm_wasm.ts";
import { wasmUnavailableReason } from "./wasm/runtime.ts";
import { registerLayerNormRunner } from "./norm.ts";
import { registerPoolRunners } from "./pooling.ts";
import { registerSqueezeExciteRunner } from "./se.ts";
import { wasmGlobalAvgPool, wasmLayerNorm, wasmPool, wasmSqueezeExciteRunner } from "./wasm/ops_wasm.ts";

export type BackendName = "js" | "wasm";
export const BACKENDS: readonly BackendName[] = ["js", "wasm"];

let active: BackendName = "js";

/** The backends this engine can run ("js" always). */
export function availableBackends(): BackendName[] {
  return wasmUnavailableReason() === null ? ["js", "wasm"] : ["js"];
}

export function backendName(): BackendName {
  return active;
}

/** Runs the kernels on `name` from now on. */
export function setBackend(name: BackendName): void {
  if (!BACKENDS.includes(name)) throw new Error(`setBackend: unknown backend '${String(name)}' (known: js, wasm)`);
  if (name === "wasm") {
    const reason = wasmUnavailableReason();
    if (reason !== null) throw new Error(`setBackend("wasm"): ${reason}`);
    registerGemmRunner(wasmGemm);
    registerAttentionHeadsRunner(wasmAttentionHeads);
    registerDepthwiseRunner(wasmDepthwise);
    registerConvGemmRunner(wasmConvGemm);
    registerLayerNormRunner(wasmLayerNorm);
    registerSqueezeExciteRunner(wasmSqueezeExciteRunner);
    registerPoolRunners(wasmPool, wasmGlobalAvgPool);
  } else {
    // split over the workers after setThreads, on the calling thread otherwise
    registerGemmRunner(parallelGemm);
    registerDepthwiseRunner(null);
    registerAttentionHeadsRunner(parallelAttentionHeads);
    registerConvGemmRunner(null);
    registerLayerNormRunner(null);
    registerSqueezeExciteRunner(null);
    registerPoolRunners(null, null);
  }
  active = name;
}

/**
 * Starts worker threads for the js backend's GEMM and attention (default: every available core; more than the
 * cores only with `force`). The wasm backend runs on one thread whatever this says.
 */
export async function setThreads(threads?: number, options: { force?: boolean } = {}): Promise<number> {
  return startThreads(threads, options);
}

/** Ends the workers; the kernels run on the calling thread, on the same backend. */
export function stopThreads(): void {
  stopPool();
}

// the default: the fastest backend this engine validates
setBackend(wasmUnavailableReason() === null ? "wasm" : "js");
