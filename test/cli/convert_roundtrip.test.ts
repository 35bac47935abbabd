// `papr convert` on one ViT saved under three naming schemes (tools/golden/gen_convert.py):
// torchvision-named .pth, timm-named safetensors, Hugging Face-named safetensors. All three must
// give the same canonical weights and the logits torchvision computed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "../../src/cli/files.ts";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { assertClose, fixture } from "../golden.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(ROOT, "test/fixtures/convert");
const dir = mkdtempSync(join(tmpdir(), "papr-convert-"));

function convert(file: string, naming: string) {
  const out = join(dir, naming);
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "convert",
      join(FIXTURES, file),
      "--arch",
      "deit_tiny_patch16_224",
      "--heads",
      "2",
      "--out",
      out,
    ],
    { encoding: "utf8" },
  );
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /converted .* as deit_tiny_patch16_224: 32 tensors/);
  return out;
}

test("torchvision .pth, timm and HF safetensors convert to the same weights and torchvision's logits", () => {
  const expected = fixture("convert").get("logits");
  const x = syntheticTensor("convert.input", [1, 3, 224, 224], 1);
  const dirs = [
    convert("vit_torchvision.pth", "torchvision"),
    convert("vit_timm.safetensors", "timm"),
    convert("vit_hf.safetensors", "hf"),
  ];
  const canonical = dirs.map((d) => readSafetensors(readFileSync(join(d, "model.safetensors"))).tensors);
  for (const weights of canonical.slice(1)) {
    assert.equal([...weights.keys()].sort(), [...canonical[0].keys()].sort());
    for (const [name, t] of weights) assert.equal([...t.data], [...canonical[0].get(name)!.data], name);
  }
  for (const d of dirs) {
    const model = loadModelDir(d);
    assert.is(model.family, "vit");
    if (model.family !== "vit") return;
    assert.is(model.vit.config.embedDim, 16);
    assert.is(model.vit.config.depth, 2);
    assertClose(model.vit.forward(x), expected, 1e-4, `logits after converting ${d}`);
  }
});

test("convert with the wrong head count gives the same names but is caught by the logits, not silently accepted as equal", () => {
  const out = join(dir, "wrong-heads");
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "convert",
      join(FIXTURES, "vit_timm.safetensors"),
      "--arch",
      "deit_tiny_patch16_224",
      "--heads",
      "4",
      "--out",
      out,
    ],
    { encoding: "utf8" },
  );
  assert.is(r.status, 0, r.stderr);
  const model = loadModelDir(out);
  if (model.family !== "vit") throw new Error("not a vit");
  const x = syntheticTensor("convert.input", [1, 3, 224, 224], 1);
  assert.throws(() => assertClose(model.vit.forward(x), fixture("convert").get("logits"), 1e-4));
});

test.run();
