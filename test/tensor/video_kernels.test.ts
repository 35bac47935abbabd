// The video kernels against torch (tools/golden/gen_video_kernels.py): conv3d (F.conv3d), maxPool3d /
// avgPool3d / globalAvgPool3d (F.max_pool3d, F.avg_pool3d, F.adaptive_avg_pool3d) and interpolateTrilinear
// (F.interpolate mode="trilinear", align_corners false and true); conv3d's paths also against
// conv3dReference, including a clip whose im2col runs in several runs of output frames.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { conv3d, type Conv3dOptions } from "../../src/tensor/conv3d.ts";
import { relu } from "../../src/tensor/elementwise.ts";
import { interpolateTrilinear } from "../../src/tensor/interpolate3d.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import {
  avgPool3d,
  globalAvgPool3d,
  maxPool3d,
  type AvgPool3dOptions,
  type MaxPool3dOptions,
} from "../../src/tensor/pooling3d.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { conv3dReference } from "../../src/tensor/reference/conv3d.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError, throwsWith } from "./golden_cases.ts";

const golden = fixture("video_kernels");
// Relative to the output's largest value. The JS kernels sum in float64 and round once (torch sums in
// float32, ~1e-7 relative apart on these <= 432-term sums); the wasm GEMM sums in float32 in another order
// (a few 1e-7). 1e-5 is the bound of the 2-D kernel goldens; max pooling is exact (it copies a value).
const TOL = 1e-5;

// CONV3D_CASES of gen_video_kernels.py: name, weight shape, bias, options
const CONV_CASES: [string, number[], boolean, Conv3dOptions][] = [
  ["k1_pointwise", [8, 6, 1, 1, 1], true, {}],
  ["k1_stride2_no_bias", [4, 6, 1, 1, 1], false, { stride: 2 }],
  ["k3_pad1", [4, 3, 3, 3, 3], true, { padding: 1 }],
  ["k3_stride2_pad1_no_bias", [6, 4, 3, 3, 3], false, { stride: 2, padding: 1 }],
  ["k3_no_padding_batch2", [3, 2, 3, 3, 3], true, {}],
  ["stem_3x7x7_s122_p133", [5, 3, 3, 7, 7], false, { stride: [1, 2, 2], padding: [1, 3, 3] }],
  ["kernel_3x2x3_s213_p011", [4, 3, 3, 2, 3], true, { stride: [2, 1, 3], padding: [0, 1, 1] }],
  ["temporal_3x1x1_p100", [5, 4, 3, 1, 1], true, { padding: [1, 0, 0] }],
  ["groups2", [6, 2, 3, 3, 3], true, { padding: 1, groups: 2 }],
  ["depthwise", [6, 1, 3, 3, 3], true, { padding: 1, groups: 6 }],
  ["depthwise_s122_no_bias", [4, 1, 3, 3, 3], false, { stride: [1, 2, 2], padding: 1, groups: 4 }],
  ["depthwise_multiplier2_3x5x5", [6, 1, 3, 5, 5], true, { padding: [1, 2, 2], groups: 3 }],
  ["one_cell_k3_pad1", [4, 3, 3, 3, 3], true, { padding: 1 }],
  ["wider_16_to_24", [24, 16, 3, 3, 3], true, { padding: 1 }],
];
// MAX_POOL3D_CASES, AVG_POOL3D_CASES, GLOBAL_POOL3D_CASES
const MAX_CASES: [string, MaxPool3dOptions][] = [
  ["k3_s2_p1", { kernel: 3, stride: 2, padding: 1 }],
  ["k3_s2_p1_negative", { kernel: 3, stride: 2, padding: 1 }],
  ["k2_default_stride", { kernel: 2 }],
  ["k133_s122_p011", { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] }],
  ["one_cell_k3_s2_p1", { kernel: 3, stride: 2, padding: 1 }],
];
const AVG_CASES: [string, AvgPool3dOptions][] = [
  ["k3_s2_p1_include", { kernel: 3, stride: 2, padding: 1 }],
  ["k3_s2_p1_exclude", { kernel: 3, stride: 2, padding: 1, countIncludePad: false }],
  ["k2_default_stride", { kernel: 2 }],
  ["k3_s1_p1_include", { kernel: 3, stride: 1, padding: 1 }],
  ["k133_s1_p011_exclude", { kernel: [1, 3, 3], stride: 1, padding: [0, 1, 1], countIncludePad: false }],
];
const GLOBAL_CASES = ["global_2x3x4x5x6", "global_one_cell"];
// TRILINEAR_CASES: name, size, alignCorners
const TRILINEAR_CASES: [string, [number, number, number], boolean][] = [];
for (const align of [false, true]) {
  const tag = align ? "align" : "noalign";
  TRILINEAR_CASES.push(
    [`${tag}_up`, [5, 7, 9], align],
    [`${tag}_down`, [3, 5, 7], align],
    [`${tag}_mixed_to_1x1x3`, [1, 1, 3], align],
    [`${tag}_same_size`, [3, 4, 4], align],
    [`${tag}_1x1x1_to_4x6x6`, [4, 6, 6], align],
  );
}
TRILINEAR_CASES.push(["papr_align_8x5x5_to_8x14x14", [8, 14, 14], true]);

test("the fixture has exactly the cases of these tables", () => {
  assertSameCases(golden.keys, [
    ...CONV_CASES.map(([name]) => `conv3d_${name}`),
    ...MAX_CASES.map(([name]) => `maxpool3d_${name}`),
    ...AVG_CASES.map(([name]) => `avgpool3d_${name}`),
    ...GLOBAL_CASES.map((name) => `pool3d_${name}`),
    ...TRILINEAR_CASES.map(([name]) => `trilinear_${name}`),
  ]);
});

const convWeights = (name: string, wShape: number[], hasBias: boolean) => ({
  weight: syntheticTensor(`conv3d.${name}.weight`, wShape, 0.5),
  bias: hasBias ? syntheticTensor(`conv3d.${name}.bias`, [wShape[0]], 0.5) : null,
});

for (const [name, wShape, hasBias, opts] of CONV_CASES) {
  test(`conv3d ${name} matches torch and conv3dReference`, () => {
    const x = golden.get(`conv3d_${name}.x`);
    const { weight, bias } = convWeights(name, wShape, hasBias);
    const expected = golden.get(`conv3d_${name}.out`);
    assertClose(conv3d(x, weight, bias, opts), expected, TOL, name);
    assertClose(conv3dReference(x, weight, bias, opts), expected, TOL, `${name} (reference)`);
  });
}

test("conv3d with a fused ReLU equals relu(conv3d) on the dense, pointwise and depthwise paths", () => {
  for (const name of ["k3_stride2_pad1_no_bias", "k1_pointwise", "depthwise_s122_no_bias"]) {
    const [, wShape, hasBias, opts] = CONV_CASES.find(([n]) => n === name)!;
    const x = golden.get(`conv3d_${name}.x`);
    const { weight, bias } = convWeights(name, wShape, hasBias);
    const fused = conv3d(x, weight, bias, { ...opts, activation: "relu" });
    assert.equal([...fused.data], [...relu(conv3d(x, weight, bias, opts)).data], name);
  }
});

test("conv3d im2col in runs of output frames (K*P over the 4M-float scratch) equals conv3dReference", () => {
  // K = 16*3*3*3 = 432 taps, 8 output frames of 40x40: 5.5M floats per clip; a run of 6 frames, then 2
  const x = syntheticTensor("conv3d.runs.x", [1, 16, 8, 40, 40], 1);
  const w = syntheticTensor("conv3d.runs.w", [2, 16, 3, 3, 3], 0.5);
  const b = syntheticTensor("conv3d.runs.b", [2], 0.5);
  const opts: Conv3dOptions = { padding: [1, 1, 1] };
  const expected = conv3dReference(x, w, b, opts);
  assertClose(conv3d(x, w, b, opts), expected, TOL, "runs of frames");
});

test("conv3d reports out_elements * (C/groups) * kt * kh * kw MACs", () => {
  const x = zeros([1, 4, 5, 9, 9]);
  const macs = (f: () => unknown) => countMacs(f).macs;
  assert.is(
    macs(() => conv3d(x, zeros([6, 2, 3, 3, 3]), null, { groups: 2, stride: 2, padding: 1 })),
    6 * (3 * 5 * 5) * 2 * 27,
  );
  assert.is(
    macs(() => conv3d(x, zeros([4, 1, 3, 3, 3]), null, { groups: 4, padding: 1 })),
    4 * 5 * 81 * 27,
  );
  assert.is(
    macs(() => conv3d(x, zeros([8, 4, 1, 1, 1]))),
    8 * 5 * 81 * 4,
  );
});

test("conv3d does not modify its inputs", () => {
  const x = syntheticTensor("conv3d.inputs.x", [1, 4, 3, 5, 5], 1);
  const w = syntheticTensor("conv3d.inputs.w", [4, 2, 3, 3, 3], 1);
  const b = syntheticTensor("conv3d.inputs.b", [4], 1);
  const before = [x.data.slice(), w.data.slice(), b.data.slice()];
  conv3d(x, w, b, { padding: 1, groups: 2 });
  assert.equal([x.data, w.data, b.data], before);
});

test("conv3d errors name the op and the shapes", () => {
  const x = zeros([1, 4, 3, 5, 5]);
  throwsShapeError(
    () => conv3d(x, zeros([6, 3, 3, 3, 3]), null, { groups: 2 }),
    "conv3d",
    "[1, 4, 3, 5, 5]",
    "[6, 3, 3, 3, 3]",
    "groups=2 expects 6",
  );
  throwsShapeError(() => conv3d(x, zeros([5, 2, 3, 3, 3]), null, { groups: 2 }), "not divisible by groups=2");
  throwsShapeError(() => conv3d(x, zeros([2, 4, 3, 3, 3]), zeros([3])), "conv3d", "bias [3]", "expected [2]");
  throwsShapeError(
    () => conv3d(x, zeros([2, 4, 5, 3, 3])),
    "conv3d",
    "kernel 5x3x3",
    "padded input 3x5x5",
    "[1, 4, 3, 5, 5]",
  );
  throwsShapeError(() => conv3d(zeros([1, 4, 5, 5]), zeros([2, 4, 3, 3, 3])), "conv3d", "x must have rank 5");
  throwsShapeError(() => conv3d(x, zeros([2, 4, 3, 3])), "conv3d", "weight must have rank 5", "[2, 4, 3, 3]");
  throwsShapeError(() => conv3d(x, zeros([2, 4, 1, 1, 1]), null, { stride: [1, 2] as never }), "stride", "[1,2]");
  throwsShapeError(() => conv3d(x, zeros([2, 4, 1, 1, 1]), null, { padding: -1 }), "padding", "-1");
  throwsShapeError(() => conv3d(x, zeros([2, 4, 1, 1, 1]), null, { groups: 0 }), "groups must be an integer >= 1");
  assert.throws(() => conv3d(x, zeros([2, 4, 1, 1, 1]), null, { activation: "tanh" as never }), /unknown activation/);
});

for (const [name, opts] of MAX_CASES) {
  test(`maxPool3d ${name} matches torch exactly`, () => {
    const out = maxPool3d(golden.get(`maxpool3d_${name}.x`), opts);
    const expected = golden.get(`maxpool3d_${name}.out`);
    assert.equal(out.shape, expected.shape);
    assert.equal([...out.data], [...expected.data]);
  });
}

for (const [name, opts] of AVG_CASES) {
  test(`avgPool3d ${name} matches torch`, () => {
    assertClose(avgPool3d(golden.get(`avgpool3d_${name}.x`), opts), golden.get(`avgpool3d_${name}.out`), TOL, name);
  });
}

for (const name of GLOBAL_CASES) {
  test(`globalAvgPool3d ${name} matches torch`, () => {
    assertClose(globalAvgPool3d(golden.get(`pool3d_${name}.x`)), golden.get(`pool3d_${name}.out`), TOL, name);
  });
}

test("maxPool3d propagates NaN; pool errors name the op and the shapes", () => {
  const x = tensor([1, NaN, 2, 3, 4, 5, 6, 7], [1, 1, 2, 2, 2]);
  assert.ok(Number.isNaN(maxPool3d(x, { kernel: 2 }).data[0]));
  throwsShapeError(() => maxPool3d(zeros([1, 2, 4, 4]), { kernel: 2 }), "maxPool3d", "x must have rank 5");
  throwsShapeError(
    () => avgPool3d(zeros([1, 1, 4, 4, 4]), { kernel: 3, padding: 2 }),
    "avgPool3d",
    "padding [2, 2, 2] is more than half the kernel 3x3x3",
  );
  throwsShapeError(
    () => maxPool3d(zeros([1, 1, 2, 4, 4]), { kernel: 3 }),
    "maxPool3d",
    "kernel 3x3x3",
    "padded input 2x4x4",
  );
  throwsShapeError(() => maxPool3d(zeros([1, 1, 2, 4, 4]), { kernel: [1, 2] as never }), "kernel", "[1,2]");
  throwsShapeError(() => maxPool3d(zeros([1, 1, 2, 4, 4]), undefined as never), "options { kernel, ... }");
  throwsShapeError(() => globalAvgPool3d(zeros([1, 2, 0, 3, 3])), "globalAvgPool3d", "no cells");
});

for (const [name, size, align] of TRILINEAR_CASES) {
  test(`interpolateTrilinear ${name} matches torch`, () => {
    const out = interpolateTrilinear(golden.get(`trilinear_${name}.x`), size, align);
    assertClose(out, golden.get(`trilinear_${name}.out`), TOL, name);
  });
}

test("interpolateTrilinear errors name the op and the shapes", () => {
  const x = zeros([1, 2, 3, 4, 4]);
  throwsShapeError(() => interpolateTrilinear(zeros([1, 2, 4, 4]), [2, 2, 2], true), "x must have rank 5");
  throwsShapeError(
    () => interpolateTrilinear(x, [8, 14] as never, true),
    "interpolateTrilinear",
    "size must be three integers",
    "[1, 2, 3, 4, 4]",
  );
  throwsShapeError(() => interpolateTrilinear(x, [8, 0, 14], true), "[8,0,14]");
  throwsShapeError(() => interpolateTrilinear(zeros([1, 2, 0, 4, 4]), [2, 2, 2], true), "no cells");
  throwsWith(TypeError, () => interpolateTrilinear(x, [2, 2, 2], "yes" as never), [
    "alignCorners must be true or false",
  ]);
});

test.run();
