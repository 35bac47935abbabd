// The evaluation pieces (src/eval/scene_eval.ts) and the batched ViT forward it relies on
// (src/eval/batched_blocks.ts: blocksBatch, segmentedAttention).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeScene } from "../../src/data/scenes.ts";
import { blocksBatch, segmentedAttention } from "../../src/eval/batched_blocks.ts";
import {
  accuracyAt,
  boxOverlap,
  centreOrder,
  evaluateScene,
  paretoFront,
  randomOrder,
  type EvalSetting,
} from "../../src/eval/scene_eval.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../../src/models/default_weights_node.ts";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { Papr } from "../../src/papr/papr.ts";
import { multiHeadSelfAttention } from "../../src/tensor/attention.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { concat, gatherRows } from "../../src/tensor/shape.ts";
import { ShapeError, Tensor } from "../../src/tensor/tensor.ts";
import { relativeError } from "../golden.ts";

const SMALL = vitConfig("deit_tiny_patch16_224", {
  imageSize: 64,
  embedDim: 48,
  depth: 2,
  numHeads: 3,
  numClasses: 10,
});

test("blocksBatch equals blocks() on each token set (linears over stacked rows, attention per set)", () => {
  const vit = createVit(SMALL, syntheticWeights(vitSpec(SMALL), 3));
  const tokens = vit.embed(new Tensor(syntheticTensor("x", [1, 3, 64, 64], 1).data, [1, 3, 64, 64]));
  const sets = [[0, 1, 2, 3, 4], [0, 7, 3], [0, 16, 15, 14, 13, 12, 11, 10, 9], [0]].map((rows) =>
    gatherRows(tokens, rows),
  );
  const batched = blocksBatch(vit, sets);
  assert.is(batched.length, sets.length);
  sets.forEach((set, i) => {
    assert.equal(batched[i].shape, set.shape);
    const e = relativeError(batched[i], vit.blocks(set));
    assert.ok(e < 1e-6, `set ${i}: relative error ${e}`);
  });
});

test("segmentedAttention keeps attention inside each set; bad segments name the problem", () => {
  const D = 12;
  const params = {
    qkvWeight: syntheticTensor("qkv.w", [3 * D, D], 0.3),
    qkvBias: syntheticTensor("qkv.b", [3 * D], 0.1),
    projWeight: syntheticTensor("proj.w", [D, D], 0.3),
    projBias: null,
    numHeads: 2,
  };
  const a = syntheticTensor("a", [5, D], 1),
    b = syntheticTensor("b", [3, D], 1);
  const joint = segmentedAttention(concat([a, b], 0), params, [5, 3]);
  const apart = concat([multiHeadSelfAttention(a, params), multiHeadSelfAttention(b, params)], 0);
  assert.ok(relativeError(joint, apart) < 1e-6);
  const mixed = multiHeadSelfAttention(concat([a, b], 0), params); // one set: every token sees all 8
  assert.ok(relativeError(mixed, apart) > 1e-3, "one segment must differ from two");
  assert.throws(
    () => segmentedAttention(concat([a, b], 0), params, [5, 2]),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("segments [5, 2] must be positive token counts summing to N = 8"),
  );
});

test("patch orders: centre first, box overlap areas, random orders are seeded permutations", () => {
  const centre = centreOrder(4);
  assert.equal(
    [...centre.slice(0, 4)].sort((x, y) => x - y),
    [5, 6, 9, 10],
  );
  assert.equal(
    [...centre].sort((x, y) => x - y),
    Array.from({ length: 16 }, (_, i) => i),
  );
  const overlap = boxOverlap([8, 0, 24, 16], 4, 64); // 16-px patches: half of patches 0 and 1 columns
  assert.equal([...overlap.slice(0, 4)], [128, 128, 0, 0]);
  assert.is(
    overlap.reduce((s, v) => s + v, 0),
    16 * 16,
  );
  const r = randomOrder(196, 1, 7);
  assert.equal(
    [...r].sort((x, y) => x - y),
    Array.from({ length: 196 }, (_, i) => i),
  );
  assert.equal(r, randomOrder(196, 1, 7));
  assert.not.equal(r, randomOrder(196, 2, 7));
});

test("paretoFront keeps the undominated points; accuracyAt interpolates inside a curve only", () => {
  const pts = [
    { macs: 1, accuracy: 50 },
    { macs: 2, accuracy: 40 },
    { macs: 3, accuracy: 70 },
    { macs: 3, accuracy: 60 },
    { macs: 0.5, accuracy: 10 },
  ];
  assert.equal(paretoFront(pts), [
    { macs: 0.5, accuracy: 10 },
    { macs: 1, accuracy: 50 },
    { macs: 3, accuracy: 70 },
  ]);
  const curve = [
    { macs: 3, accuracy: 70 },
    { macs: 1, accuracy: 50 },
  ];
  assert.is(accuracyAt(curve, 2), 60);
  assert.is(accuracyAt(curve, 1), 50);
  assert.is(accuracyAt(curve, 0.9), null);
  assert.is(accuracyAt(curve, 3.1), null);
});

test("evaluateScene on the default pair: PaPr and unpruned predictions equal Papr.predict's; costs are ordered", () => {
  const backbone = loadModelDir(DEFAULT_BACKBONE_DIR, "backbone");
  const proposer = loadModelDir(DEFAULT_PROPOSER_DIR, "proposer");
  if (backbone.family !== "vit" || proposer.family === "vit") throw new Error("weights/: expected a ViT and a ConvNet");
  const models = { vit: backbone.vit, proposer: proposer.convnet, preprocess: backbone.file.preprocess };
  const scene = makeScene(loadFashionItems(), "test", 3);
  const settings: EvalSetting[] = [
    { method: "papr", z: 1 },
    { method: "papr", z: 0.5 },
    { method: "random", z: 0.5, seed: 1 },
    { method: "oracle", z: 0.5 },
    { method: "attention", z: 0.5 },
    { method: "tome", r: 16 },
    { method: "papr+tome", z: 0.5, r: 8 },
  ];
  const result = evaluateScene(models, scene, 3, settings, [1, 0.5]);
  const papr = new Papr(backbone.vit, proposer.convnet);
  const x = preprocess(scene.image, backbone.file.preprocess);
  for (const [i, z] of [
    [0, 1],
    [1, 0.5],
  ]) {
    const out = papr.predict(x, { z });
    const predicted = out.logits.data.indexOf(Math.max(...out.logits.data));
    assert.is(result.correct[i], predicted === scene.label, `z = ${z}`);
    assert.ok(
      Math.abs(result.macs[i] - out.macs.total) <= 1e-6 * out.macs.total,
      `z = ${z}: ${result.macs[i]} vs ${out.macs.total}`,
    );
  }
  assert.equal(result.paprRecall[0], 1);
  assert.ok(result.paprRecall[1] > 0 && result.paprRecall[1] <= 1);
  assert.ok(result.macs[2] < result.macs[1], "random at 0.5 costs PaPr's minus the proposer");
  assert.ok(result.macs[5] < result.macs[0] && result.macs[6] < result.macs[1]);
});

test.run();
