// The worker pool: every kernel it splits (GEMM by rows or by columns, attention by heads) must give
// exactly the single-threaded result (each element is computed the same way, only elsewhere).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { availableBackends, backendName, setBackend, setThreads, stopThreads } from "../../src/tensor/backend.ts";
import { splitPoints, threadCount } from "../../src/tensor/parallel.ts";
import { runGemm } from "../../src/tensor/gemm.ts";
import { gemmArgs } from "../../src/tensor/gemm.ts";
import { gemmReference } from "../../src/tensor/reference/gemm.ts";
import { linear } from "../../src/tensor/linear.ts";
import { conv2d } from "../../src/tensor/conv.ts";
import { conv3d } from "../../src/tensor/conv3d.ts";
import { multiHeadSelfAttention } from "../../src/tensor/attention.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";

function assertSame(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  for (let i = 0; i < expected.size; i++) {
    if (!Object.is(actual.data[i], expected.data[i]))
      assert.unreachable(`${what}: element ${i} is ${actual.data[i]}, expected ${expected.data[i]}`);
  }
}

const D = 96;
const x = syntheticTensor("threads.x", [61, D], 1);
const params = {
  qkvWeight: syntheticTensor("threads.qkv", [3 * D, D], 0.1),
  qkvBias: syntheticTensor("threads.qkvb", [3 * D], 0.1),
  projWeight: syntheticTensor("threads.proj", [D, D], 0.1),
  projBias: syntheticTensor("threads.projb", [D], 0.1),
  numHeads: 4,
};
const fc = syntheticTensor("threads.fc", [4 * D, D], 0.1);
const fcBias = syntheticTensor("threads.fcb", [4 * D], 0.1);
const image = syntheticTensor("threads.img", [1, 24, 28, 28], 1);
const pointwise = syntheticTensor("threads.pw", [40, 24, 1, 1], 0.2);
const stem = syntheticTensor("threads.stem", [16, 24, 3, 3], 0.1);
const clip = syntheticTensor("threads.clip", [1, 16, 8, 40, 40], 1);
const conv3dWeight = syntheticTensor("threads.conv3d", [3, 16, 3, 3, 3], 0.1);

function runAll(): Tensor[] {
  return [
    linear(x, fc, fcBias, { activation: "gelu" }), // rows split
    conv2d(
      syntheticTensor("threads.big", [1, 24, 56, 56], 1),
      syntheticTensor("threads.pw8", [8, 24, 1, 1], 0.2),
      null,
    ), // 8 rows: columns split
    conv2d(image, pointwise, null, { activation: "relu" }), // 40 x 784 pixels
    conv2d(image, stem, null, { stride: 2, padding: 1 }), // im2col
    multiHeadSelfAttention(x, params), // heads split
    conv3d(clip, conv3dWeight, null, { padding: 1 }), // im2col in 2 runs of frames: column blocks of a wider C
  ];
}

test("2 and 3 threads give exactly the single-threaded results (GEMM rows / columns, convs, attention heads)", async () => {
  const before = backendName();
  setBackend("js"); // the threads split the js backend's kernels
  await setThreads(1);
  const single = runAll();
  for (const threads of [2, 3]) {
    assert.is(await setThreads(threads, { force: true }), threads); // forced: 3 may exceed the cores here
    assert.is(threadCount(), threads);
    const split = runAll();
    split.forEach((t, i) => assertSame(t, single[i], `case ${i} on ${threads} threads`));
  }
  // a strided product with offsets, split by rows, against the reference loop
  const M = 200,
    N = 90,
    K = 50;
  const a = syntheticTensor("threads.a", [3 + M * (K + 1)], 1).data,
    b = syntheticTensor("threads.b", [N * K], 1).data;
  const args = { M, N, K, a, aOffset: 3, lda: K + 1, b, bias: syntheticTensor("threads.bias", [N], 1).data };
  const fast = gemmArgs({ ...args, c: new Float32Array(M * N) });
  const ref = gemmArgs({ ...args, c: new Float32Array(M * N) });
  runGemm(fast);
  gemmReference(ref);
  assert.ok(
    fast.c.every((v, i) => Object.is(v, ref.c[i])),
    "strided GEMM on 3 threads equals the reference",
  );
  assert.is(await setThreads(1), 1);
  assert.is(threadCount(), 1);
  assertSame(runAll()[4], single[4], "back on one thread");
  stopThreads();
  assert.is(threadCount(), 1);
  setBackend(before);
});

test("threads started and stopped leave the backend as it was (its kernels, not only its name)", async () => {
  const before = backendName();
  for (const backend of availableBackends()) {
    setBackend(backend);
    const alone = runAll();
    await setThreads(2, { force: true });
    const threaded = runAll();
    stopThreads();
    const after = runAll();
    assert.is(backendName(), backend);
    alone.forEach((t, i) => {
      assertSame(after[i], t, `${backend} case ${i} after stopThreads`);
      assertSame(threaded[i], t, `${backend} case ${i} on 2 threads`);
    });
  }
  setBackend(before);
});

test("splitPoints covers [0, length) in whole units", () => {
  assert.equal(splitPoints(197, 2, 3), [0, 99, 197]);
  assert.equal(splitPoints(6, 4, 1), [0, 2, 3, 5, 6]);
  assert.equal(splitPoints(2, 3, 3), [0, 0, 2, 2]); // empty parts are fine
});

test("setThreads rejects a bad count", async () => {
  for (const bad of [0, -1, 1.5]) {
    try {
      await setThreads(bad);
      assert.unreachable(`setThreads(${bad}) should throw`);
    } catch (error) {
      assert.match((error as Error).message, /setThreads: threads must be an integer >= 1/);
    }
  }
});

test.run();
