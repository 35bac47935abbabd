import { test } from "uvu";
import * as assert from "uvu/assert";
import { softmax } from "../../src/tensor/softmax.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_softmax");
const TOL = 1e-5;

test("softmax matches torch along the last axis, axis 0 and a middle axis", () => {
  const cases: [string, number[]][] = [
    ["x", [-1, 0]],
    ["x3", [1, -1, 0]],
  ];
  for (const [name, axes] of cases) {
    for (const axis of axes)
      assertClose(
        softmax(golden.get(`${name}.in`), axis),
        golden.get(`${name}.axis${axis}`),
        TOL,
        `${name} axis ${axis}`,
      );
  }
  assertClose(softmax(golden.get("x.in")), golden.get("x.axis-1"), TOL, "default axis = -1");
});

test("softmax is stable for values in the thousands (exp would overflow without the max shift)", () => {
  for (const axis of [-1, 0]) {
    const out = softmax(golden.get("large.in"), axis);
    assert.ok(out.data.every(Number.isFinite), `axis ${axis}: non-finite output`);
    assertClose(out, golden.get(`large.axis${axis}`), TOL, `large axis ${axis}`);
  }
});

test("softmax gives 0 to -Infinity entries and NaN to an all -Infinity lane (as torch)", () => {
  const out = softmax(golden.get("inf.in"), -1);
  assertClose(out, golden.get("inf.axis-1"), TOL);
  const dead = softmax(tensor([-Infinity, -Infinity], [1, 2]));
  assert.ok(dead.data.every(Number.isNaN));
});

test("softmax errors name the axis and the shape", () => {
  assert.throws(() => softmax(zeros([3, 4]), 2), /^softmax: axis 2 is out of range for shape \[3, 4\]$/);
  assert.throws(() => softmax(zeros([3, 4]), -3), /^softmax: axis -3 is out of range for shape \[3, 4\]$/);
  assert.throws(() => softmax(tensor([1], [])), /^softmax: x must have rank >= 1, got shape \[\]$/);
});

test.run();
