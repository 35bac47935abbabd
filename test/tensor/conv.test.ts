// conv2d against torch.nn.functional.conv2d (tools/golden/gen_conv_kernels.py). Asymmetric and TF "same"
// padding are goldened as F.pad followed by an unpadded torch conv.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { conv2d, type Conv2dOptions } from "../../src/tensor/conv.ts";
import { samePadding } from "../../src/tensor/window.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError } from "./golden_cases.ts";

const golden = fixture("kernel_conv");
const TOL = 1e-5; // float32 kernel

// name, weight shape, bias, options: the same table as CONV_CASES in gen_conv_kernels.py
const CASES: [string, number[], boolean, Conv2dOptions][] = [
  ["basic_3x3", [4, 3, 3, 3], true, { padding: 1 }],
  ["no_padding_no_bias", [2, 3, 3, 3], false, {}],
  ["stride2_pad3_7x7", [5, 3, 7, 7], true, { stride: 2, padding: 3 }],
  ["pad_hw_kernel_3x2", [3, 2, 3, 2], true, { padding: [2, 0] }],
  ["asymmetric_padding", [4, 3, 3, 3], true, { padding: [1, 2, 0, 3] }],
  ["same_stride2_even", [4, 3, 3, 3], true, { stride: 2, padding: "same" }],
  ["same_stride2_odd_5x5", [4, 3, 5, 5], false, { stride: 2, padding: "same" }],
  ["same_stride1_even_kernel", [3, 2, 4, 4], true, { padding: "same" }],
  ["dilation2", [4, 3, 3, 3], true, { padding: 2, dilation: 2 }],
  ["mixed_stride_dilation", [2, 3, 3, 3], true, { stride: [2, 1], padding: [1, 2], dilation: [1, 2] }],
  ["groups2", [6, 2, 3, 3], true, { padding: 1, groups: 2 }],
  ["groups2_dilation2_no_bias", [4, 3, 3, 3], false, { padding: 2, dilation: 2, groups: 2 }],
  ["depthwise_stride2", [6, 1, 3, 3], true, { stride: 2, padding: 1, groups: 6 }],
  ["depthwise_multiplier2", [6, 1, 5, 5], false, { padding: 2, groups: 3 }],
  ["depthwise_same_stride2", [4, 1, 5, 5], true, { stride: 2, padding: "same", groups: 4 }],
  ["depthwise_same_stride2_odd", [4, 1, 3, 3], true, { stride: 2, padding: "same", groups: 4 }],
  ["pointwise", [12, 8, 1, 1], true, {}],
  ["pointwise_stride2_no_bias", [16, 8, 1, 1], false, { stride: 2 }],
  ["one_pixel_1x1", [7, 5, 1, 1], true, {}],
  ["one_pixel_3x3_pad1", [4, 3, 3, 3], true, { padding: 1 }],
  ["wider_16_to_32", [32, 16, 3, 3], true, { padding: 1 }],
];

test("the fixture has exactly the cases of this table", () => {
  assertSameCases(
    golden.keys,
    CASES.map(([name]) => name),
  );
});

for (const [name, wShape, hasBias, opts] of CASES) {
  test(`conv2d ${name} matches torch`, () => {
    const x = golden.get(`${name}.x`);
    const weight = syntheticTensor(`conv.${name}.weight`, wShape, 0.5);
    const bias = hasBias ? syntheticTensor(`conv.${name}.bias`, [wShape[0]], 0.5) : null;
    assertClose(conv2d(x, weight, bias, opts), golden.get(`${name}.out`), TOL, name);
  });
}

test("TF SAME padding: known TensorFlow values (pad after on even sizes with stride 2)", () => {
  assert.equal(samePadding(224, 3, 2), [0, 1]);
  assert.equal(samePadding(225, 3, 2), [1, 1]);
  assert.equal(samePadding(7, 4, 1), [1, 2]);
  assert.equal(samePadding(224, 1, 2), [0, 0]);
  assert.equal(samePadding(9, 3, 1, 2), [2, 2]); // dilated span 5
});

test("conv2d reports out_elements * (C/groups) * kh * kw MACs (depthwise and grouped too)", () => {
  const x = zeros([1, 4, 9, 9]);
  assert.is(
    countMacs(() => conv2d(x, zeros([6, 2, 3, 3]), null, { groups: 2, stride: 2, padding: 1 })).macs,
    6 * 5 * 5 * 2 * 9,
  );
  assert.is(countMacs(() => conv2d(x, zeros([4, 1, 3, 3]), null, { groups: 4, padding: 1 })).macs, 4 * 9 * 9 * 9);
});

test("conv2d does not modify its inputs", () => {
  const x = syntheticTensor("conv.inputs.x", [1, 4, 5, 5], 1);
  const w = syntheticTensor("conv.inputs.w", [4, 2, 3, 3], 1);
  const b = syntheticTensor("conv.inputs.b", [4], 1);
  const before = [x.data.slice(), w.data.slice(), b.data.slice()];
  conv2d(x, w, b, { padding: 1, groups: 2 });
  assert.equal([x.data, w.data, b.data], before);
});

test("conv2d errors name the op and both shapes", () => {
  const x = zeros([1, 4, 5, 5]);
  throwsShapeError(
    () => conv2d(x, zeros([6, 3, 3, 3]), null, { groups: 2 }),
    "conv2d",
    "[1, 4, 5, 5]",
    "[6, 3, 3, 3]",
    "groups=2",
  );
  throwsShapeError(() => conv2d(x, zeros([6, 3, 3, 3]), null), "conv2d", "has 4 channels", "groups=1 expects 3");
  throwsShapeError(
    () => conv2d(x, zeros([5, 2, 3, 3]), null, { groups: 2 }),
    "conv2d",
    "[5, 2, 3, 3]",
    "not divisible by groups=2",
  );
  throwsShapeError(() => conv2d(x, zeros([4, 4, 3, 3]), null, { groups: 3 }), "conv2d", "groups=3");
  throwsShapeError(
    () => conv2d(x, zeros([2, 4, 9, 9]), null, { padding: 1 }),
    "conv2d",
    "kernel 9x9",
    "padded input 7x7",
    "[1, 4, 5, 5]",
  );
  throwsShapeError(
    () => conv2d(x, zeros([2, 4, 3, 3]), null, { dilation: 3 }),
    "conv2d",
    "dilated span 7x7",
    "padded input 5x5",
  );
  throwsShapeError(() => conv2d(x, zeros([2, 4, 3, 3]), zeros([3])), "conv2d", "bias [3]", "expected [2]");
  throwsShapeError(() => conv2d(zeros([4, 5, 5]), zeros([2, 4, 3, 3])), "conv2d", "x must have rank 4", "[4, 5, 5]");
  throwsShapeError(() => conv2d(x, zeros([2, 4, 3]) as never), "conv2d", "weight must have rank 4");
});

test("conv2d rejects bad padding, stride, dilation and groups specs", () => {
  const x = zeros([1, 2, 5, 5]);
  const w = zeros([2, 2, 3, 3]);
  for (const padding of [-1, 1.5, [1, 2, 3], [1, 2, 3, -4], "valid", [1, NaN]]) {
    throwsShapeError(
      () => conv2d(x, w, null, { padding: padding as never }),
      "conv2d",
      "padding must be",
      JSON.stringify(padding),
    );
  }
  for (const stride of [0, 1.5, [2, 0], [1, 2, 3]]) {
    throwsShapeError(() => conv2d(x, w, null, { stride: stride as never }), "conv2d", "stride must be");
  }
  throwsShapeError(() => conv2d(x, w, null, { dilation: 0 }), "conv2d", "dilation must be");
  throwsShapeError(() => conv2d(x, w, null, { groups: 0 }), "conv2d", "groups must be");
});

test("conv2d with a hand-computed 1-channel example (padding 1, stride 2)", () => {
  // x = 1..9 as 3x3, kernel all ones, padding 1, stride 2 -> the four corner 2x2 (and edge) sums
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  const w = tensor(new Array(9).fill(1), [1, 1, 3, 3]);
  const out = conv2d(x, w, tensor([10], [1]), { stride: 2, padding: 1 });
  assert.equal(out.shape, [1, 1, 2, 2]);
  assert.equal([...out.data], [1 + 2 + 4 + 5 + 10, 2 + 3 + 5 + 6 + 10, 4 + 5 + 7 + 8 + 10, 5 + 6 + 8 + 9 + 10]);
});

test.run();
