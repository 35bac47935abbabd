// Which kernels run: "js" (the plain-JS kernels, the reference) or "wasm" (the WebAssembly SIMD kernels
// of wasm/, assembled at load time); both split GEMM and attention over worker threads after
// setThreads (js: parallel.ts, operands copied to a shared arena; wasm: wasm/threads_wasm.ts, one
// instance per worker over the same shared WebAssembly memory). Results do not depend on the threads.
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
import { startThreads, stopThreads as stopPool, threadCount } from "./workers/thread_pool.ts";
import { wasmAttentionHeads } from "./wasm/attention_wasm.ts";
import { wasmDepthwise } from "./wasm/depthwise_wasm.ts";
import { wasmConvGemm } from "./wasm/conv_wasm.ts";
import { wasmGemm } from "./wasm/gemm_wasm.ts";
import { wasmThreadsUnavailableReason, wasmUnavailableReason } from "./wasm/runtime.ts";
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
 * Starts worker threads for GEMM and attention (default: every available core; more than the cores only
 * with `force`); returns the threads the active backend uses now. Where threads cannot run here
 * (threadsUnavailableReason(): no SharedArrayBuffer, e.g. a page without cross-origin isolation, or
 * no shared WebAssembly memory on the wasm backend) nothing is started and it returns 1: callers that
 * asked for more say why.
 */
export async function setThreads(threads?: number, options: { force?: boolean } = {}): Promise<number> {
  const wantsMore = threads === undefined || (Number.isInteger(threads) && threads > 1);
  if (wantsMore && threadsUnavailableReason() !== null) return startThreads(1); // stops using any workers
  const started = await startThreads(threads, options);
  return active === "wasm" && wasmThreadsUnavailableReason() !== null ? 1 : started;
}

/** Why the active backend cannot use worker threads here, or null when it can. */
export function threadsUnavailableReason(): string | null {
  if (typeof SharedArrayBuffer === "undefined")
    return "SharedArrayBuffer is not available (a browser page needs cross-origin isolation: COOP/COEP headers)";
  return active === "wasm" ? wasmThreadsUnavailableReason() : null;
}

/** Threads the active backend's kernels use now (1: the calling thread alone). */
export function backendThreads(): number {
  return threadsUnavailableReason() === null ? threadCount() : 1;
}

/** Ends the workers; the kernels run on the calling thread, on the same backend. */
export function stopThreads(): void {
  stopPool();
}

// the default: the fastest backend this engine validates
setBackend(wasmUnavailableReason() === null ? "wasm" : "js");
