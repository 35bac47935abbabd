// MobileNetV3 / MobileNetV2 specs and name maps against the real state dicts: torchvision's
// (metadata "spec" of the torchvision goldens) and timm's (metadata "specs" of mobilenet_timm,
// written when timm was importable). Plus the errors for bad weights, configs and inputs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  timmToCanonicalMobileNet,
  torchvisionMobileNetV2Spec,
  torchvisionMobileNetV3Spec,
  torchvisionToCanonicalMobileNetV2,
  torchvisionToCanonicalMobileNetV3,
} from "../../src/models/load/names_mobilenet.ts";
import { makeDivisible } from "../../src/models/mobilenet_blocks.ts";
import { createMobileNetV2, mobilenetV2Spec } from "../../src/models/mobilenetv2.ts";
import { createMobileNetV3, mobilenetV3Spec } from "../../src/models/mobilenetv3.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { Tensor, zeros } from "../../src/tensor/tensor.ts";
import { fixture } from "../golden.ts";

const lines = (spec: Iterable<[string, readonly number[]]>) =>
  [...spec].map(([name, shape]) => `${name} [${shape.join(",")}]`);
const torchvisionSpec = (name: string) =>
  Object.entries(JSON.parse(fixture(name).metadata.spec) as Record<string, number[]>);
const timmSpecs = JSON.parse(fixture("mobilenet_timm").metadata.specs) as Record<string, Record<string, number[]>>;

test("canonical specs equal timm's state dicts (names, shapes, order) at widths 0.5 - 1.4", () => {
  const cases = [
    ["mobilenetv3_small_100", mobilenetV3Spec({ variant: "small" })],
    ["mobilenetv3_large_100", mobilenetV3Spec({ variant: "large" })],
    ["mobilenetv3_small_075", mobilenetV3Spec({ variant: "small", width: 0.75 })],
    ["mobilenetv3_large_075", mobilenetV3Spec({ variant: "large", width: 0.75 })],
    ["mobilenetv2_100", mobilenetV2Spec()],
    ["mobilenetv2_050", mobilenetV2Spec({ width: 0.5 })],
    ["mobilenetv2_140", mobilenetV2Spec({ width: 1.4 })],
  ] as const;
  for (const [name, spec] of cases) assert.equal(lines(spec), lines(Object.entries(timmSpecs[name])), name);
  assert.is(mobilenetV3Spec({ variant: "small" }).size, 210);
  assert.equal(mobilenetV3Spec({ variant: "small" }).get("blocks.5.0.conv.weight"), [576, 96, 1, 1]);
  assert.equal(mobilenetV3Spec({ variant: "large" }).get("conv_head.weight"), [1280, 960, 1, 1]);
  assert.equal(mobilenetV2Spec().get("conv_head.weight"), [1280, 320, 1, 1]);
});

test("torchvision specs (derived from the name maps) equal torchvision's state dicts", () => {
  assert.equal(lines(torchvisionMobileNetV3Spec({ variant: "small" })), lines(torchvisionSpec("mobilenet_v3_small")));
  assert.equal(lines(torchvisionMobileNetV3Spec({ variant: "large" })), lines(torchvisionSpec("mobilenet_v3_large")));
  assert.equal(lines(torchvisionMobileNetV2Spec()), lines(torchvisionSpec("mobilenet_v2")));
});

test("torchvision -> canonical maps every name onto the canonical spec", () => {
  const check = (mapped: Map<string, Tensor>, spec: Map<string, number[]>) =>
    assert.equal(lines([...mapped].map(([n, t]) => [n, t.shape])).sort(), lines(spec).sort());
  for (const variant of ["small", "large"] as const) {
    check(
      torchvisionToCanonicalMobileNetV3(syntheticWeights(torchvisionMobileNetV3Spec({ variant })), variant),
      mobilenetV3Spec({ variant }),
    );
  }
  check(torchvisionToCanonicalMobileNetV2(syntheticWeights(torchvisionMobileNetV2Spec())), mobilenetV2Spec());
});

test("the maps: a few names by hand, the Linear -> 1x1 conv head, the BN eps shift", () => {
  const tv = syntheticWeights(torchvisionMobileNetV3Spec({ variant: "small" }));
  const mapped = torchvisionToCanonicalMobileNetV3(tv, "small");
  assert.is(mapped.get("blocks.0.0.se.conv_reduce.weight"), tv.get("features.1.block.1.fc1.weight"));
  assert.is(mapped.get("blocks.0.0.conv_pw.weight"), tv.get("features.1.block.2.0.weight"));
  assert.is(mapped.get("blocks.4.2.conv_pwl.weight"), tv.get("features.11.block.3.0.weight"));
  assert.is(mapped.get("blocks.5.0.bn1.weight"), tv.get("features.12.1.weight"));
  assert.is(mapped.get("classifier.bias"), tv.get("classifier.3.bias"));
  assert.equal(mapped.get("conv_head.weight")!.shape, [1024, 576, 1, 1]);
  assert.equal(mapped.get("conv_head.weight")!.data, tv.get("classifier.0.weight")!.data);
  const tvVar = tv.get("features.2.block.0.1.running_var")!.data;
  const ourVar = mapped.get("blocks.1.0.bn1.running_var")!.data;
  assert.equal(
    [...ourVar],
    [...tvVar].map((v) => Math.fround(v + (1e-3 - 1e-5))),
  );

  const tv2 = syntheticWeights(torchvisionMobileNetV2Spec());
  const mapped2 = torchvisionToCanonicalMobileNetV2(tv2);
  assert.is(mapped2.get("blocks.0.0.conv_pw.weight"), tv2.get("features.1.conv.1.weight"));
  assert.is(mapped2.get("blocks.6.0.bn3.running_var"), tv2.get("features.17.conv.3.running_var")); // eps equal: no shift
  assert.is(mapped2.get("bn2.weight"), tv2.get("features.18.1.weight"));
});

test("maps strip module./model., drop num_batches_tracked, and keep unknown names for the factory to report", () => {
  const tv = syntheticWeights(torchvisionMobileNetV2Spec());
  const wrapped = new Map([...tv].map(([n, t]) => [`module.${n}`, t]));
  wrapped.set("module.features.0.1.num_batches_tracked", zeros([]));
  wrapped.set("module.features.99.conv.weight", zeros([2, 2]));
  const mapped = torchvisionToCanonicalMobileNetV2(wrapped);
  assert.is(mapped.size, tv.size + 1);
  assert.ok(mapped.has("features.99.conv.weight"));
  assert.throws(
    () => createMobileNetV2({}, mapped),
    (e: Error) => e.message.includes("unexpected (1): features.99.conv.weight [2, 2]"),
  );

  const timm = syntheticWeights(mobilenetV3Spec({ variant: "large" }));
  const fromTimm = timmToCanonicalMobileNet(
    new Map([...[...timm].map(([n, t]) => [`model.${n}`, t] as const), ["model.bn1.num_batches_tracked", zeros([])]]),
  );
  assert.equal([...fromTimm.keys()], [...timm.keys()]);
  createMobileNetV3({ variant: "large" }, fromTimm); // accepted as is
});

test("createMobileNetV3 / V2: ONE error lists every missing, unexpected and mis-shaped weight", () => {
  const weights = syntheticWeights(mobilenetV3Spec({ variant: "small" }));
  weights.delete("blocks.3.1.se.conv_expand.bias");
  weights.delete("conv_head.bias");
  weights.set("blocks.2.0.conv_dw.weight", zeros([96, 1, 3, 3]));
  weights.set("head.fc.weight", zeros([10, 1024]));
  assert.throws(
    () => createMobileNetV3({ variant: "small" }, weights),
    (e: Error) =>
      e.message.startsWith("createMobileNetV3(small, width 1)") &&
      e.message.includes("missing (2): blocks.3.1.se.conv_expand.bias [144], conv_head.bias [1024]") &&
      e.message.includes("unexpected (1): head.fc.weight [10, 1024]") &&
      e.message.includes("blocks.2.0.conv_dw.weight: expected [96, 1, 5, 5], got [96, 1, 3, 3]"),
  );
  const v2 = syntheticWeights(mobilenetV2Spec());
  v2.set("classifier.weight", zeros([1000, 1000]));
  assert.throws(
    () => createMobileNetV2({}, v2),
    /createMobileNetV2\(width 1\)[^]*classifier.weight: expected \[1000, 1280\], got \[1000, 1000\]/,
  );
});

test("bad configs and bad inputs are clear errors", () => {
  assert.throws(
    () => mobilenetV3Spec({ variant: "medium" as "small" }),
    /mobilenetv3: variant must be "small" or "large", got medium/,
  );
  assert.throws(() => mobilenetV3Spec({ variant: "small", width: 0 }), /mobilenetv3: width must be > 0/);
  assert.throws(() => mobilenetV2Spec({ numClasses: 2.5 }), /mobilenetv2: numClasses must be a positive integer/);
  const model = createMobileNetV3(
    { variant: "small", numClasses: 7 },
    syntheticWeights(mobilenetV3Spec({ variant: "small", numClasses: 7 })),
  );
  assert.throws(
    () => model.features(zeros([1, 4, 64, 64])),
    /MobileNetV3\.features: x must have shape \[1, 3, \*, \*\], got \[1, 4, 64, 64\]/,
  );
  assert.throws(() => model.forward(zeros([3, 64, 64])), /MobileNetV3\.features: x must have shape/);
  const v2 = createMobileNetV2({ numClasses: 3 }, syntheticWeights(mobilenetV2Spec({ numClasses: 3 })));
  assert.throws(() => v2.features(zeros([2, 3, 64, 64])), /MobileNetV2\.features: x must have shape \[1, 3, \*, \*\]/);
  assert.throws(
    () => v2.head(zeros([1, 320, 7, 7])),
    /MobileNetV2\.head: features must have shape \[1, 1280, \*, \*\], got \[1, 320, 7, 7\]/,
  );
  assert.throws(() => model.head(zeros([1, 576])), /MobileNetV3\.head: features must have shape \[1, 576, \*, \*\]/);
});

test("any input size: features are [1, K, ceil(H/32), ceil(W/32)]", () => {
  const small = createMobileNetV3(
    { variant: "small", numClasses: 5 },
    syntheticWeights(mobilenetV3Spec({ variant: "small", numClasses: 5 })),
  );
  assert.equal(small.features(zeros([1, 3, 256, 256])).shape, [1, 576, 8, 8]);
  assert.equal(small.features(zeros([1, 3, 97, 130])).shape, [1, 576, 4, 5]);
  assert.equal(small.forward(zeros([1, 3, 33, 33])).shape, [1, 5]);
  const v2 = createMobileNetV2({ numClasses: 5 }, syntheticWeights(mobilenetV2Spec({ numClasses: 5 })));
  assert.equal(v2.features(zeros([1, 3, 160, 160])).shape, [1, 1280, 5, 5]);
  assert.is(small.featureChannels, 576);
  assert.is(v2.featureChannels, 1280);
});

test("makeDivisible rounds like timm's make_divisible", () => {
  // 24 * 3.67 = 88.08 -> 88; 80 * 2.3 = 184 -> 184; 18 -> 16 would lose > 10%, so 24; 4 -> 8 (minimum)
  assert.equal(
    [88.08, 184, 18, 4, 60, 36, 1280 * 1.4].map((v) => makeDivisible(v)),
    [88, 184, 24, 8, 64, 40, 1792],
  );
});

test.run();
