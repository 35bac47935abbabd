// MobileNetV3 small/large and MobileNetV2 against torchvision's own classes
// (tools/golden/gen_mobilenet.py): synthetic weights are generated under the TORCHVISION names,
// mapped to the canonical (timm) names by names_mobilenet.ts, and the model built from them must
// reproduce torchvision's logits and features. Input: rand("input", [1,3,224,224], 100) rebuilt
// from the shared generator (why scale 100: see the generator's docstring).
//
// Tolerance 1e-4 (the whole-model default), relative to each output's largest value. Observed
// errors are ~1e-6 (float32 sums in a different order over ~50 layers); the negative tests show
// that a transposed kernel, two swapped BatchNorms or torchvision's BN eps left out move the
// outputs by far more than 1e-4.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  torchvisionMobileNetV2Spec,
  torchvisionMobileNetV3Spec,
  torchvisionToCanonicalMobileNetV2,
  torchvisionToCanonicalMobileNetV3,
} from "../../src/models/load/names_mobilenet.ts";
import { createMobileNetV2, mobilenetV2Spec } from "../../src/models/mobilenetv2.ts";
import { createMobileNetV3, mobilenetV3Spec, type MobileNetV3Variant } from "../../src/models/mobilenetv3.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const TOL = 1e-4;
const INPUT_SCALE = 100;

type Golden = ReturnType<typeof fixture>;

/** The 224x224 input, rebuilt from the shared generator and checked against its committed first values. */
function goldenInput(golden: Golden): Tensor {
  const x = syntheticTensor("input", [1, 3, 224, 224], INPUT_SCALE);
  assert.equal(
    [...x.data.subarray(0, 16)],
    [...golden.get("input_head").data],
    "input rebuilt from the shared generator",
  );
  return x;
}

/** Channel mean [h,w] of features [1,K,h,w] (the PaPr proposal map). */
function channelMean(f: Tensor): Tensor {
  const [, K, h, w] = f.shape;
  const sums = new Float64Array(h * w);
  for (let c = 0; c < K; c++) for (let p = 0; p < h * w; p++) sums[p] += f.data[c * h * w + p];
  return new Tensor(
    Float32Array.from(sums, (s) => s / K),
    [h, w],
  );
}

/** Every 4th channel [ceil(K/4),h,w] of features [1,K,h,w]. */
function everyFourthChannel(f: Tensor): Tensor {
  const [, K, h, w] = f.shape;
  const kept = Math.ceil(K / 4);
  const out = new Float32Array(kept * h * w);
  for (let i = 0; i < kept; i++) out.set(f.data.subarray(4 * i * h * w, (4 * i + 1) * h * w), i * h * w);
  return new Tensor(out, [kept, h, w]);
}

function assertGolden(golden: Golden, features: Tensor, logits: Tensor, suffix = ""): void {
  assertClose(
    everyFourthChannel(features),
    golden.get(`features_sub${suffix}`),
    TOL,
    `features (every 4th channel)${suffix}`,
  );
  assertClose(channelMean(features), golden.get(`features_mean${suffix}`), TOL, `features channel mean${suffix}`);
  assertClose(logits, golden.get(`logits${suffix}`), TOL, `logits${suffix}`);
}

/** Synthetic torchvision-named weights, mapped to canonical names. */
function v3Weights(variant: MobileNetV3Variant): Map<string, Tensor> {
  return torchvisionToCanonicalMobileNetV3(syntheticWeights(torchvisionMobileNetV3Spec({ variant })), variant);
}

const small = fixture("mobilenet_v3_small");
const x224 = goldenInput(small);
const smallWeights = v3Weights("small");
const smallModel = createMobileNetV3({ variant: "small" }, smallWeights);
const smallFeatures = smallModel.features(x224);

test("mobilenet_v3_small: features [1,576,7,7] and logits match torchvision", () => {
  assert.equal(smallFeatures.shape, [1, 576, 7, 7]);
  assertGolden(small, smallFeatures, smallModel.forward(x224)); // forward = head(features(x))
});

test("mobilenet_v3_small: a 160x192 input gives [1,576,5,6] matching torchvision", () => {
  const x = syntheticTensor("input_160x192", [1, 3, 160, 192], INPUT_SCALE);
  const features = smallModel.features(x);
  assert.equal(features.shape, [1, 576, 5, 6]);
  assertGolden(small, features, smallModel.head(features), "_160x192");
});

test("mobilenet_v3_large: features [1,960,7,7] and logits match torchvision", () => {
  const golden = fixture("mobilenet_v3_large");
  const model = createMobileNetV3({ variant: "large" }, v3Weights("large"));
  const x = goldenInput(golden);
  const features = model.features(x);
  assert.equal(features.shape, [1, 960, 7, 7]);
  assertGolden(golden, features, model.head(features));
});

test("mobilenet_v2: features [1,1280,7,7] and logits match torchvision", () => {
  const golden = fixture("mobilenet_v2");
  const model = createMobileNetV2(
    {},
    torchvisionToCanonicalMobileNetV2(syntheticWeights(torchvisionMobileNetV2Spec())),
  );
  const x = goldenInput(golden);
  const features = model.features(x);
  assert.equal(features.shape, [1, 1280, 7, 7]);
  assertGolden(golden, features, model.head(features));
});

// ---- width multipliers, against timm itself (canonical names, no map involved) --------------

const timm = fixture("mobilenet_timm");
const x96 = syntheticTensor("input_96", [1, 3, 96, 96], INPUT_SCALE);

for (const [name, build] of [
  [
    "mobilenetv3_small_075",
    () =>
      createMobileNetV3(
        { variant: "small", width: 0.75 },
        syntheticWeights(mobilenetV3Spec({ variant: "small", width: 0.75 })),
      ),
  ],
  [
    "mobilenetv3_large_075",
    () =>
      createMobileNetV3(
        { variant: "large", width: 0.75 },
        syntheticWeights(mobilenetV3Spec({ variant: "large", width: 0.75 })),
      ),
  ],
  ["mobilenetv2_050", () => createMobileNetV2({ width: 0.5 }, syntheticWeights(mobilenetV2Spec({ width: 0.5 })))],
  ["mobilenetv2_140", () => createMobileNetV2({ width: 1.4 }, syntheticWeights(mobilenetV2Spec({ width: 1.4 })))],
] as const) {
  test(`${name} (timm, 96x96): logits and features channel mean match`, () => {
    const model = build();
    const features = model.features(x96);
    assert.equal(features.shape.slice(2), [3, 3]);
    assertClose(channelMean(features), timm.get(`${name}.features_mean`), TOL, "features channel mean");
    assertClose(model.head(features), timm.get(`${name}.logits`), TOL, "logits");
  });
}

// ---- the goldens can fail ---------------------------------------------------------------------

function smallFeaturesWith(change: (weights: Map<string, Tensor>) => void): Tensor {
  const weights = new Map(smallWeights);
  change(weights);
  return createMobileNetV3({ variant: "small" }, weights).features(x224);
}

test("a transposed depthwise kernel fails the golden", () => {
  const features = smallFeaturesWith((w) => {
    const k = w.get("blocks.2.1.conv_dw.weight")!; // [240, 1, 5, 5]
    const t = new Float32Array(k.size);
    for (let c = 0; c < 240; c++)
      for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) t[c * 25 + i * 5 + j] = k.data[c * 25 + j * 5 + i];
    w.set("blocks.2.1.conv_dw.weight", new Tensor(t, k.shape));
  });
  const err = relativeError(everyFourthChannel(features), small.get("features_sub"));
  assert.ok(err > 100 * TOL, `error ${err} should exceed the tolerance many times`);
});

test("two same-shaped BatchNorms swapped (a wrong name map) fail the golden", () => {
  const features = smallFeaturesWith((w) => {
    for (const p of ["weight", "bias", "running_mean", "running_var"]) {
      const bn1 = w.get(`blocks.1.0.bn1.${p}`)!; // both [72]
      w.set(`blocks.1.0.bn1.${p}`, w.get(`blocks.1.0.bn2.${p}`)!);
      w.set(`blocks.1.0.bn2.${p}`, bn1);
    }
  });
  const err = relativeError(everyFourthChannel(features), small.get("features_sub")); // ~4e-3
  assert.ok(err > 10 * TOL, `error ${err} should exceed the tolerance many times`);
});

test("torchvision's BatchNorm eps (1e-3, absorbed into running_var by the map) matters", () => {
  const features = smallFeaturesWith((w) => {
    for (const [name, t] of w) {
      if (name.endsWith("running_var"))
        w.set(
          name,
          new Tensor(
            t.data.map((v) => v - (1e-3 - 1e-5)),
            t.shape,
          ),
        );
    }
  });
  const err = relativeError(everyFourthChannel(features), small.get("features_sub"));
  assert.ok(err > 10 * TOL, `error ${err} should exceed the tolerance`);
});

test.run();
