// MAC accounting of the VideoMAE classifier (src/papr/video_macs.ts): the published totals, PaPr's kept-token
// costs, and the formula against the MACs the kernels count on a real (small) forward.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVideoVit, videoVitConfig, videoVitSpec } from "../../src/models/video_vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { LAYER_NORM_MACS_PER_ELEMENT } from "../../src/papr/macs.ts";
import { tubeletEmbedMacs, videoVitCost, videoVitCostKept } from "../../src/papr/video_macs.ts";
import { embedRowsOf, noReduction, runReducedBlocks } from "../../src/papr/token_reduction.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { zeros } from "../../src/tensor/tensor.ts";

const BASE = videoVitConfig("videomae_base");
const SMALL = videoVitConfig("videomae_small");
const G = 1e9;

test("unpruned VideoMAE ViT-B 180.5 G and ViT-S 57.0 G per 16-frame view (VideoMAE reports 180 G and 57 G)", () => {
  const base = videoVitCost(BASE, new Array(12).fill(1568)).total / G;
  const small = videoVitCost(SMALL, new Array(12).fill(1568)).total / G;
  console.log(`  ViT-B ${base.toFixed(2)} G, ViT-S ${small.toFixed(2)} G`);
  assert.ok(Math.abs(base - 180) < 1, `${base}`);
  assert.ok(Math.abs(small - 57) < 1, `${small}`);
  assert.is(tubeletEmbedMacs(BASE), 1568 * 3 * 2 * 16 * 16 * 768);
});

test("PaPr keep counts: floor(1568 z) tokens in every block, the embedding always full", () => {
  const full = videoVitCostKept(BASE);
  const pruned = videoVitCostKept(BASE, Math.floor(1568 * 0.4), 1e9);
  assert.is(pruned.patchEmbed, full.patchEmbed);
  assert.is(pruned.proposer, 1e9);
  assert.ok(pruned.blocks.every((m) => m < full.blocks[0] * 0.4));
  console.log(`  ViT-B at z = 0.4 (627 tokens), proposer excluded: ${((pruned.total - 1e9) / G).toFixed(2)} G`);
  assert.throws(() => videoVitCost(BASE, [1568]), /1 token counts given for 12 blocks/);
});

test("the formula = the MACs the kernels count on a forward (+ the layer norms, which they do not count)", () => {
  const config = { ...SMALL, embedDim: 48, numHeads: 3, depth: 2 };
  const vit = createVideoVit(config, syntheticWeights(videoVitSpec(config)));
  const x = zeros([1, 3, 16, 224, 224]);
  for (const kept of [1568, 627]) {
    const keep = Int32Array.from({ length: kept }, (_, i) => (i * 5) % 1568);
    const counted = countMacs(() => vit.forward(x, kept === 1568 ? undefined : keep)).macs;
    const cost = videoVitCost(config, [kept, kept]);
    const norms = LAYER_NORM_MACS_PER_ELEMENT * 48 * (2 * 2 * kept + 1);
    assert.is(counted, cost.total - norms, `${kept} tokens`);
  }
});

test("the VideoMAE model composes with PaPr's block loop: same logits as forward(x, keep), tokens and MACs per block", () => {
  const config = { ...SMALL, embedDim: 48, numHeads: 3, depth: 2 };
  const vit = createVideoVit(config, syntheticWeights(videoVitSpec(config)));
  const x = syntheticTensor("video_macs.input", [1, 3, 16, 224, 224], 1);
  const keep = Int32Array.from({ length: 627 }, (_, i) => (i * 5 + 3) % 1568);
  const run = runReducedBlocks(vit, vit.keepTokens(vit.embed(x), keep), embedRowsOf(0, keep), noReduction);
  assert.equal([...vit.head(run.tokens).data], [...vit.forward(x, keep).data]);
  assert.equal(
    run.blocks.map((b) => [b.tokensIn, b.tokensOut]),
    [
      [627, 627],
      [627, 627],
    ],
  );
  assert.equal(
    run.blocks.map((b) => b.macs),
    videoVitCost(config, [627, 627]).blocks,
  );
});

test.run();
