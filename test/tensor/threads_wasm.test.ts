// The wasm backend on worker threads (one instance per worker over the same shared memory): every
// kernel it splits (GEMM by row tiles or by column panels, with the GELU pass; attention by heads)
// must give exactly the single-threaded wasm result, bit for bit.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  backendName,
  backendThreads,
  setBackend,
  setThreads,
  stopThreads,
  threadsUnavailableReason,
} from "../../src/tensor/backend.ts";
import { linear } from "../../src/tensor/linear.ts";
import { conv2d } from "../../src/tensor/conv.ts";
import { multiHeadSelfAttention } from "../../src/tensor/attention.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { wasmSplitCalls } from "../../src/tensor/wasm/threads_wasm.ts";
import { wasmSupport } from "../../src/tensor/wasm/runtime.ts";
import { assemble } from "../../src/tensor/wasm/assembler.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { skipUnless } from "../skip.ts";

const wasmTest = skipUnless(wasmSupport().simd, "WebAssembly SIMD does not validate here");

function assertSame(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  for (let i = 0; i < expected.size; i++) {
    if (!Object.is(actual.data[i], expected.data[i]))
      assert.unreachable(`${what}: element ${i} is ${actual.data[i]}, expected ${expected.data[i]}`);
  }
}

// each case is above threads_wasm.ts's MIN_WASM_PARALLEL_MACS, so that it is split
const D = 128;
const x = syntheticTensor("wthreads.x", [101, D], 1);
const attention = {
  qkvWeight: syntheticTensor("wthreads.qkv", [3 * D, D], 0.1),
  qkvBias: syntheticTensor("wthreads.qkvb", [3 * D], 0.1),
  projWeight: syntheticTensor("wthreads.proj", [D, D], 0.1),
  projBias: syntheticTensor("wthreads.projb", [D], 0.1),
  numHeads: 4,
};
const fc = syntheticTensor("wthreads.fc", [4 * D, D], 0.1);
const fcBias = syntheticTensor("wthreads.fcb", [4 * D], 0.1);
const fewRows = syntheticTensor("wthreads.few", [6, 4 * D], 1);
const wide = syntheticTensor("wthreads.wide", [1200, 4 * D], 0.05);
const image = syntheticTensor("wthreads.img", [1, 96, 56, 56], 1);
const pointwise8 = syntheticTensor("wthreads.pw8", [8, 96, 1, 1], 0.2);
const stem = syntheticTensor("wthreads.stem", [24, 96, 3, 3], 0.05);

function runAll(): Tensor[] {
  return [
    linear(x, fc, fcBias, { activation: "gelu" }), // row tiles, GELU over whole rows
    linear(fewRows, wide, null, { activation: "gelu" }), // 2 row tiles: column panels, GELU per row
    conv2d(image, pointwise8, null, { activation: "relu" }), // 8 rows x 3136 pixels: column panels
    conv2d(image, stem, null, { stride: 2, padding: 1 }), // im2col ("nn" B read in place)
    multiHeadSelfAttention(x, attention), // heads
  ];
}

wasmTest(
  "wasm on 2 and 3 threads gives exactly the 1-thread wasm results (GEMM rows / columns, GELU, attention heads)",
  async () => {
    const before = backendName();
    setBackend("wasm");
    assert.is(threadsUnavailableReason(), null, "Node has shared WebAssembly memory");
    await setThreads(1);
    const single = runAll();
    for (const threads of [2, 3]) {
      assert.is(await setThreads(threads, { force: true }), threads); // forced: 3 may exceed the cores here
      assert.is(backendThreads(), threads);
      const splitBefore = wasmSplitCalls();
      const split = runAll();
      assert.ok(wasmSplitCalls() - splitBefore >= 6, `every case split on ${threads} threads`); // 5 cases + attention's qkv product
      split.forEach((t, i) => assertSame(t, single[i], `case ${i} on ${threads} threads`));
    }
    await setThreads(1);
    const splitBefore = wasmSplitCalls();
    assertSame(runAll()[4], single[4], "back on one thread");
    assert.is(wasmSplitCalls(), splitBefore, "one thread splits nothing");
    stopThreads();
    // a new pool: its workers get instances of their own over the same memory
    await setThreads(2, { force: true });
    runAll().forEach((t, i) => assertSame(t, single[i], `case ${i} on a restarted pool`));
    stopThreads();
    setBackend(before);
  },
);

test("a shared memory is imported with the threads limits flag (0x03) and needs a maximum", () => {
  const fn = { name: "f", params: {}, results: [], locals: {}, body: () => [] };
  const bytes = assemble({ memory: { minPages: 1, maxPages: 4, imported: true, shared: true }, functions: [fn] });
  const text = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  // import section: "env" "memory", kind 2 (memory), limits 0x03 min 1 max 4
  assert.ok(text.includes("03 65 6e 76 06 6d 65 6d 6f 72 79 02 03 01 04"), text);
  assert.ok(WebAssembly.validate(bytes));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }); // links to a shared memory
  assert.throws(
    () => assemble({ memory: { minPages: 1, shared: true, imported: true }, functions: [fn] }),
    /a shared memory needs maxPages/,
  );
});

test.run();
