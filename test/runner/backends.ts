// Which backend the suite runs on, and the goldens that run a second time on the wasm backend.
//   PAPR_BACKEND=js (default) | wasm    the backend of the whole run (src/tensor/backend.ts)
// On a js run, the kernel and model goldens below are loaded again (a fresh module instance per file,
// through a query string) and queued to run on wasm, with the same tolerances: `npm test` exercises
// both backends without running the whole suite twice. Where wasm SIMD does not validate, the second
// pass is skipped with the reason.
import { availableBackends, setBackend, type BackendName } from "../../src/tensor/backend.ts";

/** Goldens (paths under test/) re-run on the wasm backend: kernels at 1e-5, whole models at 1e-4. */
export const WASM_GOLDENS = [
  "tensor/linear.test.ts",
  "tensor/conv.test.ts",
  "tensor/attention.test.ts",
  "tensor/layernorm.test.ts",
  "tensor/elementwise.test.ts",
  "tensor/pooling.test.ts",
  "tensor/se.test.ts",
  "tensor/video_kernels.test.ts",
  "models/mobilenet_golden.test.ts",
  "models/vit.test.ts",
  "models/resnet.test.ts",
  "models/mobileone.test.ts",
  "papr/papr_golden.test.ts",
];

export function suiteBackend(): BackendName {
  const name = process.env.PAPR_BACKEND ?? "js";
  if (name !== "js" && name !== "wasm") throw new Error(`PAPR_BACKEND must be js or wasm, got '${name}'`);
  return name;
}

/** Why the wasm pass cannot run, or null. */
export function wasmPassUnavailable(): string | null {
  return availableBackends().includes("wasm") ? null : "WebAssembly SIMD does not validate in this Node";
}

type Runner = () => Promise<[string | true, number, number, number]>;

/** A queue entry that switches the backend between groups (counts nothing). */
export function switchTo(name: BackendName): Runner {
  return async () => {
    setBackend(name);
    return [true, 0, 0, 0];
  };
}
