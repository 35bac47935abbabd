import { test } from "uvu";
import * as assert from "uvu/assert";
import { concat, gatherRows, transpose } from "../../src/tensor/shape.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_shape");
const EXACT = 0; // pure data movement: bit-exact

test("concat matches torch.cat along a middle axis, axis 0 and axis -1", () => {
  const parts = [0, 1, 2].map((i) => golden.get(`concat1.${i}`));
  assertClose(concat(parts, 1), golden.get("concat1.out"), EXACT, "axis 1");
  assertClose(
    concat([golden.get("concat0.0"), golden.get("concat0.1")], 0),
    golden.get("concat0.out"),
    EXACT,
    "axis 0",
  );
  assertClose(
    concat([golden.get("concatlast.0"), golden.get("concatlast.1")], -1),
    golden.get("concatlast.out"),
    EXACT,
    "axis -1",
  );
  assertClose(concat([golden.get("concat0.0")]), golden.get("concat0.0"), EXACT, "single tensor, default axis 0");
});

test("gatherRows matches index_select (repeated indices allowed; Int32Array or number[])", () => {
  const x = golden.get("gather.x");
  const indices = [...golden.get("gather.indices").data];
  assertClose(gatherRows(x, indices), golden.get("gather.out"), EXACT);
  assertClose(gatherRows(x, Int32Array.from(indices)), golden.get("gather.out"), EXACT);
  assert.equal(gatherRows(x, []).shape, [0, 6]);
});

test("transpose matches permute().contiguous() for rank 4 and rank 2", () => {
  const x4 = golden.get("perm.x4");
  assertClose(transpose(x4, [0, 2, 1, 3]), golden.get("perm.x4.0213"), EXACT, "0213");
  assertClose(transpose(x4, [3, 1, 0, 2]), golden.get("perm.x4.3102"), EXACT, "3102");
  assertClose(transpose(golden.get("perm.x2"), [1, 0]), golden.get("perm.x2.10"), EXACT, "10");
  assertClose(transpose(x4, [0, 1, 2, 3]), x4, EXACT, "identity");
});

test("gatherRows names the bad index (out of range, negative, fractional, NaN)", () => {
  const x = zeros([5, 3]);
  assert.throws(
    () => gatherRows(x, [0, 4, 5]),
    /^gatherRows: indices\[2\] = 5 is not an integer row index in \[0, 5\) of x \[5, 3\]$/,
  );
  assert.throws(() => gatherRows(x, [-1]), /indices\[0\] = -1 is not an integer row index/);
  assert.throws(() => gatherRows(x, [1, 1.5]), /indices\[1\] = 1\.5 is not an integer row index/);
  assert.throws(() => gatherRows(x, [NaN]), /indices\[0\] = NaN/);
  assert.throws(() => gatherRows(zeros([5]), [0]), /^gatherRows: x must have rank 2, got shape \[5\]$/);
});

test("concat and transpose errors name the shapes", () => {
  assert.throws(
    () => concat([zeros([2, 3]), zeros([3, 4])], 0),
    /^concat: tensors\[1\] \[3, 4\] does not match tensors\[0\] \[2, 3\] outside axis 0$/,
  );
  assert.throws(
    () => concat([zeros([2, 3]), zeros([2, 3, 1])], 1),
    /^concat: tensors\[1\] \[2, 3, 1\] does not match tensors\[0\] \[2, 3\] outside axis 1$/,
  );
  assert.throws(() => concat([zeros([2, 3])], 2), /^concat: axis 2 is out of range for shape \[2, 3\]$/);
  assert.throws(() => concat([], 0), /^concat: needs a non-empty array of tensors$/);
  assert.throws(
    () => transpose(zeros([2, 3]), [0, 0]),
    /^transpose: perm \[0,0\] is not a permutation of 0\.\.1 for x \[2, 3\]$/,
  );
  assert.throws(() => transpose(zeros([2, 3]), [1, 0, 2]), /^transpose: perm \[1,0,2\] is not a permutation of 0\.\.1/);
});

test("inputs are not mutated and outputs do not alias inputs", () => {
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const t = transpose(x, [0, 1]);
  t.data[0] = 99;
  const g = gatherRows(x, [0]);
  g.data[0] = 99;
  const c = concat([x]);
  c.data[0] = 99;
  assert.equal([...x.data], [1, 2, 3, 4]);
});

test.run();
