// `papr convert` on one ViT saved under three naming schemes (tools/golden/gen_convert.py):
// torchvision-named .pth, timm-named safetensors, Hugging Face-named safetensors. All three must
// give the same canonical weights and the logits torchvision computed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameWeights, convertFixture } from "./convert_fixture.ts";

const convert = (file: string, naming: string) =>
  convertFixture(file, "deit_tiny_patch16_224", naming, 32, ["--heads", "2"]);

test("torchvision .pth, timm and HF safetensors convert to the same weights and torchvision's logits", () => {
  const expected = fixture("convert").get("logits");
  const x = syntheticTensor("convert.input", [1, 3, 224, 224], 1);
  const dirs = [
    convert("vit_torchvision.pth", "torchvision"),
    convert("vit_timm.safetensors", "timm"),
    convert("vit_hf.safetensors", "hf"),
  ];
  assertSameWeights(dirs);
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
  const out = convertFixture("vit_timm.safetensors", "deit_tiny_patch16_224", "wrong-heads", 32, ["--heads", "4"]);
  const model = loadModelDir(out);
  if (model.family !== "vit") throw new Error("not a vit");
  const x = syntheticTensor("convert.input", [1, 3, 224, 224], 1);
  assert.throws(() => assertClose(model.vit.forward(x), fixture("convert").get("logits"), 1e-4));
});

test.run();
