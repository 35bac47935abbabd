// `papr convert` on one small ConvNeXt saved under torchvision's names (.pth) and timm's (.safetensors)
// (tools/golden/gen_convnext.py): both give the same canonical weights and torchvision's logits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModelDir } from "../../src/cli/files.ts";
import {
  timmToCanonicalConvnext,
  torchvisionConvnextName,
  torchvisionToCanonicalConvnext,
} from "../../src/models/load/names_convnext.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameWeights, convertFixture } from "./convert_fixture.ts";

const convert = (file: string, name: string) => convertFixture(file, "convnext_tiny", `convnext-${name}`, 65);

test("convnext: torchvision .pth and timm safetensors convert to the same weights and torchvision's logits", () => {
  const expected = fixture("convert_convnext").get("logits");
  const x = syntheticTensor("convert_convnext.input", [1, 3, 64, 64], 1);
  const dirs = [convert("convnext_torchvision.pth", "tv"), convert("convnext_timm.safetensors", "timm")];
  assertSameWeights(dirs);
  for (const d of dirs) {
    const model = loadModelDir(d);
    assert.is(model.family, "convnext");
    if (model.family !== "convnext") return;
    assert.equal(model.hierarchical.config.depths, [1, 1, 2, 1]);
    assert.equal(model.hierarchical.config.dims, [8, 16, 24, 32]);
    assertClose(model.hierarchical.forward(x).reshape([10]), expected, 1e-4, `logits after converting ${d}`);
  }
});

test("convnext names: torchvision's map, layer scale reshaped, unknown names listed in one error", () => {
  assert.is(torchvisionConvnextName("features.0.0.weight"), "stem.0.weight");
  assert.is(torchvisionConvnextName("module.features.4.1.bias"), "stages.2.downsample.1.bias");
  assert.is(torchvisionConvnextName("features.5.8.block.3.weight"), "stages.2.blocks.8.mlp.fc1.weight");
  assert.is(torchvisionConvnextName("features.7.2.layer_scale"), "stages.3.blocks.2.gamma");
  assert.is(torchvisionConvnextName("classifier.2.bias"), "head.fc.bias");
  assert.is(torchvisionConvnextName("features.1.0.block.1.weight"), null);
  const renamed = torchvisionToCanonicalConvnext(new Map([["features.1.0.layer_scale", zeros([8, 1, 1])]]));
  assert.equal(renamed.get("stages.0.blocks.0.gamma")!.shape, [8]);
  assert.throws(
    () =>
      torchvisionToCanonicalConvnext(
        new Map([
          ["features.1.0.block.9.weight", zeros([2])],
          ["head.x", zeros([1])],
        ]),
      ),
    /2 tensor names are not ConvNeXt's: features\.1\.0\.block\.9\.weight \[2\], head\.x \[1\]/,
  );
  assert.equal(
    [...timmToCanonicalConvnext(new Map([["module.stages.1.blocks.0.gamma", zeros([2])]])).keys()],
    ["stages.1.blocks.0.gamma"],
  );
  assert.throws(() => timmToCanonicalConvnext(new Map([["features.0.0.weight", zeros([2])]])), /not ConvNeXt's/);
});

test.run();
