// ResNet-18 / ResNet-50 against torchvision (tools/golden/gen_resnet.py) with the shared synthetic
// weights; whole-model tolerance 1e-4 (relative to the output's largest value).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalResnetWeights, resnetCanonicalName } from "../../src/models/load/names_resnet.ts";
import { createResNet, resnetSpec, type ResNetDepth } from "../../src/models/resnet.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { Tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertGoldenOutputs, goldenInput, goldenSpec } from "./model_golden.ts";

const TOL = 1e-4;

for (const depth of [18, 50] as ResNetDepth[]) {
  const golden = fixture(`resnet${depth}`);

  test(`resnet${depth}: spec equals torchvision's state dict (names, shapes, order)`, () => {
    const ours = [...resnetSpec({ depth })].map(([n, s]) => `${n} [${s}]`);
    const theirs = goldenSpec(golden).map(([n, s]) => `${n} [${s}]`);
    assert.equal(ours, theirs);
  });

  test(`resnet${depth}: features (layer4) and logits match torchvision`, () => {
    const model = createResNet({ depth }, syntheticWeights(resnetSpec({ depth })));
    const x = goldenInput(golden, "resnet.input", [1, 3, 224, 224]);
    const features = model.features(x);
    assert.equal(features.shape, JSON.parse(golden.metadata!.features_shape));
    assert.equal(model.featureChannels, features.shape[1]);
    assertGoldenOutputs(golden, features, model.head(features), TOL);
    if (depth === 18) assertClose(model.forward(x), golden.get("logits"), TOL, "forward");
  });
}

test("createResNet: one error lists every missing, unexpected and mis-shaped weight", () => {
  const weights = syntheticWeights(resnetSpec({ depth: 18 }));
  weights.delete("layer2.0.downsample.1.running_var");
  weights.delete("fc.bias");
  weights.set("layer5.0.conv1.weight", zeros([4, 4, 1, 1]));
  weights.set("layer1.1.conv2.weight", zeros([64, 64, 1, 1]));
  let message = "";
  try {
    createResNet({ depth: 18 }, weights);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, "createResNet(resnet18)");
  assert.match(message, "missing (2): layer2.0.downsample.1.running_var [128], fc.bias [1000]");
  assert.match(message, "unexpected (1): layer5.0.conv1.weight [4, 4, 1, 1]");
  assert.match(message, "wrong shape (1): layer1.1.conv2.weight: expected [64, 64, 3, 3], got [64, 64, 1, 1]");
});

test("createResNet: numClasses sets the fc shape; bad depth and bad input are clear errors", () => {
  const spec = resnetSpec({ depth: 18, numClasses: 10 });
  assert.equal(spec.get("fc.weight"), [10, 512]);
  assert.throws(() => resnetSpec({ depth: 20 as ResNetDepth }), /unsupported depth 20/);
  const model = createResNet({ depth: 18, numClasses: 10 }, syntheticWeights(spec));
  assert.throws(
    () => model.features(zeros([1, 1, 32, 32])),
    /resnet18\.features: x must have shape \[1, 3, \*, \*\], got \[1, 1, 32, 32\]/,
  );
});

test("resnet names: torchvision/timm wrappers stripped, num_batches_tracked dropped, rest unchanged", () => {
  assert.is(resnetCanonicalName("module.layer1.0.downsample.0.weight"), "layer1.0.downsample.0.weight");
  assert.is(resnetCanonicalName("model.module.fc.bias"), "fc.bias");
  assert.is(resnetCanonicalName("bn1.num_batches_tracked"), null);
  assert.is(resnetCanonicalName("layer4.2.bn3.running_var"), "layer4.2.bn3.running_var");
  const t = zeros([1]);
  const renamed = canonicalResnetWeights(
    new Map<string, Tensor>([
      ["module.conv1.weight", t],
      ["module.bn1.num_batches_tracked", t],
    ]),
  );
  assert.equal([...renamed.keys()], ["conv1.weight"]);
  assert.throws(
    () =>
      canonicalResnetWeights(
        new Map([
          ["conv1.weight", t],
          ["module.conv1.weight", t],
        ]),
      ),
    /both map to 'conv1.weight'/,
  );
});

test.run();
