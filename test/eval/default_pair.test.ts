// The embedded models in this engine vs. the PyTorch modules they were trained as, on held-out scenes 0..7
// (fixtures from tools/golden/gen_default_pair.py):
//   - the default pair (a DeiT-style ViT with a distillation token + its MobileNetV3 proposer): the unpruned
//     logits, and PaPr at z = 0.5 / 0.3 keeping both prefix tokens: the kept patch indices exactly (in ranking
//     order) and the pruned logits;
//   - the earlier default ViT (weights/vit-scenes): the unpruned logits.
// Logits within 1e-4 of their scale, the whole-model tolerance of the other model goldens (float32 sums in a
// different order over 6 blocks). The fixtures record the weights' SHA-256: after retraining,
// `npm run goldens -- gen_default_pair` must be rerun, and these tests say so.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeScene } from "../../src/data/scenes.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../../src/models/default_weights_node.ts";
import { Papr } from "../../src/papr/papr.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { concat } from "../../src/tensor/shape.ts";
import { fixture, relativeError } from "../golden.ts";

const sha256 = (dir: string) =>
  createHash("sha256")
    .update(readFileSync(join(dir, "model.safetensors")))
    .digest("hex");
const STALE = "fixture made from other weights: run `npm run goldens -- gen_default_pair`";

function loadPair(backboneDir: string) {
  const backbone = loadModelDir(backboneDir, "backbone");
  const proposer = loadModelDir(DEFAULT_PROPOSER_DIR, "proposer");
  if (backbone.family !== "vit" || proposer.family === "vit") throw new Error("expected a ViT and a ConvNet");
  return { vit: backbone.vit, proposer: proposer.convnet, pre: backbone.file.preprocess };
}

/** Scene s's input, its label checked against the fixture's. */
function sceneInput(s: number, labels: Tensor, pre: ReturnType<typeof loadPair>["pre"]) {
  const scene = makeScene(loadFashionItems(), "test", s);
  assert.is(scene.label, labels.data[s], `scene ${s}: label`);
  return preprocess(scene.image, pre);
}

function checkLogits(what: string, rows: Tensor[], expected: Tensor): void {
  const e = relativeError(concat(rows, 0), expected);
  console.log(`  ${what} vs PyTorch: relative error ${e.toExponential(2)}`);
  assert.ok(e <= 1e-4, `${what}: relative error ${e} > 1e-4`);
}

test("default pair: unpruned and PaPr (z = 0.5, 0.3; both prefix tokens kept) match PyTorch on 8 held-out scenes", () => {
  const golden = fixture("default_pair");
  assert.is(sha256(DEFAULT_BACKBONE_DIR), golden.metadata?.backbone_sha256, STALE);
  assert.is(sha256(DEFAULT_PROPOSER_DIR), golden.metadata?.proposer_sha256, STALE);
  const { vit, proposer, pre } = loadPair(DEFAULT_BACKBONE_DIR);
  assert.is(vit.config.numPrefixTokens, 2, "the default backbone has a class and a distillation token");
  const labels = golden.get("labels");
  const inputs = Array.from({ length: labels.size }, (_, s) => sceneInput(s, labels, pre));
  const classes = golden.get("logits").shape[1];
  checkLogits(
    "default backbone, unpruned",
    inputs.map((x) => vit.forward(x).reshape([1, classes])),
    golden.get("logits"),
  );
  const papr = new Papr(vit, proposer);
  for (const z of JSON.parse(golden.metadata!.zs) as number[]) {
    const expectedKept = golden.get(`kept_z${z}`); // [scenes, k]
    const rows = inputs.map((x, s) => {
      const result = papr.predict(x, { z });
      const k = expectedKept.shape[1];
      assert.is(result.keptCount, k, `z=${z} scene ${s}: kept count`);
      assert.equal(
        Array.from(result.kept),
        Array.from(expectedKept.data.subarray(s * k, (s + 1) * k)),
        `z=${z} scene ${s}: kept patches (ranking order)`,
      );
      return result.logits.reshape([1, classes]);
    });
    checkLogits(`PaPr z=${z}`, rows, golden.get(`logits_z${z}`));
  }
});

test("earlier default ViT (weights/vit-scenes): logits on 8 held-out scenes match PyTorch (1e-4)", () => {
  const golden = fixture("default_vit_logits");
  assert.is(sha256("weights/vit-scenes"), golden.metadata?.weights_sha256, STALE);
  const { vit, pre } = loadPair("weights/vit-scenes");
  const labels = golden.get("labels");
  const classes = golden.get("logits").shape[1];
  checkLogits(
    "weights/vit-scenes",
    Array.from({ length: labels.size }, (_, s) => vit.forward(sceneInput(s, labels, pre)).reshape([1, classes])),
    golden.get("logits"),
  );
});

test.run();
