// ToMe and the shared token-reduction machinery, on hand-checkable inputs and properties that can fail.
// (The golden against a PyTorch reference is tome_golden.test.ts.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { multiHeadSelfAttention } from "../../src/tensor/attention.ts";
import { multiHeadSelfAttentionEx } from "../../src/tensor/attention_variants.ts";
import { gatherRows } from "../../src/tensor/shape.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { tensor, type Tensor } from "../../src/tensor/tensor.ts";
import { blockMacs, vitCost } from "../../src/papr/macs.ts";
import { Papr, costConfig, type Proposer } from "../../src/papr/papr.ts";
import {
  attentionHalf,
  blockRecordsJson,
  embedRowsOf,
  noReduction,
  mlpHalf,
  reduceTokens,
  reducedBlockMacs,
  runReducedBlocks,
  runWithTokenReduction,
  withBlockParams,
} from "../../src/papr/token_reduction.ts";
import { bipartiteSoftMatching, paprTomeSchedule, tome, tomeRemap, tomeSchedule } from "../../src/papr/tome.ts";
import { relativeError } from "../golden.ts";

/** Unit vectors at the given angles (degrees): keys [t, 2]. */
function keysAt(degrees: number[]): Tensor {
  return tensor(
    degrees.flatMap((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]),
    [degrees.length, 2],
  );
}

// 7 tokens, class token 0. A = 0, 2, 4, 6; B = 1, 3, 5. Cosines: 2-3 = 1, 4-5 = 0.9, 6-1 = 0.8 (6-3 = 0.6),
// and the class token 0 is parallel to 1 but protected.
const SEVEN = keysAt([0, 0, 90, 90, 180, 180 + 25.842, 36.87]);

test("bipartite matching: the r best A tokens merge into their best B token; the class token never", () => {
  const m = bipartiteSoftMatching(SEVEN, 2, 1);
  assert.is(m.r, 2);
  assert.equal([...m.src], [2, 4]);
  assert.equal([...m.dst], [3, 5]);
  // output: class token, unmerged A (6), then B (1, 3, 5); merged tokens go where their match goes
  assert.equal([...m.remap], [0, 2, 3, 3, 4, 4, 1]);
  assert.is(m.numOut, 5);
  assert.ok(Math.abs(m.margin - 0.1) < 1e-4, `margin = 0.9 - 0.8 (the r-th vs (r+1)-th best), got ${m.margin}`);
});

test("bipartite matching: r is clamped to floor((t - prefix) / 2); r = 0 is the identity", () => {
  const m = bipartiteSoftMatching(SEVEN, 10, 1);
  assert.is(m.r, 3);
  assert.equal([...m.src], [2, 4, 6]);
  assert.equal([...m.dst], [3, 5, 1]);
  assert.equal([...m.remap], [0, 1, 2, 2, 3, 3, 1]);
  const none = bipartiteSoftMatching(SEVEN, 0, 1);
  assert.equal([...none.remap], [0, 1, 2, 3, 4, 5, 6]);
  assert.is(none.numOut, 7);
  assert.throws(() => bipartiteSoftMatching(SEVEN, -1, 1), /r must be an integer >= 0/);
  assert.throws(
    () => bipartiteSoftMatching(tensor([1, 2, 3], [3]), 1, 1),
    /bipartiteSoftMatching: keys must have rank 2/,
  );
});

test("bipartite matching: a distillation token (B position 1) receives no merge", () => {
  // token 2 is parallel to token 1 and at 60 degrees from token 3
  const keys = keysAt([0, 30, 30, 90]);
  assert.equal([...bipartiteSoftMatching(keys, 1, 1).dst], [1], "with only a class token, 2 merges into 1");
  const m = bipartiteSoftMatching(keys, 1, 2);
  assert.equal([...m.src], [2]);
  assert.equal([...m.dst], [3], "with class + distillation tokens, 2 merges into 3");
  assert.equal([...m.remap], [0, 1, 2, 2]);
});

test("bipartite matching: ties go to the lower index (A order and B choice); scale does not matter", () => {
  // 2 and 4 are both parallel to 3; 2 is equally close to 1 and 3
  const keys = keysAt([0, 45, 90, 135, 135]);
  const m = bipartiteSoftMatching(keys, 1, 1);
  assert.equal([...m.src], [4], "4 is parallel to 3 (cos 1); 2's best is cos 45 deg");
  const tie = bipartiteSoftMatching(keysAt([0, 45, 90, 135, 90]), 1, 1);
  assert.equal([...tie.src], [2], "2 and 4 tie for the best score: the lower A index merges");
  assert.equal([...tie.dst], [1], "2 is equally close to 1 and 3: the lower B index wins");
  const scaled = keysAt([0, 45, 90, 135, 135]);
  for (let i = 0; i < scaled.size; i++) scaled.data[i] *= 1 + (Math.floor(i / 2) % 3); // row t scaled by 1 + t % 3
  assert.equal([...bipartiteSoftMatching(scaled, 1, 1).src], [4], "cosine similarity ignores the key length");
});

test("tomeRemap without prefix tokens: unmerged A then B, each in order", () => {
  assert.equal([...tomeRemap(6, 0, Int32Array.of(2), Int32Array.of(5))], [0, 2, 4, 3, 1, 4]);
});

test("reduceTokens: size-weighted averages, sizes add up, dropped tokens vanish", () => {
  const x = tensor([1, 10, 3, 30, 5, 50, 7, 70], [4, 2]);
  const size = Float32Array.of(1, 3, 1, 2);
  const { tokens, size: out } = reduceTokens(x, size, Int32Array.of(0, 1, -1, 1), 2);
  assert.equal([...out], [1, 5]);
  assert.equal([...tokens.data], [1, 10, (3 * 3 + 7 * 2) / 5, (30 * 3 + 70 * 2) / 5].map(Math.fround));
  assert.throws(() => reduceTokens(x, size, Int32Array.of(0, 0, 0, 0), 2), /output token 1 receives no input token/);
  assert.throws(() => reduceTokens(x, size, Int32Array.of(0, 1, 2), 3), /needs size and remap of length 4/);
  // property: merging keeps sum(size * x)
  const y = syntheticTensor("tome.test.reduce", [9, 5], 1);
  const s = Float32Array.from({ length: 9 }, (_, i) => 1 + (i % 4));
  const m = bipartiteSoftMatching(syntheticTensor("tome.test.keys", [9, 4], 1), 3, 1);
  const r = reduceTokens(y, s, m.remap, m.numOut);
  for (let c = 0; c < 5; c++) {
    let before = 0;
    let after = 0;
    for (let i = 0; i < 9; i++) before += s[i] * y.data[i * 5 + c];
    for (let k = 0; k < m.numOut; k++) after += r.size[k] * r.tokens.data[k * 5 + c];
    assert.ok(Math.abs(before - after) < 1e-5 * Math.max(1, Math.abs(before)), `channel ${c}: ${before} vs ${after}`);
  }
});

const params = (D: number, H: number) => ({
  qkvWeight: syntheticTensor("tome.test.qkv", [3 * D, D], 0.4),
  qkvBias: syntheticTensor("tome.test.qkvb", [3 * D], 0.1),
  projWeight: syntheticTensor("tome.test.proj", [D, D], 0.4),
  projBias: syntheticTensor("tome.test.projb", [D], 0.1),
  numHeads: H,
});

test("attention taps: without bias = multiHeadSelfAttention; keys = mean over heads of the k columns", () => {
  const x = syntheticTensor("tome.test.x", [6, 12], 1);
  const p = params(12, 3);
  const taps = multiHeadSelfAttentionEx(x, p, { keys: true, classRow: true });
  assert.ok(relativeError(taps.output, multiHeadSelfAttention(x, p)) <= 1e-6);
  assert.equal(taps.keyMean!.shape, [6, 4]);
  // classAttention rows are softmax rows
  for (let h = 0; h < 3; h++) {
    const row = taps.classAttention!.data.subarray(h * 6, (h + 1) * 6);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
  assert.throws(
    () => multiHeadSelfAttentionEx(x, p, { keyBias: new Float32Array(5) }),
    /keyBias must have one entry per token \[6\]/,
  );
});

test("proportional attention: a token of size 2 attends like two copies of it", () => {
  // tokens [a, b, c] with size(b) = 2 and bias log 2 == plain attention on [a, b, b, c], rows a, b, c
  const x = syntheticTensor("tome.test.prop", [3, 12], 1);
  const p = params(12, 3);
  const proportional = multiHeadSelfAttentionEx(x, p, { keyBias: Float32Array.of(0, Math.log(2), 0) }).output;
  const copies = multiHeadSelfAttention(gatherRows(x, [0, 1, 1, 2]), p);
  assert.ok(relativeError(proportional, gatherRows(copies, [0, 1, 3])) <= 1e-6);
  const plain = multiHeadSelfAttention(x, p);
  assert.ok(relativeError(proportional, plain) > 1e-3, "the bias changes the output");
});

// A small ViT (64x64 input, 16 patches, 4 blocks) for the properties of the runner.
const small = (() => {
  const config = vitConfig("deit_tiny_patch16_224", {
    imageSize: 64,
    embedDim: 48,
    depth: 4,
    numHeads: 3,
    numClasses: 10,
  });
  const weights = syntheticWeights(vitSpec(config));
  const plain = createVit(config, weights);
  return { vit: withBlockParams(plain, weights), plain, weights, config };
})();
const image = syntheticTensor("tome.test.image", [1, 3, 64, 64], 1);

test("attentionHalf + mlpHalf = vit.block; r = 0 everywhere = the plain backbone", () => {
  const { vit, plain } = small;
  const tokens = vit.embed(image);
  const split = mlpHalf(vit, 1, attentionHalf(vit, 1, tokens, { keys: true }).x);
  assert.ok(relativeError(split, vit.block(1, tokens)) <= 1e-6);
  const result = runWithTokenReduction(vit, null, image, tome({ schedule: tomeSchedule(4, 0) }));
  assert.ok(relativeError(result.logits, plain.forward(image)) <= 1e-6);
  assert.equal(result.tokensPerBlock, [17, 17, 17, 17]);
  assert.equal(result.macs, vitCost(costConfig(vit), [17, 17, 17, 17]));
  assert.equal(result.macs, result.unprunedMacs);
});

test("ToMe on the small ViT: r tokens fewer per block, MACs at the reduced counts, groups consistent", () => {
  const { vit } = small;
  const result = runWithTokenReduction(vit, null, image, tome({ schedule: [2, 2, 2, 2] }));
  assert.equal(result.tokensPerBlock, [17, 15, 13, 11]);
  assert.equal(result.tokensAfterBlock, [15, 13, 11, 9]);
  result.reduction.blocks.forEach((b) => {
    assert.is(b.macs, reducedBlockMacs(b.tokensIn, b.tokensOut, 48));
    assert.ok(b.macs < blockMacs(b.tokensIn, 48) && b.macs > blockMacs(b.tokensOut, 48));
    assert.is(b.overheadMacs, Math.ceil(b.tokensIn / 2) * Math.floor(b.tokensIn / 2) * 16);
    assert.is(b.merges!.src.length, 2);
  });
  const { groupOf, size } = result.reduction;
  assert.is(groupOf[0], 0, "the class token stays first and alone");
  assert.is(size[0], 1);
  assert.is(
    size.reduce((a, b) => a + b, 0),
    17,
    "every embedding row is held by one token",
  );
  // groups follow the remaps: block by block
  let groups = Int32Array.from({ length: 17 }, (_, i) => i);
  result.reduction.blocks.forEach((b, i) => {
    groups = groups.map((g) => b.remap![g]);
    assert.equal([...groups], [...result.reduction.groupsPerBlock[i]]);
  });
  // proportional attention matters once tokens are merged
  const flat = runWithTokenReduction(vit, null, image, tome({ schedule: [2, 2, 2, 2], proportionalAttention: false }));
  assert.ok(relativeError(flat.logits, result.logits) > 1e-4);
});

test("noReduction through runWithTokenReduction = Papr.predict (same kept patches, logits, MACs)", () => {
  const { vit } = small;
  // a proposer whose 2x2 map ranks the grid's quadrants
  const proposer: Proposer = { features: () => tensor([4, 1, 2, 3, 0, 1, 1, 0], [1, 2, 2, 2]) };
  const papr = new Papr(vit, proposer).predict(image, { z: 0.5 });
  const same = runWithTokenReduction(vit, proposer, image, noReduction, { z: 0.5 });
  assert.equal([...same.kept], [...papr.kept]);
  assert.equal([...same.logits.data], [...papr.logits.data]);
  assert.equal(same.tokensPerBlock, papr.tokensPerBlock);
  assert.equal(same.macs, papr.macs);
  assert.equal(same.unprunedMacs, papr.unprunedMacs);
  const json = JSON.parse(
    JSON.stringify(
      blockRecordsJson(runWithTokenReduction(vit, null, image, tome({ schedule: [2, 0, 0, 0] })).reduction.blocks),
    ),
  );
  assert.equal(json[0].merges.src.length, 2);
  assert.is(json[1].remap, null);
});

test("reducedBlockMacs splits blockMacs into the attention and MLP halves", () => {
  assert.is(reducedBlockMacs(197, 197, 768), blockMacs(197, 768));
  assert.is(
    reducedBlockMacs(99, 91, 192) - reducedBlockMacs(99, 99, 192),
    blockMacs(91, 192) -
      2 * 91 * 91 * 192 -
      4 * 91 * 192 * 192 -
      5 * 91 * 192 -
      (blockMacs(99, 192) - 2 * 99 * 99 * 192 - 4 * 99 * 192 * 192 - 5 * 99 * 192),
  );
});

test("schedules: every block, or only the second half when PaPr prunes (configurable)", () => {
  assert.equal(tomeSchedule(4, 3), [3, 3, 3, 3]);
  assert.equal(tomeSchedule(4, 3, 1), [0, 3, 3, 3]);
  assert.equal(paprTomeSchedule(12, 8, 0.5), [0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8]);
  assert.equal(paprTomeSchedule(12, 8, 1), new Array(12).fill(8));
  assert.equal(paprTomeSchedule(12, 8, 0.5, { secondHalf: false }), new Array(12).fill(8));
  assert.equal(paprTomeSchedule(5, 1, 0.7), [0, 0, 1, 1, 1]);
  assert.throws(() => tomeSchedule(4, 1.5), /r must be an integer >= 0/);
  assert.throws(() => tome({ schedule: [1, -1] }), /schedule\[1\] = -1/);
});

test("bad input: wrong schedule length, missing proposer, missing weights, repeated rows", () => {
  const { vit, weights, config } = small;
  assert.throws(
    () => runWithTokenReduction(vit, null, image, tome({ schedule: [1, 1] })),
    /tome: schedule has 2 entries for 4 blocks/,
  );
  assert.throws(
    () => runWithTokenReduction(vit, null, image, tome({ schedule: [1, 1, 1, 1] }), { z: 0.5 }),
    /z = 0.5 prunes patches, so a proposer is needed/,
  );
  const partial = new Map(weights);
  partial.delete("blocks.2.mlp.fc1.weight");
  assert.throws(
    () => withBlockParams(createVit(config, weights), partial),
    /withBlockParams: .*missing \(1\): blocks\.2\.mlp\.fc1\.weight \[192, 48\]/s,
  );
  const tokens = vit.embed(image);
  assert.throws(
    () => runReducedBlocks(vit, tokens, embedRowsOf(1, new Int32Array(16)), tome({ schedule: [0, 0, 0, 0] })),
    /embed row 1 is out of range or repeated/,
  );
  assert.throws(
    () => runReducedBlocks(vit, tokens, embedRowsOf(1, new Int32Array(3)), tome({ schedule: [0, 0, 0, 0] })),
    /rows must give the embed row of each token/,
  );
});

test.run();
