// Hierarchical PaPr on ConvNeXt-T (PAPR-SPEC.md section 5) against the PyTorch reference written from the spec
// (tools/golden/hierarchical_ref.py via gen_convnext.py): seeded weights, input 224, a seeded 7x7 proposal map.
// Masks exact; resized significance within 1e-5 (one bicubic kernel); logits and the last stage within 1e-4
// (whole model); z = 1 bit-identical to the unmasked model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CONVNEXT_PRESETS, convnextSpec, createConvNeXt } from "../../src/models/convnext.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { hierarchicalPaprForward, stageMasks } from "../../src/papr/hierarchical.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const golden = fixture("convnext_hier");
const tiny = CONVNEXT_PRESETS.convnext_tiny;
const model = createConvNeXt(tiny, syntheticWeights(convnextSpec(tiny)));
const x = syntheticTensor("convnext.input", [1, 3, 224, 224], 1);
const significance = golden.get("significance_input");
const grids = model.stageGrids(224);
const tag = (z: number) => `z${String(z).replace(".", "")}`;

/** Spatial mean [C] and channel mean [h, w] of [1, C, h, w]. */
function means(t: Tensor) {
  const [, C, h, w] = t.shape;
  const spatial = new Float32Array(C);
  const channel = new Float32Array(h * w);
  for (let c = 0; c < C; c++)
    for (let p = 0; p < h * w; p++) {
      spatial[c] += t.data[c * h * w + p] / (h * w);
      channel[p] += t.data[c * h * w + p] / C;
    }
  return { spatial: new Tensor(spatial, [C]), channel: new Tensor(channel, [h, w]) };
}

test("stageMasks: resized significance, ranking and foreground of every stage as the reference's", () => {
  assert.equal(JSON.parse(golden.metadata!.grids), grids);
  for (const z of [1, 0.65, 0.4]) {
    const masks = stageMasks(significance, grids, z);
    masks.forEach((m, i) => {
      const [h, w] = grids[i];
      assert.equal([...m.keptIndices], [...golden.get(`kept_${tag(z)}_stage${i}`).data], `kept, z ${z} stage ${i}`);
      assert.is(m.keptIndices.length, Math.floor(z * h * w));
      assert.is(
        m.foreground.reduce((n, v) => n + v, 0),
        m.keptIndices.length,
      );
      assertClose(m.significance, golden.get(`significance_stage${i}`), 1e-5, `significance stage ${i}`);
    });
  }
  assert.throws(() => stageMasks(significance, grids, [0.5, 0.5]), /2 keep ratios given for 4 stages/);
  assert.throws(() => stageMasks(significance, grids, 0), /keep ratio z must be a number in \(0, 1\]/);
});

test("masked ConvNeXt-T: z = 1 is the unmasked model bit for bit; z = 0.65 and 0.4 match the reference", () => {
  const plain = model.forward(x);
  const full = model.forwardMasked(x, stageMasks(significance, grids, 1));
  assert.equal([...full.logits.data], [...plain.data], "z = 1: bit-identical logits");
  assertClose(plain.reshape([1000]), golden.get("logits_z1"), 1e-4, "z = 1 logits");
  const logits: Record<string, Tensor> = {};
  for (const z of [0.65, 0.4]) {
    const masks = stageMasks(significance, grids, z);
    const run = model.forwardMasked(x, masks);
    logits[tag(z)] = run.logits;
    assertClose(run.logits.reshape([1000]), golden.get(`logits_${tag(z)}`), 1e-4, `logits z ${z}`);
    const last = means(run.stages[3]);
    assertClose(last.spatial, golden.get(`last_spatial_mean_${tag(z)}`), 1e-4, `last stage spatial mean z ${z}`);
    assertClose(last.channel, golden.get(`last_channel_mean_${tag(z)}`), 1e-4, `last stage channel mean z ${z}`);
    // background positions are exactly 0 after every masked stage
    run.stages.forEach((s, i) => {
      const [, C, h, w] = s.shape;
      for (let p = 0; p < h * w; p++)
        if (!masks[i].foreground[p]) for (let c = 0; c < C; c++) assert.is(s.data[c * h * w + p], 0);
    });
    // the test can fail: masking with the wrong stage's foreground changes the logits beyond the tolerance
    assert.ok(relativeError(run.logits.reshape([1000]), golden.get("logits_z1")) > 1e-2, "masking changes logits");
  }
  // hierarchicalPaprForward with a proposer whose one channel is the significance map: the same masks and logits
  const proposer = { features: () => significance.reshape([1, 1, 7, 7]) };
  const run = hierarchicalPaprForward(model, proposer, x, { z: 0.65 });
  assert.equal([...run.logits.data], [...logits[tag(0.65)].data]);
  assert.equal([...run.masks![2].keptIndices], [...golden.get("kept_z065_stage2").data]);
  assert.throws(() => hierarchicalPaprForward(model, null, x, { z: 0.5 }), /a proposer is needed/);
});

test.run();
