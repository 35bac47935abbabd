// Which kernels run: "js" (the plain-JS kernels, the reference, split over worker threads by
// setThreads) or "wasm" (the WebAssembly SIMD kernels of wasm/, assembled at load time; one thread).
// A backend is a set of runners registered with the kernels (registerGemmRunner, ...), as
// parallel.ts registers its thread-split runners; the kernel files import neither.
//
//   setBackend("wasm");   // throws, naming the reason, where WebAssembly SIMD does not validate
//   setBackend("js");
//   backendName();        // the active one; the default is the fastest available (wasm where it validates)
import { registerAttentionHeadsRunner } from "./attention.ts";
import { registerDepthwiseRunner } from "./conv.ts";
import { registerGemmRunner } from "./gemm.ts";
import { parallelAttentionHeads, parallelGemm, setThreads as setPoolThreads, threadCount } from "./parallel.ts";
import { wasmAttentionHeads } from "./wasm/attention_wasm.ts";
import { wasmDepthwise } from "./wasm/depthwise_wasm.ts";
import { wasmGemm } from "./wasm/gemm_wasm.ts";
import { wasmUnavailableReason } from "./wasm/runtime.ts";

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
  } else {
    const split = threadCount() > 1; // the thread-split JS runners again, if threads were set
    registerGemmRunner(split ? parallelGemm : null);
    registerDepthwiseRunner(null);
    registerAttentionHeadsRunner(split ? parallelAttentionHeads : null);
  }
  active = name;
}

/** setThreads of parallel.ts for the JS backend; the wasm backend stays on one thread. */
export async function setThreads(threads?: number, options: { force?: boolean } = {}): Promise<number> {
  const count = await setPoolThreads(threads, options);
  if (active === "wasm") setBackend("wasm");
  return count;
}

// the default: the fastest backend this engine validates
if (wasmUnavailableReason() === null) setBackend("wasm");
