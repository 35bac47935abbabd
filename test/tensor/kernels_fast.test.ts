// The fast kernels against their definitions (src/tensor/reference/). The GEMM sums in float64 in
// the same k order as the references, so most comparisons are exact (===); where the order differs
// (depthwise starts its sum at the bias) the tolerance is 1e-6 of the output's scale: float64 sums
// in another order differ by ~1e-16, so the float32 results differ by at most an ulp or two.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fastErfc, gemm, gemmArgs, type FusedActivation, type Gemm } from "../../src/tensor/gemm.ts";
import { linear, linearInto, matmul } from "../../src/tensor/linear.ts";
import { conv2d, type Conv2dOptions } from "../../src/tensor/conv.ts";
import { attentionHeadsInto } from "../../src/tensor/attention.ts";
import {
  attentionHeadsReference,
  conv2dReference,
  gemmReference,
  linearReference,
} from "../../src/tensor/reference/index.ts";
import { erfc, gelu, hardswish, relu, relu6, sigmoid, silu, hardsigmoid } from "../../src/tensor/elementwise.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose } from "../golden.ts";
import { backendName, setBackend, type BackendName } from "../../src/tensor/backend.ts";

// The JS kernels' exactness: on the js backend whatever PAPR_BACKEND says (wasm sums in float32; its
// kernels are compared with the references in wasm.test.ts, within 1e-5).
let previousBackend: BackendName = "js";
test.before(() => {
  previousBackend = backendName();
  setBackend("js");
});
test.after(() => setBackend(previousBackend));

const values = (name: string, n: number) => syntheticTensor(name, [n], 1).data;

function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      assert.unreachable(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** A strided problem with padding around every operand, so offsets and leading dimensions matter. */
function problem(
  M: number,
  N: number,
  K: number,
  layout: "nt" | "nn",
  extra: Partial<Gemm> = {},
): { g: Gemm; expected: Gemm } {
  const lda = K + 2,
    ldb = (layout === "nt" ? K : N) + 1,
    ldc = N + 3;
  const rowsOfB = layout === "nt" ? N : K;
  const a = values(`a${M}.${K}`, 5 + M * lda);
  const b = values(`b${N}.${K}.${layout}`, 7 + rowsOfB * ldb);
  const bias = values(`bias${M}.${N}`, 4 + Math.max(M, N));
  const fill = () => new Float32Array(11 + M * ldc).fill(-7); // untouched cells must stay -7
  const base = {
    M,
    N,
    K,
    a,
    aOffset: 5,
    lda,
    b,
    bOffset: 7,
    ldb,
    bLayout: layout,
    bias,
    biasOffset: 4,
    ldc,
    cOffset: 11,
    ...extra,
  };
  return { g: gemmArgs({ ...base, c: fill() }), expected: gemmArgs({ ...base, c: fill() }) };
}

test("gemm equals the reference triple loop exactly (edge tiles, K = 0 and 1, strides, offsets, both layouts)", () => {
  const sizes = [1, 2, 3, 4, 5, 7, 10];
  for (const layout of ["nt", "nn"] as const) {
    for (const M of sizes) {
      for (const N of sizes) {
        for (const K of [0, 1, 2, 5, 17]) {
          const biasPerRow = (M + N) % 2 === 0;
          const { g, expected } = problem(M, N, K, layout, K === 2 ? { biasPerRow, bias: null } : { biasPerRow });
          gemm(g);
          gemmReference(expected);
          assertSame(g.c, expected.c, `${layout} M=${M} N=${N} K=${K}`);
        }
      }
    }
  }
});

test("gemm on a sub-range of rows and columns writes only that block", () => {
  const { g, expected } = problem(11, 13, 9, "nt");
  gemm(g, 2, 9, 4, 12);
  gemmReference(expected, 2, 9, 4, 12);
  assertSame(g.c, expected.c, "block [2,9) x [4,12)");
  assert.ok(
    g.c.some((v) => v === -7),
    "cells outside the block are untouched",
  );
});

test("gemm at DeiT-Small sizes equals the reference (qkv, fc2 shapes)", () => {
  for (const [M, N, K] of [
    [197, 1152, 384],
    [61, 384, 1536],
  ]) {
    const a = values("deit.a", M * K),
      b = values("deit.b", N * K),
      bias = values("deit.bias", N);
    const fast = new Float32Array(M * N),
      ref = new Float32Array(M * N);
    linearInto(a, b, bias, fast, M, K, N);
    linearReference(a, b, bias, ref, M, K, N);
    assertSame(fast, ref, `linearInto ${M}x${K} -> ${N}`);
  }
});

test("fused activations equal the separate elementwise kernels exactly", () => {
  const x = syntheticTensor("fused.x", [7, 20], 4);
  const w = syntheticTensor("fused.w", [9, 20], 1);
  const b = syntheticTensor("fused.b", [9], 1);
  const plain = linear(x, w, b);
  const cases: [FusedActivation, (t: Tensor) => Tensor][] = [
    ["relu", relu],
    ["relu6", relu6],
    ["hardswish", hardswish],
    ["hardsigmoid", hardsigmoid],
    ["silu", silu],
    ["sigmoid", sigmoid],
  ];
  for (const [name, f] of cases)
    assertSame(linear(x, w, b, { activation: name }).data, f(plain).data, `linear + ${name}`);
  // fused GELU uses fastErfc (relative error < 1.3e-9): equal up to float32 rounding
  assertClose(linear(x, w, b, { activation: "gelu" }), gelu(plain), 1e-7, "linear + gelu");
  const image = syntheticTensor("fused.img", [1, 4, 6, 6], 2);
  const cw = syntheticTensor("fused.cw", [4, 1, 3, 3], 1);
  const pw = syntheticTensor("fused.pw", [5, 4, 1, 1], 1);
  const cb = syntheticTensor("fused.cb", [4], 1);
  assertSame(
    conv2d(image, cw, cb, { padding: 1, groups: 4, activation: "hardswish" }).data,
    hardswish(conv2d(image, cw, cb, { padding: 1, groups: 4 })).data,
    "depthwise + hardswish",
  );
  assertSame(
    conv2d(image, pw, null, { activation: "relu" }).data,
    relu(conv2d(image, pw, null)).data,
    "pointwise + relu",
  );
  assert.throws(() => linear(x, w, b, { activation: "tanh" as FusedActivation }), /unknown activation 'tanh'/);
});

test("fastErfc (fused GELU) is within 1.3e-9 relative of elementwise.ts's erfc on [-9, 9]", () => {
  let worst = 0;
  for (let i = -9000; i <= 9000; i++) {
    const x = i / 1000;
    worst = Math.max(worst, Math.abs(fastErfc(x) - erfc(x)) / erfc(x));
  }
  assert.ok(worst < 1.3e-9, `worst relative error ${worst}`);
  assert.ok(worst > 0, "a fit, not the same function");
  assert.is(fastErfc(30), 0);
  assert.is(fastErfc(-30), 2);
});

test("linear writes into `out` when given one, and checks its shape", () => {
  const x = syntheticTensor("out.x", [3, 4], 1);
  const w = syntheticTensor("out.w", [5, 4], 1);
  const out = new Tensor(new Float32Array(15), [3, 5]);
  assert.is(linear(x, w, null, { out }), out);
  assertSame(out.data, linear(x, w, null).data, "linear into out");
  assert.throws(
    () => linear(x, w, null, { out: new Tensor(new Float32Array(15), [5, 3]) }),
    /^linear: out \[5, 3\] does not match the result shape \[3, 5\]$/,
  );
});

test("matmul ([K, N] read in place) equals the reference", () => {
  const a = syntheticTensor("mm.a", [8, 6], 1),
    b = syntheticTensor("mm.b", [6, 7], 1);
  const ref = gemmArgs({ M: 8, N: 7, K: 6, a: a.data, b: b.data, bLayout: "nn", c: new Float32Array(56) });
  gemmReference(ref);
  assertSame(matmul(a, b).data, ref.c, "matmul");
});

const CONVS: [string, number[], number[], Conv2dOptions][] = [
  // name, x shape, weight shape, options
  ["depthwise 3x3 s1 p1", [1, 6, 9, 8], [6, 1, 3, 3], { padding: 1, groups: 6 }],
  ["depthwise 5x5 s2 p2", [1, 4, 11, 10], [4, 1, 5, 5], { stride: 2, padding: 2, groups: 4 }],
  [
    "depthwise same s2, multiplier 2, dilation 2",
    [2, 3, 9, 9],
    [6, 1, 3, 3],
    { stride: 2, padding: "same", groups: 3, dilation: 2 },
  ],
  ["depthwise kernel wider than the image", [1, 2, 3, 2], [2, 1, 5, 5], { padding: 2, groups: 2 }],
  ["pointwise", [2, 8, 5, 7], [12, 8, 1, 1], {}],
  ["pointwise groups 2", [1, 8, 4, 4], [6, 4, 1, 1], { groups: 2 }],
  ["pointwise stride 2 (im2col)", [1, 8, 5, 5], [4, 8, 1, 1], { stride: 2 }],
  ["stem 3x3 s2", [1, 3, 16, 16], [16, 3, 3, 3], { stride: 2, padding: 1 }],
  ["patch embed 4x4 s4", [1, 3, 16, 16], [8, 3, 4, 4], { stride: 4 }],
  ["grouped 3x3 asymmetric padding", [1, 4, 7, 6], [6, 2, 3, 3], { padding: [1, 0, 2, 1], groups: 2 }],
];

test("conv2d fast paths (depthwise, pointwise GEMM, im2col GEMM) equal conv2dReference", () => {
  for (const [name, xShape, wShape, opts] of CONVS) {
    const x = syntheticTensor(`conv.${name}.x`, xShape, 1);
    const w = syntheticTensor(`conv.${name}.w`, wShape, 1);
    const b = syntheticTensor(`conv.${name}.b`, [wShape[0]], 1);
    const fast = conv2d(x, w, b, opts);
    const ref = conv2dReference(x, w, b, opts);
    assert.equal(fast.shape, ref.shape, name);
    if (wShape[1] === 1)
      assertClose(fast, ref, 1e-6, name); // depthwise: bias added first
    else assertSame(fast.data, ref.data, name);
  }
});

test("attention heads through the GEMM equal the row-at-a-time reference", () => {
  for (const [N, D, heads] of [
    [1, 12, 3],
    [17, 24, 2],
    [50, 64, 4],
  ]) {
    const qkv = syntheticTensor(`att.qkv${N}`, [N * 3 * D], 2).data;
    const fast = new Float32Array(N * D),
      ref = new Float32Array(N * D);
    attentionHeadsInto(qkv, fast, N, D, heads);
    attentionHeadsReference(qkv, ref, N, D, heads);
    assertClose(new Tensor(fast, [N, D]), new Tensor(ref, [N, D]), 1e-6, `attention N=${N} D=${D} heads=${heads}`);
  }
});

test.run();
