import { test } from "uvu";
import * as assert from "uvu/assert";
import { matmul, batchedMatmul, linear } from "../../src/tensor/linear.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { syntheticParameter } from "../../src/models/synthetic.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_linear");
const TOL = 1e-5;

test("matmul matches torch on odd, square, 1x1 and single-column sizes", () => {
  for (const name of ["odd", "one", "square", "column"]) {
    const out = matmul(golden.get(`matmul.${name}.a`), golden.get(`matmul.${name}.b`));
    assertClose(out, golden.get(`matmul.${name}.out`), TOL, `matmul ${name}`);
  }
});

test("batchedMatmul matches torch.bmm", () => {
  assertClose(batchedMatmul(golden.get("bmm.a"), golden.get("bmm.b")), golden.get("bmm.out"), TOL);
});

test("linear matches F.linear on rank 1, 2 and 3 input, with and without bias", () => {
  const w = golden.get("linear.w");
  const b = golden.get("linear.b");
  for (const name of ["rank2", "rank3", "rank1", "rows5"]) {
    const x = golden.get(`linear.${name}.x`);
    assertClose(linear(x, w, b), golden.get(`linear.${name}.out`), TOL, `linear ${name}`);
    assertClose(linear(x, w, null), golden.get(`linear.${name}.nobias`), TOL, `linear ${name} without bias`);
  }
});

test("linear at ViT-Tiny qkv size [50, 192] -> [50, 576] (weights from the shared generator)", () => {
  const x = syntheticTensor("linear.big.x", [50, 192], 1);
  const out = linear(x, syntheticParameter("big.weight", [576, 192]), syntheticParameter("big.bias", [576]));
  assertClose(out, golden.get("linear.big.out"), TOL);
});

test("kernels leave their inputs unchanged", () => {
  const a = golden.get("matmul.odd.a");
  const before = a.data.slice();
  matmul(a, golden.get("matmul.odd.b"));
  linear(golden.get("linear.rank2.x"), golden.get("linear.w"), golden.get("linear.b"));
  assert.equal([...a.data], [...before]);
});

test("MACs are reported to countMacs", () => {
  const { macs } = countMacs(() => {
    matmul(zeros([2, 3]), zeros([3, 4])); // 24
    batchedMatmul(zeros([2, 2, 3]), zeros([2, 3, 1])); // 12
    linear(zeros([5, 3]), zeros([7, 3]), null); // 105
  });
  assert.is(macs, 24 + 12 + 105);
});

test("shape errors name the op, the arguments and the shapes", () => {
  assert.throws(
    () => matmul(zeros([2, 3]), zeros([4, 5])),
    /^matmul: a \[2, 3\] and b \[4, 5\]: inner dimensions 3 and 4 differ$/,
  );
  assert.throws(() => matmul(zeros([2, 3, 1]), zeros([3, 5])), /^matmul: a must have rank 2, got shape \[2, 3, 1\]$/);
  assert.throws(() => matmul(zeros([2, 3]), zeros([3])), /^matmul: b must have rank 2, got shape \[3\]$/);
  assert.throws(
    () => batchedMatmul(zeros([2, 3, 4]), zeros([3, 4, 5])),
    /^batchedMatmul: a \[2, 3, 4\] and b \[3, 4, 5\]: batch sizes 2 and 3 differ$/,
  );
  assert.throws(() => batchedMatmul(zeros([2, 3, 4]), zeros([2, 5, 5])), /inner dimensions 4 and 5 differ/);
  assert.throws(
    () => linear(zeros([2, 5]), zeros([4, 3]), null),
    /^linear: x \[2, 5\] and weight \[4, 3\]: x's last dimension 5 differs from weight's in-features 3$/,
  );
  assert.throws(
    () => linear(zeros([2, 3]), zeros([4, 3]), zeros([3])),
    /^linear: bias \[3\] does not match weight \[4, 3\]: expected \[4\]$/,
  );
  assert.throws(() => linear(tensor([1], []), zeros([4, 1]), null), /^linear: x must have rank >= 1, got shape \[\]$/);
  assert.throws(() => linear(zeros([2, 3]), zeros([12]), null), /^linear: weight must have rank 2, got shape \[12\]$/);
});

test.run();
