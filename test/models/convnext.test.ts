// ConvNeXt-T against torchvision's convnext_tiny and the timm-named PyTorch reference
// (tools/golden/gen_convnext.py), seeded synthetic weights, input 224; every stage's output
// (compact view) and the logits within 1e-4 (relative to the output's largest value).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CONVNEXT_PRESETS, convnextSpec, convnextStageGrids, createConvNeXt } from "../../src/models/convnext.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { Tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { goldenInput } from "./model_golden.ts";

const TOL = 1e-4;
const golden = fixture("convnext_tiny");
const tiny = CONVNEXT_PRESETS.convnext_tiny;

function specLines(spec: Iterable<[string, readonly number[]]>): string[] {
  return [...spec].map(([n, s]) => `${n} [${s.join(",")}]`);
}

test("convnext T / S / B: spec equals the timm-named reference's state dict (names, shapes, order)", () => {
  for (const [name, key] of [
    ["convnext_tiny", "spec"],
    ["convnext_small", "spec_small"],
    ["convnext_base", "spec_base"],
  ]) {
    const theirs = Object.entries(JSON.parse(golden.metadata![key]) as Record<string, number[]>);
    assert.equal(specLines(convnextSpec(CONVNEXT_PRESETS[name])), specLines(theirs), name);
  }
});

/** Spatial mean per channel, channel mean [h, w], channel 0 [h, w] of a stage output [1, C, h, w]. */
function compact(t: Tensor) {
  const [, C, h, w] = t.shape;
  const hw = h * w;
  const spatial = new Float32Array(C);
  const channel = new Float32Array(hw);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let p = 0; p < hw; p++) {
      s += t.data[c * hw + p];
      channel[p] += t.data[c * hw + p] / C;
    }
    spatial[c] = s / hw;
  }
  return {
    spatial_mean: new Tensor(spatial, [C]),
    channel_mean: new Tensor(channel, [h, w]),
    channel0: new Tensor(t.data.slice(0, hw), [h, w]),
  };
}

test("convnext_tiny: every stage and the logits match torchvision's convnext_tiny and the timm-named reference", () => {
  const model = createConvNeXt(tiny, syntheticWeights(convnextSpec(tiny)));
  const x = goldenInput(golden, "convnext.input", [1, 3, 224, 224]);
  const { logits, stages } = model.forwardMasked(x, [null, null, null, null]);
  assert.equal(
    stages.map((s) => s.shape),
    JSON.parse(golden.metadata!.stage_shapes),
  );
  assert.equal(
    stages.map((s) => [s.shape[2], s.shape[3]]),
    model.stageGrids(224),
  );
  for (const source of ["tv", "ref"]) {
    stages.forEach((s, i) => {
      const view = compact(s);
      for (const [k, v] of Object.entries(view))
        assertClose(v, golden.get(`${source}_stage${i}_${k}`), TOL, `${source} stage ${i} ${k}`);
    });
    assertClose(logits.reshape([1000]), golden.get(`${source}_logits`), TOL, `${source} logits`);
  }
  // the test can fail: another seed's weights give other logits
  const other = createConvNeXt(tiny, syntheticWeights(convnextSpec(tiny), 1));
  assert.ok(relativeError(other.head(stages[3]).reshape([1000]), golden.get("tv_logits")) > 1e-2);
});

test("createConvNeXt: one error lists every bad weight; bad configs, inputs and masks are clear errors", () => {
  const config = { depths: [1, 1], dims: [8, 16], numClasses: 3 };
  const weights = syntheticWeights(convnextSpec(config));
  weights.delete("stages.1.blocks.0.gamma");
  weights.set("stages.0.blocks.0.conv_dw.weight", zeros([8, 1, 3, 3]));
  assert.throws(
    () => createConvNeXt(config, weights),
    (e: Error) =>
      /missing \(1\): stages\.1\.blocks\.0\.gamma \[16\]/.test(e.message) &&
      /stages\.0\.blocks\.0\.conv_dw\.weight: expected \[8, 1, 7, 7\], got \[8, 1, 3, 3\]/.test(e.message),
  );
  assert.throws(() => convnextSpec({ depths: [1, 1], dims: [8] }), /same length/);
  const model = createConvNeXt(config, syntheticWeights(convnextSpec(config)));
  assert.throws(() => model.forward(zeros([1, 1, 32, 32])), /x must have shape \[1, 3, \*, \*\]/);
  assert.throws(() => model.forwardMasked(zeros([1, 3, 32, 32]), [null]), /1 stage masks given for 2 stages/);
  const wrong = { height: 4, width: 4, foreground: new Uint8Array(16) };
  assert.throws(() => model.forwardMasked(zeros([1, 3, 32, 32]), [wrong, null]), /4x4 grid .* given to a 8x8 stage/);
  assert.equal(convnextStageGrids(224), [
    [56, 56],
    [28, 28],
    [14, 14],
    [7, 7],
  ]);
});

test.run();
