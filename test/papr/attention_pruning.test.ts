// Attention-score pruning on hand-checkable inputs. (The golden against PyTorch is
// attention_pruning_golden.test.ts.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { tensor } from "../../src/tensor/tensor.ts";
import { attentionPruning, classAttentionScores, selectByScore } from "../../src/papr/attention_pruning.ts";
import { reducedBlockMacs, runWithTokenReduction, withBlockParams } from "../../src/papr/token_reduction.ts";

/** Equal to float32 rounding (the inputs are float32 versions of the decimals). */
function near(actual: ArrayLike<number>, expected: number[], what = "scores") {
  assert.is(actual.length, expected.length, what);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 1e-7, `${what}[${i}]: ${actual[i]} vs ${e}`));
}

test("scores: class attention weighted by the norm of each head's class-token output", () => {
  // 2 heads, 4 tokens (class token first); head outputs of norm 3 and 1 -> weights 0.75 and 0.25
  const attention = tensor([0.4, 0.1, 0.2, 0.3, 0.1, 0.5, 0.3, 0.1], [2, 4]);
  const outputs = tensor([3, 0, 0, 1], [2, 2]);
  const scores = classAttentionScores(attention, outputs, 1);
  near(scores, [0.75 * 0.1 + 0.25 * 0.5, 0.75 * 0.2 + 0.25 * 0.3, 0.75 * 0.3 + 0.25 * 0.1]);
  const uniform = classAttentionScores(attention, outputs, 1, "uniform");
  near(uniform, [0.3, 0.25, 0.2], "uniform");
  near(classAttentionScores(attention, outputs, 2, "uniform"), [0.25, 0.2], "two prefix tokens");
  assert.throws(() => classAttentionScores(attention, outputs, 0), /classAttentionScores: needs a class token/);
  assert.throws(() => classAttentionScores(attention, tensor([1, 2, 3], [3, 1]), 1), /disagree on the number of heads/);
});

test("selection: keep rate ceil(q m) best, threshold >= s, ties keep the earlier token, minKeep", () => {
  const scores = Float32Array.of(0.1, 0.4, 0.2, 0.4, 0.05, 0.3);
  assert.equal([...selectByScore(scores, { keepRate: 0.5 }).kept], [1, 3, 5]);
  assert.equal([...selectByScore(scores, { keepRate: 0.3 }).kept], [1, 3], "ceil(0.3 * 6) = 2");
  assert.equal([...selectByScore(scores, { keepRate: 0.1 }).kept], [1], "ceil(0.6) = 1, a tie: the earlier token wins");
  assert.equal([...selectByScore(scores, { keepRate: 1 }).kept], [0, 1, 2, 3, 4, 5]);
  assert.equal([...selectByScore(scores, { threshold: 0.2 }).kept], [1, 2, 3, 5]);
  assert.equal([...selectByScore(scores, { threshold: 0.9 }).kept], [1], "at least minKeep = 1");
  assert.equal([...selectByScore(scores, { threshold: 0.9 }, 0).kept], []);
  const { margin } = selectByScore(scores, { keepRate: 0.5 });
  assert.ok(Math.abs(margin - 6 * 0.1) < 1e-6, `gap 0.3 - 0.2 in units of 1/m, got ${margin}`);
  assert.ok(Math.abs(selectByScore(scores, { threshold: 0.25 }).margin - 6 * 0.05) < 1e-6, "distance to the threshold");
});

test("stages are checked", () => {
  assert.throws(
    () => attentionPruning({ stages: [{ block: 1 }] }),
    /stage at block 1: give exactly one of keepRate and threshold/,
  );
  assert.throws(() => attentionPruning({ stages: [{ block: 1, keepRate: 0.5, threshold: 0.1 }] }), /exactly one/);
  assert.throws(() => attentionPruning({ stages: [{ block: 1, keepRate: 0 }] }), /keepRate must be in \(0, 1\]/);
  assert.throws(
    () =>
      attentionPruning({
        stages: [
          { block: 1, keepRate: 0.5 },
          { block: 1, keepRate: 0.7 },
        ],
      }),
    /block given twice/,
  );
  assert.throws(() => attentionPruning({ stages: [{ block: -1, keepRate: 0.5 }] }), /block must be an integer >= 0/);
});

const small = (() => {
  const config = vitConfig("deit_tiny_distilled_patch16_224", {
    imageSize: 64,
    embedDim: 48,
    depth: 4,
    numHeads: 3,
    numClasses: 10,
  });
  const weights = syntheticWeights(vitSpec(config));
  return withBlockParams(createVit(config, weights), weights);
})();
const image = syntheticTensor("attnprune.test.image", [1, 3, 64, 64], 1);

test("on a small distilled ViT: both prefix tokens kept, token counts and MACs follow the stages", () => {
  const result = runWithTokenReduction(
    small,
    null,
    image,
    attentionPruning({
      stages: [
        { block: 1, keepRate: 0.5 },
        { block: 3, keepRate: 0.5 },
      ],
    }),
  );
  assert.equal(result.tokensPerBlock, [18, 18, 10, 10]);
  assert.equal(result.tokensAfterBlock, [18, 10, 10, 6]);
  assert.equal([...result.reduction.groupOf.subarray(0, 2)], [0, 1], "class and distillation tokens stay");
  const block1 = result.reduction.blocks[1];
  assert.is(block1.macs, reducedBlockMacs(18, 10, 48));
  assert.is(block1.pruned!.dropped.length, 8);
  assert.is(block1.pruned!.scores.length, 16);
  assert.ok(
    block1.pruned!.dropped.every((j) => j >= 2),
    "only patch tokens are dropped",
  );
  // the dropped tokens are the lowest-scored ones
  const kept = [...Array(16).keys()].filter((j) => !block1.pruned!.dropped.includes(j + 2));
  const lowestKept = Math.min(...kept.map((j) => block1.pruned!.scores[j]));
  assert.ok([...block1.pruned!.dropped].every((j) => block1.pruned!.scores[j - 2] <= lowestKept));
  assert.is(result.reduction.groupOf.filter((g) => g >= 0).length, 6);
  assert.throws(
    () => runWithTokenReduction(small, null, image, attentionPruning({ stages: [{ block: 4, keepRate: 0.5 }] })),
    /stage at block 4, but the backbone has 4 blocks/,
  );
});

test.run();
