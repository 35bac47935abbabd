// MobileNetV1-0.25 and Darknet-Tiny architectures against the plain-PyTorch references in
// tools/golden/gen_tfjs_models.py (TF SAME padding, ReLU6 / LeakyReLU(0.1), BN eps 1e-3), with the
// shared synthetic weights and the He gain (he_gain.ts). Two input sizes per model: 224 and an odd
// one that makes the SAME padding of stride-2 convs / max-pools asymmetric. Tolerance 1e-4.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createDarknet, darknetSpec } from "../../src/models/darknet.ts";
import { createMobileNetV1, mobilenetV1Spec } from "../../src/models/mobilenetv1.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { zeros, type Tensor } from "../../src/tensor/tensor.ts";
import { fixture } from "../golden.ts";
import { withHeGain } from "./he_gain.ts";
import { assertGoldenOutputs, goldenInput, goldenSpec } from "./model_golden.ts";

const TOL = 1e-4;

interface ConvNet {
  features(x: Tensor): Tensor;
  head(features: Tensor): Tensor;
}

const cases = [
  {
    name: "mobilenetv1",
    spec: mobilenetV1Spec(),
    build: (w: Map<string, Tensor>): ConvNet => createMobileNetV1({}, w),
    sizes: ["224x224", "96x75"],
  },
  {
    name: "darknet",
    spec: darknetSpec(),
    build: (w: Map<string, Tensor>): ConvNet => createDarknet({}, w),
    sizes: ["224x224", "100x75"],
  },
];

for (const c of cases) {
  const golden = fixture(`tfjs_models_${c.name}`);

  test(`${c.name}: spec equals the PyTorch reference's state dict (names, shapes, order)`, () => {
    assert.equal(
      [...c.spec].map(([n, s]) => `${n} [${s}]`),
      goldenSpec(golden).map(([n, s]) => `${n} [${s}]`),
    );
  });

  test(`${c.name}: features and logits match PyTorch at ${c.sizes.join(" and ")}`, () => {
    const model = c.build(withHeGain(syntheticWeights(c.spec)));
    const shapes = JSON.parse(golden.metadata!.features_shapes) as Record<string, number[]>;
    for (const size of c.sizes) {
      const [h, w] = size.split("x").map(Number);
      const x = goldenInput(golden, `${c.name}.input.${size}`, [1, 3, h, w], `${size}.input_head`);
      const features = model.features(x);
      assert.equal(features.shape, shapes[size], `${size} features shape`);
      assertGoldenOutputs(golden, features, model.head(features), TOL, `${size}.`);
    }
  });
}

test("mobilenetv1 / darknet: spec shapes, one error for bad weights, clear input errors", () => {
  const spec = mobilenetV1Spec();
  assert.equal(spec.get("conv_dw_12.weight"), [128, 1, 3, 3]);
  assert.equal(spec.get("conv_pw_13.weight"), [256, 256, 1, 1]);
  assert.equal(spec.get("conv_preds.weight"), [1000, 256, 1, 1]);
  assert.equal(mobilenetV1Spec({ widthMultiplier: 1 }).get("conv_pw_13.weight"), [1024, 1024, 1, 1]);
  const weights = syntheticWeights(spec);
  weights.delete("conv_dw_3_bn.running_mean");
  weights.set("conv_pw_2.weight", zeros([2, 2]));
  assert.throws(
    () => createMobileNetV1({}, weights),
    (e: Error) =>
      e.message.includes("missing (1): conv_dw_3_bn.running_mean [32]") &&
      e.message.includes("conv_pw_2.weight: expected [32, 16, 1, 1], got [2, 2]"),
  );
  const darknet = createDarknet({ numClasses: 3 }, syntheticWeights(darknetSpec({ numClasses: 3 })));
  assert.throws(
    () => darknet.features(zeros([1, 4, 8, 8])),
    /darknet_tiny\.features: x must have shape \[1, 3, \*, \*\]/,
  );
  assert.equal(darknetSpec().get("layers.14.conv.weight"), [128, 512, 1, 1]);
});

test.run();
