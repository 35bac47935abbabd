// Adaptive sparse token pruning (src/papr/adaptive_pruning.ts) against the PyTorch implementation the
// thresholds are trained with (tools/train/adaptive.py; fixtures from tools/golden/gen_adaptive.py):
// the kept tokens after every stage must be exactly the same embedding rows in the same order, the stage
// scores within 1e-5 (float32 kernels) and the logits within 1e-4 (whole models, ARCHITECTURE.md).
// The generator refuses a case where a score lies within 2e-5 of the mean score from its threshold, or
// where a float64 rerun keeps other tokens, so float rounding cannot decide a kept set here.
//   adaptive_synthetic  default-ViT-shaped network with seeded synthetic weights, hand-set thresholds,
//                       alone and after a PaPr-style subset of 98 patches
//   adaptive_scenes     the default ViT with the trained thresholds (every budget) on held-out scenes 0, 1
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeScene } from "../../src/data/scenes.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { createVit, vitConfig, vitSpec, type Vit } from "../../src/models/vit.ts";
import { adaptivePruning, parseAdaptiveThresholds } from "../../src/papr/adaptive_pruning.ts";
import { attentionPruning } from "../../src/papr/attention_pruning.ts";
import { pruneTokens } from "../../src/papr/prune.ts";
import { embedRowsOf, runReducedBlocks, type ReductionRun } from "../../src/papr/token_reduction.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const MODEL_TOL = 1e-4;
const KERNEL_TOL = 1e-5;

type Golden = ReturnType<typeof fixture>;

/** Embedding rows of the tokens after block b, in token order (inverse of groupOf). */
function rowsAfter(run: ReductionRun, block: number): number[] {
  const groups = run.groupsPerBlock[block];
  const rows: number[] = [];
  groups.forEach((token, row) => {
    if (token >= 0) rows[token] = row;
  });
  return rows;
}

function checkCase(golden: Golden, name: string, vit: Vit, tokens: Tensor, rows: Int32Array): ReductionRun {
  const blocks = golden.metadata.blocks.split(",").map(Number);
  const thresholds = golden.metadata[`thresholds_${name}`].split(",").map(Number);
  const run = runReducedBlocks(vit, tokens, rows, adaptivePruning(blocks, thresholds));
  assert.equal(
    run.blocks.map((b) => b.tokensOut),
    [...golden.get(`tokens_${name}`).data],
    `${name}: tokens leaving each block`,
  );
  blocks.forEach((block, k) => {
    assert.equal(rowsAfter(run, block), [...golden.get(`rows_${name}_${k}`).data], `${name}: kept rows, stage ${k}`);
    const scores = run.blocks[block].pruned!.scores;
    assertClose(
      new Tensor(scores, [scores.length]),
      golden.get(`scores_${name}_${k}`),
      KERNEL_TOL,
      `${name}: scores, stage ${k}`,
    );
  });
  const logits = vit.head(run.tokens);
  assertClose(logits, golden.get(`logits_${name}`), MODEL_TOL, `${name}: logits`);
  console.log(
    `  ${name}: tokens ${run.blocks.map((b) => b.tokensOut).join(" ")}, logits error ${relativeError(logits, golden.get(`logits_${name}`)).toExponential(2)}`,
  );
  return run;
}

function syntheticVit(): Vit {
  const config = vitConfig("deit_tiny_patch16_224", { embedDim: 96, depth: 6, numHeads: 3, numClasses: 10 });
  return createVit(config, syntheticWeights(vitSpec(config)));
}

test("synthetic weights, hand-set thresholds: kept tokens exact, logits 1e-4 (alone and after PaPr)", () => {
  const golden = fixture("adaptive_synthetic");
  const vit = syntheticVit();
  const embedded = vit.embed(syntheticTensor("adaptive.input", [1, 3, 224, 224], 1));
  const all = Int32Array.from({ length: 196 }, (_, i) => i);
  checkCase(golden, "alone", vit, embedded, embedRowsOf(1, all));
  const kept = Int32Array.from(golden.get("kept").data);
  checkCase(golden, "papr", vit, pruneTokens(embedded, 1, kept), embedRowsOf(1, kept));
});

test("the golden can fail: uniform head weighting or a 2% higher threshold keeps other tokens", () => {
  const golden = fixture("adaptive_synthetic");
  const vit = syntheticVit();
  const embedded = vit.embed(syntheticTensor("adaptive.input", [1, 3, 224, 224], 1));
  const rows = embedRowsOf(
    1,
    Int32Array.from({ length: 196 }, (_, i) => i),
  );
  const blocks = golden.metadata.blocks.split(",").map(Number);
  const thresholds = golden.metadata.thresholds_alone.split(",").map(Number);
  const expected = [...golden.get("tokens_alone").data];
  const uniform = runReducedBlocks(
    vit,
    embedded,
    rows,
    attentionPruning({
      stages: blocks.map((block, i) => ({ block, threshold: thresholds[i] })),
      headWeighting: "uniform",
    }),
  );
  assert.not.equal(rowsAfter(uniform, blocks[0]), [...golden.get("rows_alone_0").data]);
  const higher = runReducedBlocks(
    vit,
    embedded,
    rows,
    adaptivePruning(
      blocks,
      thresholds.map((t) => t * 1.02),
    ),
  );
  assert.not.equal(
    higher.blocks.map((b) => b.tokensOut),
    expected,
  );
});

test("default ViT, trained thresholds, held-out scenes: kept tokens exact, logits 1e-4", () => {
  const golden = fixture("adaptive_scenes");
  const dir = "weights/vit-scenes";
  const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  assert.is(sha(`${dir}/model.safetensors`), golden.metadata.weights_sha256, "rerun `npm run goldens -- adaptive`");
  assert.is(
    sha(`${dir}/adaptive-thresholds.json`),
    golden.metadata.thresholds_sha256,
    "thresholds retrained: rerun `npm run goldens -- adaptive`",
  );
  const file = parseAdaptiveThresholds(readFileSync(`${dir}/adaptive-thresholds.json`, "utf8"), "thresholds");
  assert.equal(file.blocks.join(","), golden.metadata.blocks);
  const backbone = loadModelDir(dir, "backbone");
  if (backbone.family !== "vit") throw new Error(`${dir}: expected a ViT`);
  const vit = backbone.vit;
  const items = loadFashionItems();
  const counts = new Set<string>();
  for (const name of golden.metadata.cases.split(",")) {
    const [, budget, scene] = /^b([0-9.]+)_s([0-9]+)$/.exec(name)!;
    const thresholds = file.budgets.find((b) => b.budget === Number(budget))!.thresholds;
    assert.equal(
      thresholds.map(String).join(","),
      golden.metadata[`thresholds_${name}`]
        .split(",")
        .map((t) => String(Number(t)))
        .join(","),
    );
    const x = preprocess(makeScene(items, "test", Number(scene)).image, backbone.file.preprocess);
    const run = checkCase(
      golden,
      name,
      vit,
      vit.embed(x),
      embedRowsOf(
        1,
        Int32Array.from({ length: 196 }, (_, i) => i),
      ),
    );
    counts.add(run.blocks.map((b) => b.tokensOut).join(" "));
  }
  // adaptive: the token counts differ between scenes and budgets (a setting would make them equal)
  assert.ok(counts.size > 1, "every case kept the same number of tokens");
});

test.run();
