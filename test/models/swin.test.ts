// Swin Transformer (src/models/swin.ts) against tools/golden/gen_swin.py: Swin-T at 224 with seeded weights,
// compared with torchvision's own swin_t and with swin_ref.py (timm-named, plain PyTorch), every stage and the
// logits; masked (hierarchical PaPr) Swin-T against swin_masked_ref.py with the fixture's masks.
//
// Tolerance: 1e-4 (relative to the largest |value|), the project's whole-model tolerance: our kernels sum in
// float64 while PyTorch sums in float32, and the difference compounds over 12 blocks (observed errors are
// printed). The unmasked model at z = 1 is compared bit for bit.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalSwinName } from "../../src/models/load/names_swin.ts";
import {
  createSwin,
  swinConfig,
  swinSpec,
  type Swin,
  type SwinConfig,
  type SwinStageMask,
} from "../../src/models/swin.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { rankPatches } from "../../src/papr/ranking.ts";
import { patchSignificance } from "../../src/papr/significance.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { goldenInput, goldenSpec, specLines } from "./model_golden.ts";

const TOL = 1e-4;
const tiny = fixture("swin_tiny");
const masked = fixture("swin_masked");

/** The SwinConfig the generator used (its dataclass, snake_case -> camelCase). */
function fixtureConfig(golden: ReturnType<typeof fixture>): SwinConfig {
  const raw = JSON.parse(golden.metadata?.config ?? "null") as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]),
  ) as unknown as SwinConfig;
}

let model: Swin | undefined;
function swinTiny(): Swin {
  model ??= createSwin(fixtureConfig(tiny), syntheticWeights(swinSpec(fixtureConfig(tiny))));
  return model;
}
const input = () => goldenInput(tiny, "swin.input", [1, 3, 224, 224]);

/** Channel mean [H, W], spatial mean [C] and the first 4 channels of a stage [1, C, H, W]. */
function summaries(stage: Tensor) {
  const [, C, H, W] = stage.shape;
  const channelMean = new Float64Array(H * W);
  const spatialMean = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < H * W; p++) {
      const v = stage.data[c * H * W + p];
      channelMean[p] += v / C;
      spatialMean[c] += v / (H * W);
    }
  }
  return {
    channel_mean: new Tensor(Float32Array.from(channelMean), [H, W]),
    spatial_mean: new Tensor(Float32Array.from(spatialMean), [C]),
    first4: new Tensor(stage.data.slice(0, 4 * H * W), [4, H, W]),
  };
}

/** The fixture's foreground masks of one z tag, one per stage. */
function fixtureMasks(tag: string): SwinStageMask[] {
  return [0, 1, 2, 3].map((i) => {
    const m = masked.get(`mask_${tag}_stage${i}`);
    return { height: m.shape[0], width: m.shape[1], foreground: Uint8Array.from(m.data) };
  });
}

test("the golden's config is the swin_tiny preset, and swinSpec = swin_ref.py's state dict", () => {
  const config = fixtureConfig(tiny);
  assert.equal(config, swinConfig("swin_tiny_patch4_window7_224"));
  assert.equal(specLines(swinSpec(config)), specLines(goldenSpec(tiny)));
});

test("torchvision's swin_t / swin_s / swin_b state dicts map onto the presets' specs, name for name", () => {
  for (const [key, preset] of [
    ["tv_spec_t", "swin_tiny_patch4_window7_224"],
    ["tv_spec_s", "swin_small_patch4_window7_224"],
    ["tv_spec_b", "swin_base_patch4_window7_224"],
  ]) {
    const tv = JSON.parse(tiny.metadata![key]) as Record<string, number[]>;
    const mapped: [string, number[]][] = [];
    for (const [name, shape] of Object.entries(tv)) {
      const canonical = canonicalSwinName(name, "torchvision");
      assert.ok(canonical !== undefined, `${key}: ${name} unknown`);
      if (canonical !== null) mapped.push([canonical, shape]);
      else assert.ok(name.endsWith("relative_position_index"), name);
    }
    assert.equal(specLines(mapped), specLines(swinSpec(swinConfig(preset))), preset);
  }
});

test("Swin-T: every stage and the logits match torchvision's swin_t and swin_ref.py within 1e-4", () => {
  const swin = swinTiny();
  assert.equal(swin.stageGrids(224), [
    [56, 56],
    [28, 28],
    [14, 14],
    [7, 7],
  ]);
  const { logits, stages } = swin.forwardMasked(input(), [null, null, null, null]);
  const errors: Record<string, number> = {};
  const check = (actual: Tensor, key: string) => {
    errors[key] = relativeError(actual, tiny.get(key));
    assertClose(actual, tiny.get(key), TOL, key);
  };
  assert.equal(logits.shape, [1, 1000]);
  for (const source of ["tv", "ref"]) {
    check(logits.reshape([1000]), `${source}_logits`);
    stages.forEach((stage, i) => {
      assert.equal(stage.shape, [1, 96 * 2 ** i, 56 / 2 ** i, 56 / 2 ** i]);
      const s = summaries(stage);
      check(s.channel_mean, `${source}_stage${i}_channel_mean`);
      check(s.spatial_mean, `${source}_stage${i}_spatial_mean`);
      if (source === "tv") check(s.first4, `tv_stage${i}_first4`);
    });
  }
  // swin_masked_ref.py's z = 1 run was asserted bit-identical to the unmasked forward by the generator
  assertClose(logits.reshape([1000]), masked.get("logits_z100"), TOL, "logits_z100");
  console.log(`  Swin-T worst relative errors: ${Math.max(...Object.values(errors)).toExponential(1)}`);
});

test("masked Swin-T (hierarchical PaPr) with the fixture's masks: logits within 1e-4 at z = 0.65 and 0.4", () => {
  const swin = swinTiny();
  for (const [tag, z] of [
    ["z65", 0.65],
    ["z40", 0.4],
  ] as const) {
    const masks = fixtureMasks(tag);
    masks.forEach((m) => {
      const foreground = m.foreground.reduce((a, b) => a + b, 0);
      assert.is(foreground, Math.floor(z * m.height * m.width), `${tag}: floor(z * H * W) foreground positions`);
    });
    const { logits, stages } = swin.forwardMasked(input(), masks);
    assertClose(logits.reshape([1000]), masked.get(`logits_${tag}`), TOL, `logits ${tag}`);
    stages.forEach((stage, i) =>
      assertClose(summaries(stage).spatial_mean, masked.get(`stage${i}_spatial_mean_${tag}`), TOL, `stage ${i} ${tag}`),
    );
    console.log(
      `  masked Swin-T ${tag}: logits relative error ${relativeError(logits.reshape([1000]), masked.get(`logits_${tag}`)).toExponential(1)}`,
    );
  }
});

test("the fixture's masks = the significance resized (patchSignificance) and ranked (rankPatches), first floor(z H W)", () => {
  const significance = masked.get("significance"); // [7, 7]
  for (const [tag, z] of [
    ["z65", 0.65],
    ["z40", 0.4],
  ] as const) {
    fixtureMasks(tag).forEach((m, i) => {
      const ranked = rankPatches(patchSignificance(significance, [m.height, m.width]));
      const foreground = new Uint8Array(m.height * m.width);
      for (const p of ranked.subarray(0, Math.floor(z * m.height * m.width))) foreground[p] = 1;
      assert.equal([...foreground], [...m.foreground], `${tag} stage ${i}`);
    });
  }
});

// A narrow Swin (same grids as at 224) for the properties that do not need the real width.
const SMALL = swinConfig("swin_tiny_patch4_window7_224", {
  embedDim: 8,
  depths: [2, 2, 2, 1],
  numHeads: [1, 1, 2, 2],
  mlpRatio: 2,
  numClasses: 5,
});
const small = createSwin(SMALL, syntheticWeights(swinSpec(SMALL), 3));
const smallInput = () => goldenInput(tiny, "swin.input", [1, 3, 224, 224]);
const fullMasks = (swin: Swin, value: number): SwinStageMask[] =>
  swin
    .stageGrids()
    .map(([height, width]) => ({ height, width, foreground: new Uint8Array(height * width).fill(value) }));

test("z = 1 (every position foreground) is bit-identical to the unmasked forward", () => {
  const x = smallInput();
  const plain = small.forward(x);
  const all = small.forwardMasked(x, fullMasks(small, 1));
  assert.equal([...all.logits.data], [...plain.data]);
  const features = small.features(x);
  all.stages.forEach((s, i) => assert.equal([...s.data], [...features[i].data], `stage ${i}`));
});

test("masking changes only what it should: an all-background mask differs from the unmasked model", () => {
  const x = smallInput();
  const none = small.forwardMasked(x, fullMasks(small, 0));
  const plain = small.forward(x);
  assert.ok(relativeError(none.logits, plain) > 1e-3, "skipping every MLP must change the logits");
  // masking only the last stage leaves stages 0-2 exactly as unmasked
  const masks: (SwinStageMask | null)[] = [null, null, null, fullMasks(small, 0)[3]];
  const lastOnly = small.forwardMasked(x, masks);
  const features = small.features(x);
  for (let i = 0; i < 3; i++) assert.equal([...lastOnly.stages[i].data], [...features[i].data]);
});

test("bad masks are refused with a message naming the stage and the expected grid", () => {
  const x = smallInput();
  assert.throws(() => small.forwardMasked(x, [null, null]), /one mask \(or null\) per stage: 4, got 2/);
  const wrong = { height: 28, width: 28, foreground: new Uint8Array(28 * 28) };
  assert.throws(() => small.forwardMasked(x, [wrong, null, null, null]), /stage\(0\).*56x56/);
  const notBinary = fullMasks(small, 1);
  notBinary[1].foreground[5] = 2;
  assert.throws(() => small.forwardMasked(x, notBinary), /foreground\[5\] = 2 is not 0 or 1/);
});

test("bad configs are refused naming the field", () => {
  assert.throws(() => swinSpec({ ...SMALL, imageSize: 200 }), /not a whole number of 7x7 windows|whole grid/);
  assert.throws(() => swinSpec({ ...SMALL, numHeads: [1, 1, 2] }), /numHeads must list one/);
  assert.throws(
    () => swinSpec({ ...SMALL, numHeads: [3, 1, 2, 2] }),
    /stage 0: 8 channels are not divisible by 3 heads/,
  );
  assert.throws(() => createSwin(SMALL, new Map()), /createSwin.*missing/s);
});

test.run();
