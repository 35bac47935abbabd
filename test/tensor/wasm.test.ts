// The wasm backend: the assembler's encodings, and the f32x4 GEMM against the reference triple loop
// (float32 sums against float64: 1e-5 of the output's scale, the per-kernel tolerance). The kernel
// and model goldens also run on wasm (test/runner/backends.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assemble, encodeInstruction, signedLeb, unsignedLeb } from "../../src/tensor/wasm/assembler.ts";
import { wasmGemm } from "../../src/tensor/wasm/gemm_wasm.ts";
import { wasmSupport } from "../../src/tensor/wasm/runtime.ts";
import { gemmArgs, type FusedActivation, type Gemm } from "../../src/tensor/gemm.ts";
import { attentionHeadsReference, conv2dReference, gemmReference } from "../../src/tensor/reference/index.ts";
import { conv2d, type Conv2dOptions } from "../../src/tensor/conv.ts";
import { wasmAttentionHeads } from "../../src/tensor/wasm/attention_wasm.ts";
import { availableBackends, backendName, setBackend } from "../../src/tensor/backend.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { skipUnless } from "../skip.ts";
import { declareConstant, invalidateConstant } from "../../src/tensor/constants.ts";
import { Tensor } from "../../src/tensor/tensor.ts";

const TOL = 1e-5;
const hasWasm = wasmSupport().simd;
const wasmTest = skipUnless(hasWasm, "WebAssembly SIMD does not validate here");

test("LEB128: unsigned and signed encodings of the spec's examples", () => {
  assert.equal(unsignedLeb(0), [0]);
  assert.equal(unsignedLeb(127), [0x7f]);
  assert.equal(unsignedLeb(128), [0x80, 0x01]);
  assert.equal(unsignedLeb(624485), [0xe5, 0x8e, 0x26]);
  assert.equal(signedLeb(-1), [0x7f]);
  assert.equal(signedLeb(63), [0x3f]);
  assert.equal(signedLeb(64), [0xc0, 0x00]);
  assert.equal(signedLeb(-123456), [0xc0, 0xbb, 0x78]);
});

test("instructions: opcode, prefix and immediates", () => {
  assert.equal(encodeInstruction(["i32.add"]), [0x6a]);
  assert.equal(encodeInstruction(["local.get", 300]), [0x20, 0xac, 0x02]);
  assert.equal(encodeInstruction(["f32.load", 8]), [0x2a, 2, 8]); // align 2^2, offset 8
  assert.equal(encodeInstruction(["v128.load", 16]), [0xfd, 0x00, 4, 16]);
  assert.equal(encodeInstruction(["f32x4.mul"]), [0xfd, 0xe6, 0x01]); // sub-opcode 230 in LEB128
  assert.equal(encodeInstruction(["f32x4.relaxed_madd"]), [0xfd, 0x85, 0x02]); // 0x105
  assert.throws(() => encodeInstruction(["f32x4.frobnicate"]), /unknown instruction 'f32x4.frobnicate'/);
  assert.throws(() => encodeInstruction(["local.get"]), /'local.get' needs immediate 1/);
});

test("an assembled module validates and runs (scalar add, SIMD sum of 4 floats)", () => {
  const bytes = assemble({
    memory: { minPages: 1 },
    functions: [
      {
        name: "add",
        params: { x: "i32", y: "i32" },
        results: ["i32"],
        locals: {},
        body: (l) => [["local.get", l.x], ["local.get", l.y], ["i32.add"]],
      },
    ],
  });
  assert.ok(WebAssembly.validate(bytes));
  const add = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.add as (x: number, y: number) => number;
  assert.is(add(40, 2), 42);
  bytes[bytes.length - 1] = 0x0a; // the body's `end` -> garbage: the module no longer validates
  assert.not.ok(WebAssembly.validate(bytes));
});

function problem(M: number, N: number, K: number, layout: "nt" | "nn", extra: Partial<Gemm> = {}) {
  const lda = K + 2,
    ldb = (layout === "nt" ? K : N) + 1,
    ldc = N + 3;
  const values = (name: string, n: number) => syntheticTensor(name, [n], 1).data;
  const base = {
    M,
    N,
    K,
    a: values(`wa${M}.${K}`, 5 + M * lda),
    aOffset: 5,
    lda,
    b: values(`wb${N}.${K}.${layout}`, 7 + (layout === "nt" ? N : K) * ldb),
    bOffset: 7,
    ldb,
    bLayout: layout,
    bias: values(`wbias${M}.${N}`, 4 + Math.max(M, N)),
    biasOffset: 4,
    ldc,
    cOffset: 11,
    ...extra,
  };
  const fill = () => new Float32Array(11 + M * ldc).fill(-7); // untouched cells stay -7
  return { g: gemmArgs({ ...base, c: fill() }), expected: gemmArgs({ ...base, c: fill() }) };
}

/** max |a - e| over the max |e|, and whether the cells outside C kept their -7. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0,
    scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    if (Number.isNaN(actual[i])) diff = Infinity;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

wasmTest("wasm gemm = reference (edge tiles, K = 1, strides, offsets, both layouts, both biases)", () => {
  const sizes = [1, 3, 4, 5, 8, 9, 17];
  for (const layout of ["nt", "nn"] as const) {
    for (const M of sizes) {
      for (const N of sizes) {
        for (const K of [1, 2, 7, 33]) {
          const biasPerRow = (M + N) % 2 === 0;
          const { g, expected } = problem(M, N, K, layout, K === 2 ? { bias: null } : { biasPerRow });
          wasmGemm(g);
          gemmReference(expected);
          const err = scaledError(g.c, expected.c);
          assert.ok(err <= TOL, `${layout} M=${M} N=${N} K=${K}: error ${err}`);
        }
      }
    }
  }
});

wasmTest("wasm gemm: every fused activation, at DeiT-Small's fc1 shape", () => {
  const acts: FusedActivation[] = ["none", "relu", "relu6", "hardswish", "hardsigmoid", "gelu", "silu", "sigmoid"];
  for (const activation of acts) {
    const { g, expected } = problem(13, 40, 384, "nt", { activation });
    for (const x of [g.a, g.b]) for (let i = 0; i < x.length; i++) x[i] *= 3; // reach relu6's and hardswish's clamps
    expected.a.set(g.a);
    expected.b.set(g.b);
    wasmGemm(g);
    gemmReference(expected);
    const err = scaledError(g.c, expected.c);
    assert.ok(err <= TOL, `${activation}: error ${err}`);
  }
});

wasmTest("wasm gemm: a weight declared constant is packed once; invalidateConstant drops the packed copy", () => {
  const { g, expected } = problem(6, 20, 30, "nt");
  const weight = new Tensor(g.b as Float32Array, [g.b.length]); // the array (with its offset and stride) is what is declared
  declareConstant(weight);
  for (let call = 0; call < 3; call++) wasmGemm(g); // the second and third calls use the packed panels
  gemmReference(expected);
  assert.ok(scaledError(g.c, expected.c) <= TOL);
  const before = Float32Array.from(g.c);
  g.b.fill(0.5); // changed in place: the packed copy is stale until invalidated (the contract)
  wasmGemm(g);
  assert.equal([...g.c], [...before], "a declared constant is not read again");
  invalidateConstant(weight);
  expected.b.fill(0.5);
  wasmGemm(g);
  gemmReference(expected);
  assert.ok(scaledError(g.c, expected.c) <= TOL, "stale panels were used after invalidateConstant");
});

wasmTest("wasm gemm: an array not declared constant is read afresh on every call", () => {
  const { g, expected } = problem(6, 20, 30, "nt");
  for (let call = 0; call < 3; call++) wasmGemm(g);
  g.b.fill(0.25);
  expected.b.fill(0.25);
  wasmGemm(g);
  gemmReference(expected);
  assert.ok(scaledError(g.c, expected.c) <= TOL);
});

wasmTest(
  "wasm conv (pointwise / dense) = conv2dReference: strides, paddings, groups, activations, constants, fallbacks",
  () => {
    const cases: [string, number[], number[], Conv2dOptions][] = [
      ["1x1 (P multiple of 8)", [1, 16, 8, 8], [24, 16, 1, 1], {}],
      ["1x1 (P = 49)", [2, 12, 7, 7], [9, 12, 1, 1], { activation: "hardswish" }],
      ["1x1 groups 2", [1, 8, 5, 6], [6, 4, 1, 1], { groups: 2, activation: "relu6" }],
      ["stem 3x3 s2 p1", [1, 3, 15, 17], [16, 3, 3, 3], { stride: 2, padding: 1, activation: "hardswish" }],
      ["7x7 s2 p3", [1, 3, 20, 20], [8, 3, 7, 7], { stride: 2, padding: 3, activation: "relu" }],
      ["3x3 s1 p1", [1, 5, 9, 10], [7, 5, 3, 3], { padding: 1 }],
      ["3x3 asymmetric same", [1, 4, 8, 9], [5, 4, 3, 3], { stride: 2, padding: "same", activation: "hardsigmoid" }],
      ["1x1 stride 2 (im2col)", [1, 6, 9, 9], [4, 6, 1, 1], { stride: 2 }],
      ["kernel larger than the image", [1, 2, 2, 3], [3, 2, 5, 5], { padding: 2 }],
      ["3x3 gelu (fallback)", [1, 4, 6, 6], [5, 4, 3, 3], { padding: 1, activation: "gelu" }],
      ["3x3 dilation 2 (fallback)", [1, 3, 9, 9], [4, 3, 3, 3], { padding: 2, dilation: 2 }],
    ];
    setBackend("wasm");
    try {
      for (const constant of [false, true]) {
        for (const [name, xShape, wShape, opts] of cases) {
          const x = syntheticTensor(`cv.${name}.x`, xShape, 1);
          const w = syntheticTensor(`cv.${name}.w`, wShape, 1);
          const b = syntheticTensor(`cv.${name}.b`, [wShape[0]], 1);
          if (constant) declareConstant(w, b);
          const ref = conv2dReference(x, w, b, opts);
          for (let call = 0; call < 2; call++) {
            const fast = conv2d(x, w, b, opts);
            assert.equal(fast.shape, ref.shape, name);
            const err = scaledError(fast.data, ref.data);
            assert.ok(err <= TOL, `${name} (constant ${constant}, call ${call}): error ${err}`);
          }
        }
      }
    } finally {
      setBackend("js");
    }
  },
);

wasmTest("the check can fail: a wrong bias breaks the comparison", () => {
  const { g, expected } = problem(5, 9, 17, "nt");
  wasmGemm(g);
  expected.bias = new Float32Array(expected.bias!.length).fill(0.01);
  gemmReference(expected);
  assert.ok(scaledError(g.c, expected.c) > 100 * TOL);
});

wasmTest("wasm attention heads = the row-at-a-time reference (N and head widths off the 4x8 tiles)", () => {
  for (const [N, D, heads] of [
    [1, 12, 3],
    [17, 24, 2],
    [50, 64, 4],
    [197, 384, 6],
  ]) {
    const qkv = syntheticTensor(`att.qkv${N}`, [N * 3 * D], 2).data;
    const fast = new Float32Array(N * D).fill(NaN),
      ref = new Float32Array(N * D);
    wasmAttentionHeads(qkv, fast, N, D, heads);
    attentionHeadsReference(qkv, ref, N, D, heads);
    const err = scaledError(fast, ref);
    assert.ok(err <= TOL, `attention N=${N} D=${D} heads=${heads}: error ${err}`);
  }
});

wasmTest(
  "wasm depthwise = conv2dReference (3x3 / 5x5, stride 1 / 2, paddings, odd sizes, activations, fallbacks)",
  () => {
    const cases: [string, number[], number, Conv2dOptions][] = [
      ["3x3 s1 p1", [2, 5, 9, 11], 3, { padding: 1 }],
      ["3x3 s2 p1", [1, 4, 12, 13], 3, { stride: 2, padding: 1 }],
      ["5x5 s1 p2", [1, 3, 7, 5], 5, { padding: 2 }],
      ["5x5 s2 p2", [1, 6, 14, 14], 5, { stride: 2, padding: 2, activation: "hardswish" }],
      ["3x3 s2 same", [1, 2, 8, 9], 3, { stride: 2, padding: "same", activation: "relu" }],
      // wide rows: stride 2's layout copies 8 columns at a time (odd and even left, ragged ends)
      ["3x3 s2 p1 wide", [1, 3, 5, 37], 3, { stride: 2, padding: 1 }],
      ["5x5 s2 p2 wide", [1, 2, 6, 40], 5, { stride: 2, padding: 2 }],
      ["3x3 s2 p0 wide", [1, 2, 7, 33], 3, { stride: 2, padding: 0 }],
      ["3x3 s1 asymmetric", [1, 3, 6, 7], 3, { padding: [1, 0, 2, 1], activation: "relu6" }],
      ["5x5 wider than the image", [1, 2, 3, 2], 5, { padding: 2, activation: "hardsigmoid" }],
      ["3x3 gelu (JS fallback)", [1, 2, 5, 5], 3, { padding: 1, activation: "gelu" }],
      ["3x3 dilation 2 (JS fallback)", [1, 2, 9, 9], 3, { padding: 2, dilation: 2 }],
    ];
    setBackend("wasm");
    try {
      for (const [name, xShape, k, opts] of cases) {
        const C = xShape[1];
        const x = syntheticTensor(`dw.${name}.x`, xShape, 1);
        const w = syntheticTensor(`dw.${name}.w`, [C, 1, k, k], 1);
        const b = syntheticTensor(`dw.${name}.b`, [C], 1);
        const fast = conv2d(x, w, b, { ...opts, groups: C });
        const ref = conv2dReference(x, w, b, { ...opts, groups: C });
        assert.equal(fast.shape, ref.shape, name);
        const err = scaledError(fast.data, ref.data);
        assert.ok(err <= TOL, `${name}: error ${err}`);
      }
    } finally {
      setBackend("js");
    }
  },
);

test("setBackend: js always available; unknown names and the active one reported", () => {
  const before = backendName();
  assert.ok(availableBackends().includes("js"));
  assert.throws(() => setBackend("gpu" as never), /unknown backend 'gpu' \(known: js, wasm\)/);
  setBackend("js");
  assert.is(backendName(), "js");
  if (hasWasm) {
    setBackend("wasm");
    assert.is(backendName(), "wasm");
  }
  setBackend(before);
});

test.run();
