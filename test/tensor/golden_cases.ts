// Small helpers shared by the kernel golden tests (conv, batchnorm, pooling, squeeze-excite, interpolate).
import * as assert from "uvu/assert";
import { ShapeError } from "../../src/tensor/tensor.ts";

/** Case names in a fixture whose tensors are "<case>.x" and "<case>.out", sorted. */
export function fixtureCases(keys: readonly string[]): string[] {
  return [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf("."))))].sort();
}

/** Asserts the fixture holds exactly the cases a test's table lists (so the tables in Python and TS agree). */
export function assertSameCases(keys: readonly string[], tableNames: readonly string[]): void {
  assert.equal(fixtureCases(keys), [...tableNames].sort());
}

/** Asserts `fn` throws a ShapeError whose message contains every fragment. */
export function throwsShapeError(fn: () => unknown, ...fragments: string[]): void {
  throwsWith(ShapeError, fn, fragments);
}

/** Asserts `fn` throws an instance of `type` whose message contains every fragment. */
export function throwsWith(type: new (...args: never[]) => Error, fn: () => unknown, fragments: string[]): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${caught === null ? "no error" : String(caught)}`);
  const message = (caught as Error).message;
  for (const fragment of fragments) assert.ok(message.includes(fragment), `message "${message}" lacks "${fragment}"`);
}
