import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  add,
  mul,
  relu,
  relu6,
  leakyRelu,
  hardswish,
  hardsigmoid,
  silu,
  sigmoid,
  gelu,
  geluTanh,
  erf,
  erfc,
} from "../../src/tensor/elementwise.ts";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_elementwise");
const TOL = 1e-5;

test("activations match torch on [-10, 10] and special points (+-3, 0, -0, +-6, +-1e-8, +-20, +-50, +-88)", () => {
  const x = golden.get("x");
  const cases: [string, (t: Tensor) => Tensor][] = [
    ["relu", relu],
    ["relu6", relu6],
    ["leaky_relu_0.01", (t) => leakyRelu(t, 0.01)],
    ["leaky_relu_0.2", (t) => leakyRelu(t, 0.2)],
    ["hardswish", hardswish],
    ["hardsigmoid", hardsigmoid],
    ["silu", silu],
    ["sigmoid", sigmoid],
    ["gelu", gelu],
    ["gelu_tanh", geluTanh],
  ];
  for (const [name, f] of cases) assertClose(f(x), golden.get(name), TOL, name);
  assertClose(leakyRelu(x), golden.get("leaky_relu_0.01"), TOL, "leakyRelu default slope");
});

test("gelu is accurate element by element, also in the tiny negative tail (0.5 x erfc(-x/sqrt 2) in torch)", () => {
  // F.gelu computes 0.5 x (1 + erf(x/sqrt 2)), which cancels to 0 below x ~ -8 even in float64;
  // the erfc form gives the true tail (gelu(-10) = -7.6e-23), which ours must reach pointwise.
  const x = golden.get("x");
  const ours = gelu(x).data;
  const expected = golden.get("gelu_erfc").data;
  for (let i = 0; i < ours.length; i++) {
    const err = Math.abs(ours[i] - expected[i]);
    // 2 float32 ulps of the expected value
    assert.ok(err <= 2.4e-7 * Math.abs(expected[i]), `gelu(${x.data[i]}) = ${ours[i]}, torch ${expected[i]}`);
  }
});

// erf / erfc: Math.fround of our float64 value must be within 1 float32 ulp (1.2e-7 relative) of the
// float64 torch value rounded to float32, for every point (not just relative to the largest).
function checkPointwise(name: string, f: (v: number) => number): void {
  const xs = golden.get(`${name}.x`).data;
  const expected = golden.get(name).data;
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const ours = Math.fround(f(xs[i]));
    const rel = expected[i] === 0 ? Math.abs(ours) : Math.abs(ours - expected[i]) / Math.abs(expected[i]);
    worst = Math.max(worst, rel);
  }
  assert.ok(worst <= 1.2e-7, `${name}: worst relative error ${worst}`);
}

test("erf matches torch.erf on [-6, 6] to float32 precision at every point", () => checkPointwise("erf", erf));
test("erfc matches torch.special.erfc on [-3, 9] to float32 precision at every point (tail ~1e-37)", () =>
  checkPointwise("erfc", erfc));

test("erf: odd, limits, NaN", () => {
  assert.is(erf(0), 0);
  assert.is(erf(-1.3), -erf(1.3));
  assert.is(erf(Infinity), 1);
  assert.is(erf(-Infinity), -1);
  assert.ok(Number.isNaN(erf(NaN)));
  assert.is(erfc(Infinity), 0);
});

test("add and mul broadcast like numpy (different ranks, [1] operands, rank 0, stretch on both sides)", () => {
  const cases: [string, number[]][] = [
    ["rank3_rank2", [3, 4, 5]],
    ["same", [4, 6]],
    ["scalar_like_b", [2, 3]],
    ["scalar_like_a", [2, 3]],
    ["row", [2, 3, 5]],
    ["both_stretch", [2, 3, 4]],
    ["rank0", [2, 3]],
  ];
  for (const [name, shape] of cases) {
    const a = golden.get(`${name}.a`);
    const b = golden.get(`${name}.b`);
    const sum = add(a, b);
    assert.equal(sum.shape, shape, `${name} shape`);
    assertClose(sum, golden.get(`${name}.add`), TOL, `${name} add`);
    assertClose(mul(a, b), golden.get(`${name}.mul`), TOL, `${name} mul`);
    assertClose(add(b, a), golden.get(`${name}.add`), TOL, `${name} add swapped`);
  }
});

test("broadcasting keeps NaN and leaves inputs unchanged", () => {
  const a = tensor([1, NaN, 3], [3]);
  const b = tensor([10, 20], [2, 1]);
  const out = add(a, b);
  assert.equal([...out.data].map(String), ["11", "NaN", "13", "21", "NaN", "23"]);
  assert.equal([...a.data].map(String), ["1", "NaN", "3"]);
});

test("broadcast errors name the op, both shapes and the axis", () => {
  assert.throws(
    () => add(zeros([3, 2]), zeros([4])),
    /^add: a \[3, 2\] and b \[4\] do not broadcast: sizes 2 and 4 at axis -1$/,
  );
  assert.throws(
    () => mul(zeros([2, 3, 4]), zeros([5, 1, 4])),
    /^mul: a \[2, 3, 4\] and b \[5, 1, 4\] do not broadcast: sizes 2 and 5 at axis -3$/,
  );
  assert.throws(() => relu([1, 2] as unknown as Tensor), /^relu: x must be a Tensor, got Array$/);
});

test.run();
