// Unit tests of src/papr/adaptive_pruning.ts: placement, the thresholds file's checks, and the limits of a
// threshold (0 keeps every token, 1 keeps one per stage); the goldens are in adaptive_pruning_golden.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import {
  ADAPTIVE_THRESHOLDS_FORMAT,
  adaptivePruning,
  adaptivePruningBlocks,
  adaptivePruningForBudget,
  budgetThresholds,
  droppedAtBlock,
  parseAdaptiveThresholds,
} from "../../src/papr/adaptive_pruning.ts";
import { explainPicture, explainPictureWithStages, pruningStagesPanel } from "../../src/papr/explain.ts";
import type { RgbImage } from "../../src/image/image.ts";
import { tensor } from "../../src/tensor/tensor.ts";
import { Papr } from "../../src/papr/papr.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";

test("pruning blocks: the paper's 3, 6, 9 at depth 12, scaled to 1, 3, 4 at depth 6", () => {
  assert.equal(adaptivePruningBlocks(12), [3, 6, 9]);
  assert.equal(adaptivePruningBlocks(6), [1, 3, 4]);
  assert.equal(adaptivePruningBlocks(4), [1, 2, 3]);
  assert.equal(adaptivePruningBlocks(2), [1]);
  assert.equal(adaptivePruningBlocks(1), [0]);
  assert.throws(() => adaptivePruningBlocks(0), /depth 0/);
});

const file = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    format: ADAPTIVE_THRESHOLDS_FORMAT,
    headWeighting: "outputNorm",
    blocks: [1, 3, 4],
    budgets: [
      { budget: 0.7, thresholds: [0.001, 0.002, 0.003] },
      { budget: 0.5, thresholds: [0.002, 0.003, 0.004] },
    ],
    ...over,
  });

test("thresholds file: parsed, and a budget is chosen by its exact value", () => {
  const parsed = parseAdaptiveThresholds(file(), "t.json");
  assert.equal(parsed.blocks, [1, 3, 4]);
  assert.equal(budgetThresholds(parsed, 0.5).thresholds, [0.002, 0.003, 0.004]);
  assert.throws(() => budgetThresholds(parsed, 0.6), /no thresholds for budget 0\.6; the file has 0\.7, 0\.5/);
  assert.match(adaptivePruningForBudget(parsed, 0.7).method, /^adaptive budget 0\.7\(1: >= 0\.001000/);
});

test("thresholds file: every malformed field is named with the file", () => {
  const bad: [string, RegExp][] = [
    ["{", /t\.json: not JSON/],
    ["[]", /t\.json: must be a JSON object/],
    [file({ format: "x" }), /"format" must be "papr-ts\/adaptive-thresholds\/1"/],
    [file({ headWeighting: "uniform" }), /"headWeighting" must be "outputNorm"/],
    [file({ blocks: [3, 1] }), /"blocks" must be a non-empty ascending list/],
    [file({ blocks: [] }), /"blocks"/],
    [file({ budgets: [] }), /"budgets" must be a non-empty list/],
    [file({ budgets: [{ budget: 2, thresholds: [0, 0, 0] }] }), /budgets\[0\]\.budget must be a number in \(0, 1\]/],
    [file({ budgets: [{ budget: 0.5, thresholds: [0, 0] }] }), /budgets\[0\]\.thresholds must be 3 numbers/],
    [file({ budgets: [{ budget: 0.5, thresholds: [0, "a", 0] }] }), /budgets\[0\]\.thresholds/],
    [file({ budgets: [{ budget: 0.5, thresholds: [0, -1, 0] }] }), /budgets\[0\]\.thresholds/],
    [
      file({
        budgets: [
          { budget: 0.5, thresholds: [0, 0, 0] },
          { budget: 0.5, thresholds: [0, 0, 0] },
        ],
      }),
      /budget 0\.5 is given twice/,
    ],
  ];
  for (const [text, message] of bad) assert.throws(() => parseAdaptiveThresholds(text, "t.json"), message, text);
});

const vit = (() => {
  const config = vitConfig("deit_tiny_patch16_224", { embedDim: 48, depth: 6, numHeads: 3, numClasses: 10 });
  return createVit(config, syntheticWeights(vitSpec(config)));
})();
const x = syntheticTensor("adaptive.unit.input", [1, 3, 224, 224], 1);

test("threshold 0 keeps every token (logits as the unpruned ViT); threshold 1 keeps one patch per stage", () => {
  const papr = new Papr(vit, null);
  const plain = papr.predict(x, { z: 1 });
  const none = papr.predict(x, { z: 1, reducer: adaptivePruning([1, 3, 4], [0, 0, 0]) });
  assert.equal(none.tokensAfterBlock, [197, 197, 197, 197, 197, 197]);
  assert.equal([...none.logits.data], [...plain.logits.data]);
  const all = papr.predict(x, { z: 1, reducer: adaptivePruning([1, 3, 4], [1, 1, 1]) });
  assert.equal(all.tokensAfterBlock, [197, 2, 2, 2, 2, 2]);
  assert.ok(all.macs.total < plain.macs.total);
});

test("the token count is a result of the image: two images, same thresholds, other counts", () => {
  const papr = new Papr(vit, null);
  const reducer = adaptivePruning([1, 3, 4], [1.1 / 196, 1.2 / 196, 1.3 / 196]);
  const a = papr.predict(x, { z: 1, reducer }).tokensAfterBlock;
  const b = papr.predict(syntheticTensor("adaptive.unit.other", [1, 3, 224, 224], 1), {
    z: 1,
    reducer,
  }).tokensAfterBlock;
  assert.not.equal(a, b);
  assert.throws(() => adaptivePruning([1, 3], [0.1]), /2 blocks but 1 thresholds/);
  assert.throws(
    () => papr.predict(x, { z: 1, reducer: adaptivePruning([1, 9], [0.1, 0.1]) }),
    /stage at block 9, but the backbone has 6 blocks/,
  );
});

test("droppedAtBlock: the block each patch left at; -1 kept to the head, -2 pruned before the blocks (PaPr)", () => {
  // 1 prefix token, 4 patches; patches 0, 2, 3 entered; 2 dropped in block 1, 0 in block 2; 3 stays
  const groups = [Int32Array.of(0, 1, -1, 2, 3), Int32Array.of(0, 1, -1, -1, 2), Int32Array.of(0, -1, -1, -1, 1)];
  assert.equal([...droppedAtBlock(groups, [0, 2, 3], 1)], [2, -2, 1, -1]);
});

test("the stages panel: kept patches as they are, PaPr-pruned dimmed, dropped ones tinted by stage", () => {
  const image: RgbImage = { width: 4, height: 4, data: new Uint8Array(4 * 4 * 3).fill(200) };
  const pixel = (img: RgbImage, px: number, py: number) => [
    ...img.data.subarray((py * img.width + px) * 3, (py * img.width + px) * 3 + 3),
  ];
  const panel = pruningStagesPanel(image, Int32Array.of(-1, -2, 1, 3), [2, 2], [1, 3]);
  assert.equal(pixel(panel, 0, 0), [200, 200, 200]);
  assert.equal(pixel(panel, 3, 0), [50, 50, 50]);
  assert.not.equal(pixel(panel, 0, 3), pixel(panel, 3, 3), "two stages, two tints");
  assert.throws(() => pruningStagesPanel(image, Int32Array.of(1, 2), [2, 2], [1]), /droppedAt has 2 entries/);
  const three = explainPicture(image, tensor([1, 2, 3, 4], [2, 2]), Uint8Array.of(1, 0, 1, 1));
  const four = explainPictureWithStages(
    image,
    tensor([1, 2, 3, 4], [2, 2]),
    Uint8Array.of(1, 0, 1, 1),
    Int32Array.of(-1, -2, 1, 3),
    [1, 3],
  );
  assert.is(four.width, three.width + 8 + 4);
});

test.run();
