// batchNorm against torch.nn.BatchNorm2d in eval mode, and foldBatchNorm against torch's
// bn(conv(x)): conv2d with the folded weights must give the unfused result (gen_conv_kernels.py).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { batchNorm, foldBatchNorm, type BatchNormParams } from "../../src/tensor/norm.ts";
import { conv2d, type Conv2dOptions } from "../../src/tensor/conv.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor, tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError } from "./golden_cases.ts";

const golden = fixture("kernel_batchnorm");
const TOL = 1e-5; // float32 kernel

const plusOne = (t: Tensor) =>
  new Tensor(
    t.data.map((v) => 1 + v),
    t.shape,
  );

/** The same parameters as bn_params() in gen_conv_kernels.py. */
function bnParams(prefix: string, channels: number, eps: number): BatchNormParams {
  return {
    weight: plusOne(syntheticTensor(`${prefix}.weight`, [channels], 0.5)),
    bias: syntheticTensor(`${prefix}.bias`, [channels], 0.5),
    runningMean: syntheticTensor(`${prefix}.running_mean`, [channels], 0.5),
    runningVar: plusOne(syntheticTensor(`${prefix}.running_var`, [channels], 0.9)),
    eps,
  };
}

// The tables BN_CASES and FOLD_CASES of gen_conv_kernels.py.
const BN_CASES: [string, number][] = [
  ["eps1e-5", 1e-5],
  ["eps1e-3_one_pixel", 1e-3],
];
const FOLD_CASES: [string, number[], boolean, Conv2dOptions, number][] = [
  ["conv3x3_no_bias", [5, 3, 3, 3], false, { stride: 2, padding: 1 }, 1e-5],
  ["conv1x1_bias", [4, 6, 1, 1], true, {}, 1e-3],
  ["depthwise", [4, 1, 3, 3], false, { padding: 1, groups: 4 }, 1e-5],
];

test("the fixture has exactly the cases of these tables", () => {
  assertSameCases(golden.keys, [...BN_CASES.map(([n]) => n), ...FOLD_CASES.map(([n]) => `fold_${n}`)]);
});

for (const [name, eps] of BN_CASES) {
  test(`batchNorm ${name} matches torch BatchNorm2d.eval()`, () => {
    const x = golden.get(`${name}.x`);
    assertClose(batchNorm(x, bnParams(`bn.${name}`, x.shape[1], eps)), golden.get(`${name}.out`), TOL, name);
  });
}

for (const [name, wShape, hasBias, opts, eps] of FOLD_CASES) {
  test(`foldBatchNorm ${name}: conv(x, folded) matches torch bn(conv(x)), and so does batchNorm(conv(x))`, () => {
    const x = golden.get(`fold_${name}.x`);
    const weight = syntheticTensor(`fold.${name}.weight`, wShape, 0.5);
    const bias = hasBias ? syntheticTensor(`fold.${name}.bias`, [wShape[0]], 0.5) : null;
    const bn = bnParams(`fold.${name}.bn`, wShape[0], eps);
    const expected = golden.get(`fold_${name}.out`);
    const folded = foldBatchNorm(weight, bias, bn);
    assertClose(conv2d(x, folded.weight, folded.bias, opts), expected, TOL, `${name} folded`);
    assertClose(batchNorm(conv2d(x, weight, bias, opts), bn), expected, TOL, `${name} unfused`);
  });
}

test("batchNorm by hand: (x - mean) / sqrt(var + eps) * weight + bias", () => {
  const bn: BatchNormParams = {
    weight: tensor([2, 1], [2]),
    bias: tensor([1, -1], [2]),
    runningMean: tensor([1, 0], [2]),
    runningVar: tensor([4, 0.25], [2]),
    eps: 0,
  };
  const out = batchNorm(tensor([3, 5, 1, -1], [1, 2, 1, 2]), bn);
  assert.equal([...out.data], [((3 - 1) / 2) * 2 + 1, ((5 - 1) / 2) * 2 + 1, 1 / 0.5 - 1, -1 / 0.5 - 1]);
});

test("batchNorm and foldBatchNorm do not modify their inputs", () => {
  const bn = bnParams("bn.inputs", 3, 1e-5);
  const x = syntheticTensor("bn.inputs.x", [1, 3, 2, 2], 1);
  const w = syntheticTensor("bn.inputs.w", [3, 3, 1, 1], 1);
  const b = syntheticTensor("bn.inputs.b", [3], 1);
  const before = [x.data.slice(), w.data.slice(), b.data.slice(), bn.weight.data.slice(), bn.runningVar.data.slice()];
  batchNorm(x, bn);
  foldBatchNorm(w, b, bn);
  assert.equal([x.data, w.data, b.data, bn.weight.data, bn.runningVar.data], before);
});

test("batchNorm / foldBatchNorm errors name the op, the parameter and both shapes", () => {
  const bn = bnParams("bn.errors", 3, 1e-5);
  throwsShapeError(
    () => batchNorm(zeros([1, 4, 2, 2]), bn),
    "batchNorm",
    "bn.weight [3]",
    "x [1, 4, 2, 2]",
    "expected [4]",
  );
  throwsShapeError(() => batchNorm(zeros([4, 2, 2]), bn), "batchNorm", "x must have rank 4", "[4, 2, 2]");
  throwsShapeError(
    () => batchNorm(zeros([1, 3, 2, 2]), { ...bn, runningVar: zeros([2]) }),
    "batchNorm",
    "bn.runningVar [2]",
    "expected [3]",
  );
  throwsShapeError(
    () => foldBatchNorm(zeros([4, 3, 3, 3]), null, bn),
    "foldBatchNorm",
    "bn.weight [3]",
    "convWeight [4, 3, 3, 3]",
    "expected [4]",
  );
  throwsShapeError(
    () => foldBatchNorm(zeros([3, 3, 3, 3]), zeros([4]), bn),
    "foldBatchNorm",
    "convBias [4]",
    "expected [3]",
  );
});

test.run();
