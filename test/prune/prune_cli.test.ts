// papr prune on a small synthetic Swin folder: the pruned folder has the same tensors (pruned ones zeroed, the
// count in config.json's `pruning`), classifies through `papr classify` (which prints its MACs), and bad
// input is refused with an error naming the problem.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { saveModelDir } from "../../src/cli/files.ts";
import { prune } from "../../src/cli/prune.ts";
import { PRESETS, type ModelFile } from "../../src/models/registry.ts";
import { swinConfig, swinSpec } from "../../src/models/swin.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import type { PruningReport } from "../../src/prune/prune_model.ts";
import { readSafetensors } from "../../src/tensor/safetensors.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const IMAGE = join(ROOT, "test/fixtures/images/expected_rgb8_300x200_crop224.png");
const dir = mkdtempSync(join(tmpdir(), "papr-prune-"));
const swin = swinConfig("swin_tiny_patch4_window7_224", {
  embedDim: 8,
  depths: [2, 1, 1, 1],
  numHeads: [1, 1, 2, 2],
  numClasses: 10,
});
const file: ModelFile = {
  format: "papr-ts/1",
  arch: "swin_tiny_patch4_window7_224",
  family: "swin",
  model: { ...swin },
  preprocess: { ...PRESETS.convnext_tiny.preprocess, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};
const dense = syntheticWeights(swinSpec(swin));
saveModelDir(join(dir, "swin"), file, dense);

const quiet = (run: () => void) => {
  const log = console.log;
  console.log = () => {};
  try {
    run();
  } finally {
    console.log = log;
  }
};

test("prune writes a folder of the same tensors with the pruned weights zeroed and the report", () => {
  const out = join(dir, "pruned");
  quiet(() => prune([join(dir, "swin"), "--method", "dimap", "--flops", "0.4", "--out", out]));
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as ModelFile & { pruning: PruningReport };
  assert.equal(config.model, file.model);
  const r = config.pruning;
  assert.is(r.method, "dimap");
  assert.ok(r.flopsRemoved >= 0.4 && r.flopsRemoved < 0.41, `removed ${r.flopsRemoved}`);
  const weights = readSafetensors(readFileSync(join(out, "model.safetensors")), "pruned").tensors;
  assert.equal([...weights.keys()].sort(), [...dense.keys()].sort());
  for (const layer of r.layers) {
    const before = dense.get(layer.name)!.data;
    const after = weights.get(layer.name)!.data;
    let zeroed = 0;
    for (let i = 0; i < after.length; i++) {
      if (after[i] === 0 && before[i] !== 0) zeroed++;
      else assert.is(after[i], before[i]);
    }
    assert.is(zeroed, layer.numel - layer.kept, layer.name);
  }
  assert.is(
    weights.get("layers.0.blocks.0.norm1.weight")!.data.join(),
    dense.get("layers.0.blocks.0.norm1.weight")!.data.join(),
  );
});

test("papr classify runs the pruned folder and prints its dense and nonzero MACs", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "classify", IMAGE, "--weights", join(dir, "pruned")],
    { encoding: "utf8" },
  );
  assert.is(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /pruned \(dimap, FLOPs target 0\.4\): nonzero MACs [\d.]+ G of [\d.]+ G dense \(40\.\d% removed/,
  );
  assert.match(r.stdout, /weights kept per module: aux [\d.]+%, qkv [\d.]+%, proj [\d.]+%, mlp [\d.]+%/);
  assert.match(r.stdout, / 1\. \S+/);
});

test("bad input: --flops, --method, missing folder, a pruned or unsupported folder, a target beyond the prunable MACs", () => {
  const run =
    (...args: string[]) =>
    () =>
      quiet(() => prune(args));
  const src = join(dir, "swin");
  const out = join(dir, "x");
  assert.throws(run(src, "--flops", "1.5", "--out", out), /--flops 1\.5: must lie in \[0, 1\)/);
  assert.throws(run(src, "--flops", "half", "--out", out), /--flops: 'half' is not a number/);
  assert.throws(run(src, "--out", out), /--flops F .* is required/);
  assert.throws(
    run(src, "--flops", "0.5", "--method", "random", "--out", out),
    /--method: 'random' is not one of dimap, global-magnitude, layer-magnitude/,
  );
  assert.throws(
    run(join(dir, "nothing"), "--flops", "0.5", "--out", out),
    /model directory '.*nothing' does not exist/,
  );
  assert.throws(run(join(dir, "pruned"), "--flops", "0.5", "--out", out), /is already pruned/);
  assert.throws(
    run(join(ROOT, "weights/mobilenetv3-scenes"), "--flops", "0.5", "--out", out),
    /is a mobilenetv3; pruning supports swin, convnext and vit/,
  );
  assert.throws(
    run(src, "--flops", "0.95", "--out", out),
    /cannot remove 0\.95 of the FLOPs: only 0\.\d+ of the \d+ MACs are in prunable weights/,
  );
  assert.throws(run(src, "--flops", "0.5", "--out", join(dir, "pruned")), /folder exists and is not empty/);
});

test.run();
