// The wasm backend's one module instance and its memory: assembled from the kernels' instruction
// lists on first use (relaxed-SIMD multiply-add where WebAssembly.validate accepts it, plain
// f32x4.mul + f32x4.add elsewhere), compiled synchronously (the module is a few KB).
//
// The memory is created here and imported by the module (env.memory): a shared WebAssembly.Memory
// where the engine allows one (Node; a cross-origin isolated page), so that worker threads can run
// instances of the same module over it (threads_wasm.ts); a private one elsewhere (one thread).
//
// Memory layout: [ packed weights (persistent, bump-allocated) | per-call scratch ].
import { assemble, type ModuleSource } from "./assembler.ts";
import { depthwiseKernel } from "./depthwise_kernel.ts";
import { gemmTiles } from "./gemm_kernel.ts";
import { softmaxPanels } from "./softmax_kernel.ts";
import { geluInPlace } from "./gelu_kernel.ts";
import { opKernels } from "./op_kernels.ts";

type Kernel = (...args: number[]) => void;

export interface WasmKernels {
  memory: WebAssembly.Memory;
  /** The compiled module (a worker instantiates it over the same shared memory). */
  module: WebAssembly.Module;
  /** Whether `memory` is shared (worker threads can run the kernels over it). */
  shared: boolean;
  gemm_tiles: Kernel;
  softmax_panels: Kernel;
  gelu_inplace: Kernel;
  /** depthwise[`k${k}_s${stride}`] for k = 3, 5 and stride = 1, 2 */
  depthwise: Record<string, Kernel>;
  /** op_kernels.ts's kernels by name (layer_norm, squeeze_excite, pool_max, im2col, ...) */
  ops: Record<string, Kernel>;
  relaxed: boolean;
}

const DEPTHWISE = [
  [3, 1],
  [3, 2],
  [5, 1],
  [5, 2],
] as const;

const PAGE = 65536;
const INITIAL_PAGES = 16;
/**
 * The shared memory's maximum (a shared memory cannot move, so the engine reserves address space
 * for all of it up front, not RAM): wasm32's 4 GiB, or 1 GiB where the engine refuses that.
 */
const SHARED_MAX_PAGES = [65536, 16384];

function moduleSource(relaxed: boolean, shared = false, maxPages?: number): ModuleSource {
  return {
    memory: { minPages: INITIAL_PAGES, maxPages, imported: true, shared },
    functions: [
      gemmTiles(relaxed),
      softmaxPanels(),
      geluInPlace(),
      ...DEPTHWISE.map(([k, s]) => depthwiseKernel(k, s, relaxed)),
      ...opKernels(),
    ],
  };
}

function validates(source: ModuleSource): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(assemble(source));
  } catch {
    return false;
  }
}

let support: { simd: boolean; relaxed: boolean } | null = null;

/** Whether the engine validates the SIMD kernels, and the relaxed-SIMD (fused multiply-add) ones. */
export function wasmSupport(): { simd: boolean; relaxed: boolean } {
  if (support === null) {
    const relaxed = validates(moduleSource(true));
    support = { simd: relaxed || validates(moduleSource(false)), relaxed };
  }
  return support;
}

/** Why the wasm backend cannot run here, or null when it can. */
export function wasmUnavailableReason(): string | null {
  if (typeof WebAssembly !== "object") return "this JavaScript engine has no WebAssembly";
  if (!wasmSupport().simd) return "WebAssembly SIMD (v128) does not validate in this engine";
  return null;
}

let kernels: WasmKernels | null = null;
let sharedFailure: string | null = null; // why the memory is not shared, when it is not
let views = { f32: new Float32Array(0), buffer: null as ArrayBufferLike | null };

/** A shared memory and its maximum pages, or the reason there is none. */
function sharedMemory(): { memory: WebAssembly.Memory; maxPages: number } | string {
  if (typeof SharedArrayBuffer === "undefined")
    return "SharedArrayBuffer is not available (a browser page needs cross-origin isolation: COOP/COEP headers)";
  let failure = "";
  for (const maxPages of SHARED_MAX_PAGES) {
    try {
      return { memory: new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maxPages, shared: true }), maxPages };
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  return `this engine did not create a shared WebAssembly.Memory (${failure})`;
}

/** The instantiated kernels (built on first call). */
export function wasmKernels(): WasmKernels {
  if (kernels !== null) return kernels;
  const reason = wasmUnavailableReason();
  if (reason !== null) throw new Error(`wasm backend: ${reason}`);
  const relaxed = wasmSupport().relaxed;
  const found = sharedMemory();
  let module: WebAssembly.Module;
  let memory: WebAssembly.Memory;
  if (typeof found === "string") {
    sharedFailure = found;
    memory = new WebAssembly.Memory({ initial: INITIAL_PAGES });
    module = new WebAssembly.Module(assemble(moduleSource(relaxed)));
  } else {
    memory = found.memory;
    module = new WebAssembly.Module(assemble(moduleSource(relaxed, true, found.maxPages)));
  }
  kernels = instantiateKernels(module, memory, relaxed, sharedFailure === null);
  return kernels;
}

/** An instance of `module` over `memory` (this thread's, or a worker's over the same shared memory). */
export function instantiateKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  relaxed: boolean,
  shared: boolean,
): WasmKernels {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, Kernel>;
  const depthwise = Object.fromEntries(DEPTHWISE.map(([k, s]) => [`k${k}_s${s}`, exports[`depthwise_k${k}_s${s}`]]));
  return {
    memory,
    module,
    shared,
    gemm_tiles: exports.gemm_tiles,
    softmax_panels: exports.softmax_panels,
    gelu_inplace: exports.gelu_inplace,
    depthwise,
    ops: Object.fromEntries(opKernels().map((f) => [f.name, exports[f.name]])),
    relaxed,
  };
}

/** Why worker threads cannot run the wasm kernels here (the memory is not shared), or null when they can. */
export function wasmThreadsUnavailableReason(): string | null {
  const reason = wasmUnavailableReason();
  if (reason !== null) return reason;
  wasmKernels();
  return sharedFailure;
}

/** Grows memory to at least `bytes`; returns the (possibly new) float32 view of all of it. */
export function memoryF32(bytes = 0): Float32Array {
  const { memory } = wasmKernels();
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
  if (views.buffer !== memory.buffer) views = { f32: new Float32Array(memory.buffer), buffer: memory.buffer };
  return views.f32;
}

/** Sets `count` floats of wasm memory from float index `from` to 0 (in wasm: see op_kernels.ts's zero_bytes). */
export function zeroFloats(from: number, count: number): void {
  if (count > 0) wasmKernels().ops.zero_bytes(from * 4, count * 4);
}

/**
 * Rows of `count` floats at float index `from`, `stride` floats apart, moved together (row r to
 * from + r*count), in wasm: afterwards they are one run of rows*count floats.
 */
export function compactRows(from: number, rows: number, stride: number, count: number): void {
  if (rows > 1 && stride !== count) wasmKernels().ops.compact_rows(from * 4, rows, stride * 4, count * 4, count * 4);
}

// ---- persistent area: packed weights ------------------------------------------------------------

const SCRATCH_ALIGN = 64;
let persistentTop = 0; // bytes in use by packed weights
/** Above this the weight cache is dropped and refilled (bounds memory when many models come and go). */
const PERSISTENT_LIMIT = 1 << 30;

/** Byte address of `bytes` new persistent bytes, or -1 when the cache must be reset first. */
export function allocatePersistent(bytes: number): number {
  if (persistentTop + bytes > PERSISTENT_LIMIT) return -1;
  const at = persistentTop;
  persistentTop = align(persistentTop + bytes);
  memoryF32(persistentTop);
  return at;
}

let epoch = 0; // counts resets: a cache that stored an address checks that it is still of this epoch

/** Forgets every persistent allocation (the caller drops what pointed into it; other caches see a new epoch). */
export function resetPersistent(): void {
  persistentTop = 0;
  epoch++;
}

/** How many times the persistent area was reset: addresses from an older epoch are gone. */
export function persistentEpoch(): number {
  return epoch;
}

/** Byte address where per-call scratch starts (after the persistent area). */
export function scratchBase(): number {
  return persistentTop;
}

export function align(bytes: number): number {
  return Math.ceil(bytes / SCRATCH_ALIGN) * SCRATCH_ALIGN;
}
