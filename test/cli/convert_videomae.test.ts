// `papr convert --arch videomae_small` on the golden's weights (test/fixtures/video_vit_small, the small VideoMAE
// of tools/golden/gen_video_vit.py: D = 48, 2 blocks, 3 heads) saved under the original release's names and under
// Hugging Face's: both folders must hold the same canonical weights, and the model built from them must give the
// logits PyTorch computed (1e-4: whole model). The checkpoints are written here from the seeded weights.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert } from "../../src/cli/convert.ts";
import { loadModelDir } from "../../src/cli/files.ts";
import { buildVideoModel, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { readSafetensors, writeSafetensors } from "../../src/tensor/safetensors.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { assertClose, fixture } from "../golden.ts";
import { goldenSpec } from "../models/model_golden.ts";
import { toHfNames } from "../models/videomae_names.ts";
import { assertSameWeights } from "./convert_fixture.ts";

const OUT = mkdtempSync(join(tmpdir(), "papr-convert-videomae-"));
const golden = fixture("video_vit_small");

function convertQuietly(args: string[]): void {
  const log = console.log;
  console.log = () => {};
  try {
    convert(args);
  } finally {
    console.log = log;
  }
}

test("original-named and HF-named VideoMAE checkpoints convert to the same weights and PyTorch's logits", () => {
  const original = syntheticWeights(new Map(goldenSpec(golden)));
  const checkpoints = {
    original: new Map([...original].map(([name, t]) => [`module.${name}`, t])), // a DataParallel-style wrapper
    hf: toHfNames(original, 48),
  };
  const dirs = Object.entries(checkpoints).map(([name, weights]) => {
    const path = join(OUT, `${name}.safetensors`);
    writeFileSync(path, writeSafetensors(weights));
    const dir = join(OUT, name);
    convertQuietly([path, "--arch", "videomae_small", "--heads", "3", "--out", dir]);
    return dir;
  });
  assertSameWeights(dirs);
  const file = JSON.parse(readFileSync(join(dirs[1], "config.json"), "utf8")) as ModelFile;
  assert.is(file.family, "videomae");
  assert.equal(
    [file.model.embedDim, file.model.depth, file.model.numHeads, file.model.numClasses, file.model.tubeletSize],
    [48, 2, 3, 400, 2],
  );
  const weights = readSafetensors(readFileSync(join(dirs[1], "model.safetensors"))).tensors;
  const vit = buildVideoModel(file, weights);
  const logits = vit.forward(syntheticTensor("video_vit.input", [1, 3, 16, 224, 224], 1));
  assertClose(logits, golden.get("logits"), 1e-4, "logits after converting the HF checkpoint");
  // image commands refuse the folder with a message that says why
  assert.throws(() => loadModelDir(dirs[0]), /videomae_small is a video classifier \(clips, not images\)/);
});

test("a checkpoint of another architecture is refused with the names that do not fit", () => {
  const path = join(OUT, "wrong.safetensors");
  const weights = syntheticWeights(new Map(goldenSpec(golden)));
  weights.delete("blocks.0.attn.v_bias");
  writeFileSync(path, writeSafetensors(weights));
  assert.throws(
    () => convertQuietly([path, "--arch", "videomae_base", "--out", join(OUT, "wrong")]),
    /blocks\.0\.attn\.qkv: v_bias missing beside blocks\.0\.attn\.q_bias/,
  );
});

test.run();
