// R3D-18 against torchvision.models.video.r3d_18 (tools/golden/gen_resnet3d.py) with the shared synthetic
// weights, on a 1 x 3 x 9 x 40 x 40 clip (a real-size model on a small clip: ~3 GMACs, odd sizes at every
// stage). Whole-model tolerance 1e-4 relative to the output's largest value, as the 2-D ConvNet goldens:
// 18 convolutions of up to 4608 terms, each rounded to float32 (torch sums in float32 in its own order).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createResNet3d, R3D_FEATURE_CHANNELS, resnet3dSpec } from "../../src/models/resnet3d.ts";
import { syntheticParameter, syntheticWeights } from "../../src/models/synthetic.ts";
import { Tensor, zeros } from "../../src/tensor/tensor.ts";
import { fixture } from "../golden.ts";
import { assertClipGolden, goldenInput, goldenSpec } from "./model_golden.ts";

const TOL = 1e-4;
const golden = fixture("r3d_18");
const WEIGHTS = syntheticWeights(resnet3dSpec()); // 33.4M parameters: built once, shared (copies of the map) below

test("r3d_18: spec equals torchvision's state dict (names, shapes, order)", () => {
  const ours = [...resnet3dSpec()].map(([n, s]) => `${n} [${s}]`);
  const theirs = goldenSpec(golden).map(([n, s]) => `${n} [${s}]`);
  assert.equal(ours, theirs);
});

test("r3d_18: features (layer4) and logits match torchvision", () => {
  const model = createResNet3d({}, WEIGHTS);
  const x = goldenInput(golden, "r3d.input", [1, 3, 9, 40, 40]);
  const features = model.features(x);
  assert.equal(features.shape, JSON.parse(golden.metadata!.features_shape));
  assert.equal(features.shape, [1, R3D_FEATURE_CHANNELS, 2, 3, 3]);
  assert.equal(model.featureChannels, features.shape[1]);
  assertClipGolden(golden, features, model.head(features), TOL);
});

test("createResNet3d: one error lists every missing, unexpected and mis-shaped weight", () => {
  const weights = new Map(WEIGHTS);
  weights.delete("layer2.0.downsample.1.running_var");
  weights.delete("fc.bias");
  weights.set("layer1.0.downsample.0.weight", zeros([64, 64, 1, 1, 1]));
  weights.set("stem.0.weight", zeros([64, 3, 7, 7]));
  let message = "";
  try {
    createResNet3d({}, weights);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, "createResNet3d(r3d_18)");
  assert.match(message, "missing (2): layer2.0.downsample.1.running_var [128], fc.bias [400]");
  assert.match(message, "unexpected (1): layer1.0.downsample.0.weight [64, 64, 1, 1, 1]");
  assert.match(message, "wrong shape (1): stem.0.weight: expected [64, 3, 3, 7, 7], got [64, 3, 7, 7]");
});

test("createResNet3d: numClasses sets the fc shape; a non-clip input is a clear error", () => {
  const spec = resnet3dSpec({ numClasses: 10 });
  assert.equal(spec.get("fc.weight"), [10, 512]);
  const weights = new Map(WEIGHTS);
  for (const name of ["fc.weight", "fc.bias"]) weights.set(name, syntheticParameter(name, spec.get(name)!));
  const model = createResNet3d({ numClasses: 10 }, weights);
  assert.equal(model.clipSize, [16, 112, 112]);
  assert.throws(
    () => model.features(zeros([1, 3, 32, 32])),
    /r3d_18\.features: x must have shape \[\*, 3, \*, \*, \*\], got \[1, 3, 32, 32\]/,
  );
  assert.throws(() => model.features(zeros([1, 1, 4, 32, 32])), /got \[1, 1, 4, 32, 32\]/);
  const tiny = model.forward(zeros([2, 3, 1, 16, 16])); // any batch and size runs (stride-2 convs pad)
  assert.equal(tiny.shape, [2, 10]);
  assert.ok(tiny instanceof Tensor);
});

test.run();
