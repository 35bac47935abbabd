// MobileOne-S0 (fused form, timm names) against the plain-PyTorch reference in
// tools/golden/gen_mobileone.py; synthetic weights with the He gain (he_gain.ts); tolerance 1e-4.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createMobileOne, mobileoneSpec } from "../../src/models/mobileone.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { withHeGain } from "./he_gain.ts";
import { assertGoldenOutputs, goldenInput, goldenSpec } from "./model_golden.ts";

const TOL = 1e-4;
const golden = fixture("mobileone_s0");

test("mobileone_s0: spec equals the reference's state dict (names, shapes, order)", () => {
  const ours = [...mobileoneSpec()].map(([n, s]) => `${n} [${s}]`);
  const theirs = goldenSpec(golden).map(([n, s]) => `${n} [${s}]`);
  assert.equal(ours, theirs);
  assert.equal(mobileoneSpec().get("stages.3.0.reparam_conv.weight"), [256, 1, 3, 3]);
  assert.equal(mobileoneSpec().get("stages.3.1.reparam_conv.weight"), [1024, 256, 1, 1]);
});

test("mobileone_s0: features [1,1024,7,7] and logits match PyTorch", () => {
  const model = createMobileOne({}, withHeGain(syntheticWeights(mobileoneSpec())));
  const x = goldenInput(golden, "mobileone.input", [1, 3, 224, 224]);
  const features = model.features(x);
  assert.equal(features.shape, [1, 1024, 7, 7]);
  assertGoldenOutputs(golden, features, model.head(features), TOL);
  assertClose(model.forward(x), golden.get("logits"), TOL, "forward");
});

test("createMobileOne: one error lists every bad weight; bad input is a clear error", () => {
  const weights = syntheticWeights(mobileoneSpec());
  weights.delete("stem.reparam_conv.bias");
  weights.set("stages.0.0.reparam_conv.weight", zeros([48, 48, 3, 3]));
  weights.set("head.fc.extra", zeros([2]));
  assert.throws(
    () => createMobileOne({}, weights),
    (e: Error) =>
      e.message.includes("missing (1): stem.reparam_conv.bias [48]") &&
      e.message.includes("unexpected (1): head.fc.extra [2]") &&
      e.message.includes("stages.0.0.reparam_conv.weight: expected [48, 1, 3, 3], got [48, 48, 3, 3]"),
  );
  const model = createMobileOne({ numClasses: 5 }, syntheticWeights(mobileoneSpec({ numClasses: 5 })));
  assert.throws(() => model.features(zeros([3, 224, 224])), /mobileone_s0\.features: x must have shape/);
});

test.run();
