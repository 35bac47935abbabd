import { test } from "uvu";
import * as assert from "uvu/assert";
import { layerNorm } from "../../src/tensor/norm.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { zeros, Tensor } from "../../src/tensor/tensor.ts";
import { syntheticParameter } from "../../src/models/synthetic.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_layernorm");
const TOL = 1e-5;

test("layerNorm matches F.layer_norm at D = 192 with eps 1e-6 and 1e-5, and without affine", () => {
  const xs = syntheticTensor("ln.x", [17, 192], 2);
  const x = new Tensor(
    xs.data.map((v) => v + 0.5),
    xs.shape,
  ); // float32 + 0.5, as in the generator
  const w = syntheticParameter("norm.weight", [192]);
  const b = syntheticParameter("norm.bias", [192]);
  assertClose(layerNorm(x, w, b, 1e-6), golden.get("d192.eps1e-06"), TOL, "eps 1e-6");
  assertClose(layerNorm(x, w, b, 1e-5), golden.get("d192.eps1e-05"), TOL, "eps 1e-5");
  assertClose(layerNorm(x, null, null, 1e-6), golden.get("d192.noaffine"), TOL, "no affine");
});

test("layerNorm on rank 3 input", () => {
  const out = layerNorm(golden.get("rank3.x"), golden.get("rank3.w"), golden.get("rank3.b"), 1e-5);
  assertClose(out, golden.get("rank3.out"), TOL);
});

test("layerNorm uses eps as given (variance ~1e-7, where 1e-5 and 1e-6 differ) and defaults to 1e-5", () => {
  const x = golden.get("tiny.x");
  assertClose(layerNorm(x, null, null, 1e-6), golden.get("tiny.eps1e-06"), TOL, "eps 1e-6");
  assertClose(layerNorm(x, null, null, 1e-5), golden.get("tiny.eps1e-05"), TOL, "eps 1e-5");
  assertClose(layerNorm(x, null, null), golden.get("tiny.eps1e-05"), TOL, "default eps");
});

test("layerNorm keeps precision under a large common offset (x ~ 100 +- 1)", () => {
  assertClose(layerNorm(golden.get("offset.x"), null, null, 1e-6), golden.get("offset.out"), TOL);
});

test("layerNorm errors name the argument and both shapes", () => {
  assert.throws(
    () => layerNorm(zeros([2, 5]), zeros([4]), null),
    /^layerNorm: weight \[4\] does not match x \[2, 5\]: expected \[5\]$/,
  );
  assert.throws(
    () => layerNorm(zeros([2, 5]), null, zeros([5, 1])),
    /^layerNorm: bias must have rank 1, got shape \[5, 1\]$/,
  );
  assert.throws(() => layerNorm(zeros([2, 5]), null, null, -1), /^layerNorm: eps must be a number >= 0, got -1$/);
});

test.run();
