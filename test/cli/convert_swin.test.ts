// `papr convert` on one small Swin saved under three naming schemes (tools/golden/gen_swin.py): torchvision's
// .pth, timm >= 0.9's and timm < 0.9's safetensors (patch merging at the end of the stage before, head.*, derived
// buffers). All three must give the same canonical weights and the logits torchvision computed (1e-4: whole model).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "../../src/cli/files.ts";
import { canonicalSwinWeights } from "../../src/models/load/names_swin.ts";
import { relativePositionIndex } from "../../src/models/swin.ts";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameWeights, convertFixture } from "./convert_fixture.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(ROOT, "test/fixtures/convert");
const ARCH = "swin_tiny_patch4_window7_224";
const convert = (file: string, name: string) => convertFixture(file, ARCH, `swin-${name}`, 108);

test("torchvision .pth, timm and old-timm safetensors convert to the same weights and torchvision's logits", () => {
  const expected = fixture("convert_swin").get("logits");
  const x = syntheticTensor("convert.input", [1, 3, 224, 224], 1);
  const dirs = [
    convert("swin_torchvision.pth", "torchvision"),
    convert("swin_timm.safetensors", "timm"),
    convert("swin_timm_old.safetensors", "timm-old"),
  ];
  assertSameWeights(dirs);
  for (const d of dirs) {
    const model = loadModelDir(d);
    assert.is(model.family, "swin");
    if (model.family !== "swin") return;
    assert.equal(model.hierarchical.config.depths, [2, 2, 2, 1]);
    assert.equal(model.hierarchical.config.numHeads, [1, 1, 2, 2]);
    assert.is(model.hierarchical.config.embedDim, 4);
    assertClose(model.convnet.forward(x).reshape([10]), expected, 1e-4, `logits after converting ${d}`);
  }
});

test("a relative_position_index other than the computed one is refused; unknown names are listed", () => {
  const weights = readSafetensors(readFileSync(join(FIXTURES, "swin_timm_old.safetensors"))).tensors;
  const name = "layers.0.blocks.0.attn.relative_position_index";
  const index = Float32Array.from(relativePositionIndex(7));
  assert.equal([...weights.get(name)!.data], [...index], "the fixture carries the index torchvision computed");
  index[3] = 0;
  const bad = new Map(weights).set(name, new Tensor(index, [2401]));
  assert.throws(() => canonicalSwinWeights(bad, "timm"), /relative_position_index.*not the relative position index/);
  const extra = new Map(weights).set("layers.0.blocks.0.gamma_1", new Tensor(new Float32Array(4), [4]));
  assert.throws(() => canonicalSwinWeights(extra, "timm"), /unknown names \(1\).*gamma_1/);
});

test.run();
