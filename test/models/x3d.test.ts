// X3D against the plain-PyTorch X3D of tools/golden/x3d_ref.py (PyTorchVideo's names; gen_x3d.py) with the shared
// synthetic weights, real size (3.79M parameters) on a 1 x 3 x 4 x 80 x 80 clip and a head built for a 4 x 64 x 64
// training clip (so its pool slides: 2 x 2 positions). Tolerance 1e-5 relative to the output's largest value: 26
// bottlenecks of float32 convs summed in another order than torch's; measured <= 9e-7 on the js and wasm backends.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import {
  X3D_CLIPS,
  X3D_FEATURE_CHANNELS,
  X3D_STAGE_CHANNELS,
  X3D_STAGE_DEPTHS,
  createX3d,
  roundWidth,
  x3dSpec,
  type X3dVariant,
} from "../../src/models/x3d.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { Tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { assertClipGolden, goldenInput, goldenSpec } from "./model_golden.ts";

const TOL = 1e-5;
const golden = fixture("x3d_s");
const TRAINED_CLIP = JSON.parse(golden.metadata!.trained_clip) as [number, number, number]; // [4, 64, 64]
const WEIGHTS = syntheticWeights(x3dSpec({ variant: "s" }));

/** features [1, C, t, h, w] and logits against the fixture (compact view over (t, h, w)). */
function assertMatchesGolden(features: Tensor, logits: Tensor): void {
  assertClipGolden(golden, features, logits, TOL);
}

test("x3d: the paper's expansion of X2D gives Table 1's widths and depths, PyTorchVideo's SE widths", () => {
  assert.equal(X3D_STAGE_CHANNELS, [24, 48, 96, 192]);
  assert.equal(X3D_STAGE_DEPTHS, [3, 5, 11, 7]);
  assert.is(X3D_FEATURE_CHANNELS, 432);
  assert.equal(
    [54, 108, 216, 432].map((inner) => roundWidth(inner, 1 / 16)),
    [8, 8, 16, 32],
  );
  const spec = x3dSpec({ variant: "m" });
  const parameters = [...spec]
    .filter(([n]) => !n.includes("running_"))
    .reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
  assert.is(parameters, 3_794_274); // PyTorchVideo's model zoo lists 3.79M for both X3D-S and X3D-M
  assert.equal(x3dSpec({ variant: "s" }), spec); // one layout, three training clips
});

test("x3d_s: spec equals the reference's state dict (names, shapes, order)", () => {
  const ours = [...x3dSpec({ variant: "s" })].map(([n, s]) => `${n} [${s}]`);
  const theirs = goldenSpec(golden).map(([n, s]) => `${n} [${s}]`);
  assert.equal(ours, theirs);
});

test("x3d_s: features (conv5) and logits match the PyTorch reference", () => {
  const model = createX3d({ variant: "s", clip: TRAINED_CLIP }, WEIGHTS);
  const x = goldenInput(golden, "x3d.input", [1, 3, 4, 80, 80]);
  const features = model.features(x);
  assert.equal(features.shape, JSON.parse(golden.metadata!.features_shape));
  assert.equal(features.shape, [1, X3D_FEATURE_CHANNELS, 4, 3, 3]);
  const logits = model.head(features);
  assertMatchesGolden(features, logits);
  assertClose(model.forward(x), logits, 0, "forward = head(features)");

  // the golden can fail: a global pool in the head (the 4 x 96 x 96 clip's kernel covers the whole map) and a
  // zeroed SE bias in the last SE block each move the logits far beyond the tolerance
  const globalPool = createX3d({ variant: "s", clip: [4, 96, 96] }, WEIGHTS);
  assert.ok(relativeError(globalPool.head(features), golden.get("logits")) > 10 * TOL, "global pool differs");
  const noSeBias = new Map(WEIGHTS);
  const seBias = "blocks.4.res_blocks.6.branch2.norm_b.1.block.2.bias";
  noSeBias.set(seBias, zeros(WEIGHTS.get(seBias)!.shape));
  const changed = createX3d({ variant: "s", clip: TRAINED_CLIP }, noSeBias).forward(x);
  assert.ok(relativeError(changed, golden.get("logits")) > 10 * TOL, "SE bias matters");
});

test("x3d: multiply-adds per clip match the paper's GFLOPs (X3D-XS 0.60, X3D-S 1.96 at 160 px)", () => {
  // Every conv before the head runs frame by frame (no temporal stride), so a clip of T frames costs T times one
  // frame (up to the squeeze-excitations, ~0.2M per clip); the head after the pool (~1.7M) is left out.
  const model = createX3d({ variant: "s" }, WEIGHTS);
  const { macs } = countMacs(() => model.features(zeros([1, 3, 1, 160, 160])));
  const gmacs = (frames: number) => (macs * frames) / 1e9;
  assert.ok(Math.abs(gmacs(4) - 0.6) < 0.01, `X3D-XS (4 frames): ${gmacs(4)} GMACs`);
  assert.ok(Math.abs(gmacs(13) - 1.96) < 0.01, `X3D-S (13 frames): ${gmacs(13)} GMACs`);
});

test("createX3d: one error lists every missing, unexpected and mis-shaped weight", () => {
  const weights = new Map(WEIGHTS);
  weights.delete("blocks.2.res_blocks.0.branch1_norm.running_var");
  weights.delete("blocks.5.proj.bias");
  weights.set("blocks.1.res_blocks.0.branch1_norm.weight", zeros([24])); // res2 keeps 24 channels: no shortcut BN
  weights.set("blocks.0.conv.conv_xy.weight", zeros([24, 1, 3, 1, 1]));
  let message = "";
  try {
    createX3d({ variant: "s" }, weights);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, "createX3d(x3d_s)");
  assert.match(message, "missing (2): blocks.2.res_blocks.0.branch1_norm.running_var [48], blocks.5.proj.bias [400]");
  assert.match(message, "unexpected (1): blocks.1.res_blocks.0.branch1_norm.weight [24]");
  assert.match(
    message,
    "wrong shape (1): blocks.0.conv.conv_xy.weight: expected [24, 1, 5, 1, 1], got [24, 1, 3, 1, 1]",
  );
});

test("createX3d: variants, numClasses, clip sizes and bad input", () => {
  assert.equal(X3D_CLIPS.s, [13, 160, 160]);
  assert.equal(X3D_CLIPS.m, [16, 224, 224]);
  assert.throws(() => x3dSpec({ variant: "l" as X3dVariant }), /unknown variant "l"/);
  assert.throws(
    () => createX3d({ variant: "s", clip: [13, 0, 160] }, WEIGHTS),
    /createX3d\(x3d_s\): clip must be \[T, H, W\], positive integers, got \[13,0,160\]/,
  );
  const spec = x3dSpec({ variant: "m", numClasses: 10 });
  assert.equal(spec.get("blocks.5.proj.weight"), [10, 2048]);
  const model = createX3d({ variant: "m", numClasses: 10 }, syntheticWeights(spec));
  assert.equal(model.clipSize, [16, 224, 224]);
  assert.equal(model.config, { variant: "m", numClasses: 10, clip: [16, 224, 224] });
  assert.throws(
    () => model.features(zeros([1, 3, 32, 32])),
    /x3d_m\.features: x must have shape \[\*, 3, \*, \*, \*\], got \[1, 3, 32, 32\]/,
  );
  assert.throws(() => model.head(zeros([1, 192, 1, 1, 1])), /x3d_m\.head: features must have shape/);
  // a clip shorter and smaller than the training one still runs (the pool kernel is clamped to the map)
  assert.equal(model.forward(zeros([2, 3, 2, 32, 32])).shape, [2, 10]);
});

test.run();
