// Golden-test helpers: fixtures written by tools/golden (PyTorch) and the
// tolerance check every golden test uses.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { readSafetensors } from "../src/tensor/safetensors.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Loads test/fixtures/<name>.safetensors; `get(key)` throws naming a missing key. */
export function fixture(name: string) {
  const file = readSafetensors(readFileSync(join(FIXTURES, `${name}.safetensors`)), `${name}.safetensors`);
  return {
    metadata: file.metadata,
    keys: [...file.tensors.keys()],
    get(key: string): Tensor {
      const t = file.tensors.get(key);
      if (!t) throw new Error(`fixture ${name}: no tensor '${key}'`);
      return t;
    },
  };
}

/** Max |a - e| / max(|e|, 1e-12 floor at 1 for tiny outputs): error relative to the output's scale. */
export function relativeError(actual: Tensor, expected: Tensor): number {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new Error(`shape mismatch: got [${actual.shape}] expected [${expected.shape}]`);
  }
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.size; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(expected.data[i]));
  }
  return maxDiff / Math.max(scale, 1e-6);
}

/** Throws unless `actual` matches `expected` to `tol` relative to the output's scale. */
export function assertClose(actual: Tensor, expected: Tensor, tol: number, what = "output"): void {
  const err = relativeError(actual, expected);
  if (!(err <= tol)) throw new Error(`${what}: relative error ${err.toExponential(3)} > tolerance ${tol}`);
}

/** The ../shared folder beside the checkout, or null (tests that need it use skipUnless(sharedDir(), "../shared absent")). */
export function sharedDir(): string | null {
  const dir = fileURLToPath(new URL("../../shared/", import.meta.url));
  return existsSync(dir) ? dir : null;
}
