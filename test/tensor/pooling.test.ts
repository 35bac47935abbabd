// maxPool2d / avgPool2d / globalAvgPool against torch (gen_conv_kernels.py). TF "same" padding is
// goldened as F.pad (-inf for max, zeros plus a count of real cells for avg) then an unpadded pool.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  avgPool2d,
  globalAvgPool,
  maxPool2d,
  type AvgPool2dOptions,
  type MaxPool2dOptions,
} from "../../src/tensor/pooling.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError } from "./golden_cases.ts";

const golden = fixture("kernel_pooling");
const TOL = 1e-5; // float32 kernel (max pooling is exact: it copies an input value)

// MAX_POOL_CASES, AVG_POOL_CASES and GLOBAL_POOL_CASES of gen_conv_kernels.py
const MAX_CASES: [string, MaxPool2dOptions][] = [
  ["k3_s2_p1", { kernel: 3, stride: 2, padding: 1 }],
  ["k3_s2_p1_negative", { kernel: 3, stride: 2, padding: 1 }],
  ["k2_default_stride", { kernel: 2 }],
  ["k3_s2_ceil", { kernel: 3, stride: 2, ceilMode: true }],
  ["k3_s2_p1_ceil", { kernel: 3, stride: 2, padding: 1, ceilMode: true }],
  ["k2_s2_ceil_drops_last", { kernel: 2, stride: 2, padding: 1, ceilMode: true }],
  ["kernel_3x2_s21_p11", { kernel: [3, 2], stride: [2, 1], padding: [1, 1] }],
  ["same_s2_even_negative", { kernel: 3, stride: 2, padding: "same" }],
  ["same_s2_odd", { kernel: 3, stride: 2, padding: "same" }],
  ["same_s1_k2_negative", { kernel: 2, stride: 1, padding: "same" }],
  ["one_pixel_k3_s2_p1", { kernel: 3, stride: 2, padding: 1 }],
];
const AVG_CASES: [string, AvgPool2dOptions][] = [
  ["k3_s2_p1_include", { kernel: 3, stride: 2, padding: 1 }],
  ["k3_s2_p1_exclude", { kernel: 3, stride: 2, padding: 1, countIncludePad: false }],
  ["k2_default_stride", { kernel: 2 }],
  ["k3_s2_p1_ceil_include", { kernel: 3, stride: 2, padding: 1, ceilMode: true }],
  ["k3_s2_p1_ceil_exclude", { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
  ["kernel_3x2_p10_exclude", { kernel: [3, 2], stride: 1, padding: [1, 0], countIncludePad: false }],
  ["same_s2_even_exclude", { kernel: 3, stride: 2, padding: "same", countIncludePad: false }],
  ["same_s2_odd_include", { kernel: 3, stride: 2, padding: "same" }],
];
const GLOBAL_CASES = ["global_2x3x5x7", "global_one_pixel"];

test("the fixture has exactly the cases of these tables", () => {
  assertSameCases(golden.keys, [
    ...MAX_CASES.map(([n]) => `max_${n}`),
    ...AVG_CASES.map(([n]) => `avg_${n}`),
    ...GLOBAL_CASES,
  ]);
});

for (const [name, opts] of MAX_CASES) {
  test(`maxPool2d ${name} matches torch`, () => {
    assertClose(maxPool2d(golden.get(`max_${name}.x`), opts), golden.get(`max_${name}.out`), TOL, name);
  });
}

for (const [name, opts] of AVG_CASES) {
  test(`avgPool2d ${name} matches torch`, () => {
    assertClose(avgPool2d(golden.get(`avg_${name}.x`), opts), golden.get(`avg_${name}.out`), TOL, name);
  });
}

for (const name of GLOBAL_CASES) {
  test(`globalAvgPool ${name} matches torch adaptive_avg_pool2d(x, 1)`, () => {
    assertClose(globalAvgPool(golden.get(`${name}.x`)), golden.get(`${name}.out`), TOL, name);
  });
}

test("maxPool2d: padded cells never win, NaN propagates", () => {
  const negative = tensor([-5, -4, -3, -2], [1, 1, 2, 2]);
  assert.equal([...maxPool2d(negative, { kernel: 3, stride: 1, padding: 1 }).data], [-2, -2, -2, -2]);
  const withNaN = tensor([1, NaN, 3, 4], [1, 1, 2, 2]);
  assert.ok(Number.isNaN(maxPool2d(withNaN, { kernel: 2 }).data[0]));
});

test("pool errors name the op and the shapes", () => {
  const x = zeros([1, 2, 5, 5]);
  throwsShapeError(
    () => maxPool2d(x, { kernel: 3, padding: 2 }),
    "maxPool2d",
    "more than half the kernel 3x3",
    "[1, 2, 5, 5]",
  );
  throwsShapeError(() => avgPool2d(x, { kernel: 2, padding: [0, 0, 0, 2] }), "avgPool2d", "padding [0, 0, 0, 2]");
  throwsShapeError(() => maxPool2d(x, { kernel: 7 }), "maxPool2d", "kernel 7x7", "padded input 5x5");
  throwsShapeError(() => maxPool2d(x, { kernel: 0 }), "maxPool2d", "kernel must be");
  throwsShapeError(() => avgPool2d(x, { kernel: 2.5 }), "avgPool2d", "kernel must be");
  throwsShapeError(() => avgPool2d(x, { kernel: 2, stride: 0 }), "avgPool2d", "stride must be");
  throwsShapeError(() => maxPool2d(x, { kernel: 3, padding: "valid" as never }), "maxPool2d", "padding must be");
  throwsShapeError(() => maxPool2d(zeros([2, 5, 5]), { kernel: 2 }), "maxPool2d", "x must have rank 4", "[2, 5, 5]");
  throwsShapeError(() => globalAvgPool(zeros([2, 5])), "globalAvgPool", "x must have rank 4", "[2, 5]");
});

test.run();
