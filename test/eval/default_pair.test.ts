// The embedded default ViT (weights/vit-scenes) in this engine vs. the PyTorch module it was trained as:
// logits on held-out scenes 0..7 (fixture from tools/golden/gen_default_pair.py) within 1e-4 of the logits'
// scale, the whole-model tolerance of the other model goldens. The fixture records the weights' SHA-256:
// after retraining, `npm run goldens -- default_pair` must be rerun, and this test says so.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeScene } from "../../src/data/scenes.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { concat } from "../../src/tensor/shape.ts";
import { fixture, relativeError } from "../golden.ts";

test("default ViT: logits on 8 held-out scenes match PyTorch (1e-4)", () => {
  const golden = fixture("default_vit_logits");
  const digest = createHash("sha256").update(readFileSync("weights/vit-scenes/model.safetensors")).digest("hex");
  assert.is(
    digest,
    golden.metadata?.weights_sha256,
    "fixture made from other weights: run `npm run goldens -- default_pair`",
  );
  const backbone = loadModelDir("weights/vit-scenes", "backbone");
  if (backbone.family !== "vit") throw new Error("weights/vit-scenes: expected a ViT");
  const items = loadFashionItems();
  const expected = golden.get("logits");
  const logits = concat(
    Array.from({ length: expected.shape[0] }, (_, s) => {
      const scene = makeScene(items, "test", s);
      assert.is(scene.label, golden.get("labels").data[s], `scene ${s}: label`);
      return backbone.vit.forward(preprocess(scene.image, backbone.file.preprocess)).reshape([1, expected.shape[1]]);
    }),
    0,
  );
  const e = relativeError(logits, expected);
  console.log(`  default ViT logits vs PyTorch: relative error ${e.toExponential(2)}`);
  assert.ok(e <= 1e-4, `relative error ${e} > 1e-4`);
});

test.run();
