// papr classify with a hierarchical backbone folder (a small synthetic ConvNeXt) and the default proposer:
// per-stage foreground counts, per-stage MACs, the trace (every stage's mask and significance) and the
// explain picture (one mask panel per stage).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { saveModelDir } from "../../src/cli/files.ts";
import { convnextSpec } from "../../src/models/convnext.ts";
import { swinConfig, swinSpec } from "../../src/models/swin.ts";
import { PRESETS, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { decodeImage } from "../../src/image/decode.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const IMAGE = join(ROOT, "test/fixtures/images/expected_rgb8_300x200_crop224.png");
const dir = mkdtempSync(join(tmpdir(), "papr-hier-"));
const config = { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32], numClasses: 10 };
const file: ModelFile = {
  format: "papr-ts/1",
  arch: "convnext_tiny",
  family: "convnext",
  model: config,
  preprocess: { ...PRESETS.convnext_tiny.preprocess, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};
saveModelDir(join(dir, "convnext"), file, syntheticWeights(convnextSpec(config)));
// a small Swin (width 8, one block per stage but the shifted pair in stage 0)
const swin = swinConfig("swin_tiny_patch4_window7_224", {
  embedDim: 8,
  depths: [2, 1, 1, 1],
  numHeads: [1, 1, 2, 2],
  numClasses: 10,
});
saveModelDir(
  join(dir, "swin"),
  { ...file, arch: "swin_tiny_patch4_window7_224", family: "swin", model: { ...swin } },
  syntheticWeights(swinSpec(swin)),
);

function classify(...args: string[]) {
  return classifyWith("convnext", ...args);
}
function classifyWith(backbone: string, ...args: string[]) {
  return spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "classify", IMAGE, "--weights", join(dir, backbone), ...args],
    { encoding: "utf8" },
  );
}

test("classify with a ConvNeXt folder: per-stage counts and MACs, trace with every stage's mask, explain picture", () => {
  const trace = join(dir, "trace.json");
  const explain = join(dir, "explain.png");
  const r = classify("--trace", trace, "--explain", explain);
  assert.is(r.status, 0, r.stderr);
  // default z = 0.65 (PAPR-SPEC.md section 5): floor(0.65 * H * W) per stage
  assert.match(r.stdout, "z = 0.65: foreground positions per stage 2038/3136 509/784 127/196 31/49");
  assert.match(
    r.stdout,
    /MACs: [\d.]+ G \(proposer [\d.]+ \+ stem [\d.]+ \+ stages [\d.]+ [\d.]+ [\d.]+ [\d.]+ \+ head/,
  );
  const json = JSON.parse(readFileSync(trace, "utf8"));
  assert.equal(
    json.stages.map((s: { grid: number[] }) => s.grid),
    [
      [56, 56],
      [28, 28],
      [14, 14],
      [7, 7],
    ],
  );
  assert.is(json.stages[3].mask.join("").split("1").length - 1, 31);
  const tensors = readSafetensors(readFileSync(trace.replace(/\.json$/, ".safetensors"))).tensors;
  for (let i = 0; i < 4; i++) {
    assert.ok(tensors.has(`stage${i}_mask`) && tensors.has(`stage${i}_significance`), `stage ${i} in the trace`);
    assert.is(tensors.get(`stage${i}_kept`)!.size, json.stages[i].foreground);
  }
  const picture = decodeImage(readFileSync(explain), explain);
  assert.equal([picture.width, picture.height], [6 * 224 + 5 * 8, 224]); // input, heat, 4 stage masks
  const all = classify("--z", "1");
  assert.is(all.status, 0, all.stderr);
  assert.match(all.stdout, "z = 1: foreground positions per stage 3136/3136 784/784 196/196 49/49");
  assert.match(classify("--tome", "4").stderr, /--tome and --attention-keep need a ViT backbone/);
});

test("classify with a Swin folder: the same per-stage masks, MACs from swinMacs, one mask panel per stage", () => {
  const explain = join(dir, "explain-swin.png");
  const r = classifyWith("swin", "--explain", explain);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, "z = 0.65: foreground positions per stage 2038/3136 509/784 127/196 31/49");
  const macs = /MACs: ([\d.]+) G .* vs ([\d.]+) G unmasked/.exec(r.stdout);
  assert.ok(macs && Number(macs[1]) > 0 && Number(macs[2]) > 0, r.stdout);
  const picture = decodeImage(readFileSync(explain), explain);
  assert.equal([picture.width, picture.height], [6 * 224 + 5 * 8, 224]);
  const all = classifyWith("swin", "--z", "1");
  assert.is(all.status, 0, all.stderr);
  assert.match(all.stdout, "z = 1: foreground positions per stage 3136/3136 784/784 196/196 49/49");
});

test.run();
