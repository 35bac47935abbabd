// ViT / DeiT (src/models/vit.ts) and its name maps (src/models/load/names_vit.ts) against PyTorch goldens
// (tools/golden/gen_vit.py; reference modules in tools/golden/vit_ref.py, cross-checked there with torchvision's
// ViT). The small and tiny models run here; DeiT-Small, DeiT-Small distilled and DeiT-Base in vit_real.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  createVit,
  gridSize,
  numPrefixTokens,
  vitConfig,
  vitSpec,
  VIT_PRESETS,
  type VitConfig,
} from "../../src/models/vit.ts";
import { hfToCanonicalVit, timmToCanonicalVit } from "../../src/models/load/names_vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { concat, gatherRows, transpose } from "../../src/tensor/shape.ts";
import { ShapeError, Tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { MODEL_TOL, checkVitGolden, fixtureConfig, formatErrors, vitInput } from "./vit_golden.ts";

const TINY = vitConfig("deit_tiny_patch16_224");
// Two small-width configs beyond the presets: a class-token-free GAP ViT without qkv bias (timm's *_gap style:
// norm, then mean of all tokens), and a /14 MAE-style model (class token kept, mean of the patch tokens, fc_norm).
const GAP_TINY: VitConfig = {
  ...TINY,
  depth: 4,
  qkvBias: false,
  numClasses: 100,
  classToken: false,
  globalPool: "avg",
};
const MAE_TINY_P14: VitConfig = { ...TINY, patchSize: 14, globalPool: "avg", fcNorm: true };

test("DeiT-Tiny: embed, block 0, logits and pruned-token logits match PyTorch", () => {
  console.log(`  deit_tiny: ${formatErrors(checkVitGolden("deit_tiny", TINY))}`);
});

test("GAP ViT without class token or qkv bias (norm -> mean of all tokens) matches PyTorch", () => {
  console.log(`  gap_tiny: ${formatErrors(checkVitGolden("gap_tiny", GAP_TINY))}`);
});

test("/14 MAE-style ViT (16x16 grid, mean of patch tokens -> fc_norm, no `norm`) matches PyTorch", () => {
  assert.is(gridSize(MAE_TINY_P14), 16);
  assert.ok(!vitSpec(MAE_TINY_P14).has("norm.weight") && vitSpec(MAE_TINY_P14).has("fc_norm.weight"));
  console.log(`  mae_tiny_patch14: ${formatErrors(checkVitGolden("mae_tiny_patch14", MAE_TINY_P14))}`);
});

// ---- Hugging Face names ------------------------------------------------------------------------------

/** The HF-named synthetic weights of the fixture (filled by name in Python, rebuilt here from its hf_spec). */
function hfWeights(golden: ReturnType<typeof fixture>): Map<string, Tensor> {
  const spec = new Map(Object.entries(JSON.parse(golden.metadata?.hf_spec ?? "null") as Record<string, number[]>));
  return syntheticWeights(spec);
}

for (const [name, expectedNames] of [
  ["vit", ["vit.encoder.layer.1.attention.attention.value.bias", "classifier.weight"]],
  ["deit", ["deit.embeddings.distillation_token", "cls_classifier.weight", "distillation_classifier.bias"]],
] as const) {
  test(`HF ${name === "vit" ? "ViTForImageClassification" : "DeiTForImageClassificationWithTeacher"} names -> same logits as the HF-structured PyTorch module`, () => {
    const golden = fixture(`vit_hf_${name}`);
    const hf = hfWeights(golden);
    for (const n of expectedNames) assert.ok(hf.has(n), `fixture has HF name ${n}`);
    const config = fixtureConfig(golden);
    const vit = createVit(config, hfToCanonicalVit(hf)); // createVit checks every canonical name and shape
    const logits = vit.forward(vitInput(golden));
    console.log(`  hf_${name} logits ${relativeError(logits, golden.get("logits")).toExponential(1)}`);
    assertClose(logits, golden.get("logits"), MODEL_TOL, `hf_${name} logits`);
  });
}

/** rows [D, 2D) then [0, D) then [2D, 3D): q and k swapped, the fusion a wrong map would do. */
function swapQK(t: Tensor): Tensor {
  const D = t.shape[0] / 3;
  const order = [
    ...Array.from({ length: D }, (_, i) => D + i),
    ...Array.from({ length: D }, (_, i) => i),
    ...Array.from({ length: D }, (_, i) => 2 * D + i),
  ];
  return gatherRows(t.reshape([3 * D, -1]), order).reshape(t.shape);
}

test("the goldens catch a wrong q/k/v order and a transposed weight (errors above 10x the tolerance)", () => {
  const golden = fixture("vit_hf_vit");
  const config = fixtureConfig(golden);
  const weights = hfToCanonicalVit(hfWeights(golden));
  const x = vitInput(golden);
  const errorWith = (name: string, change: (t: Tensor) => Tensor) => {
    const changed = new Map(weights).set(name, change(weights.get(name)!));
    return relativeError(createVit(config, changed).forward(x), golden.get("logits"));
  };
  const swapped = errorWith("blocks.0.attn.qkv.weight", swapQK);
  const swappedBias = errorWith("blocks.1.attn.qkv.bias", swapQK);
  const transposed = errorWith("blocks.0.attn.proj.weight", (t) => transpose(t, [1, 0]));
  const patchT = errorWith("patch_embed.proj.weight", (t) => transpose(t, [0, 1, 3, 2]));
  console.log(
    `  k,q,v fused: ${swapped.toExponential(1)}, k,q,v bias: ${swappedBias.toExponential(1)}, proj^T: ${transposed.toExponential(1)}, patch kernel^T: ${patchT.toExponential(1)}`,
  );
  // (the swapped biases are small, 0.05 scale, hence the smallest error; still ~100x the tolerance)
  for (const err of [swapped, swappedBias, transposed, patchT])
    assert.ok(err > 10 * MODEL_TOL, `error ${err} should exceed 10x tolerance`);
});

test("hfToCanonicalVit: fuses q,k,v in order, accepts bare ViTModel names, reports unknown and incomplete names", () => {
  const t = (shape: number[], base: number) =>
    new Tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => base + i),
      shape,
    );
  const layer = "vit.encoder.layer.0.attention.attention.";
  const out = hfToCanonicalVit(
    new Map([
      [layer + "query.weight", t([2, 2], 0)],
      [layer + "key.weight", t([2, 2], 10)],
      [layer + "value.weight", t([2, 2], 20)],
      ["encoder.layer.3.layernorm_after.bias", t([2], 0)], // bare DeiTModel/ViTModel: no prefix
      ["deit.embeddings.distillation_token", t([1, 1, 2], 0)],
    ]),
  );
  assert.equal(out.get("blocks.0.attn.qkv.weight")!.shape, [6, 2]);
  assert.equal([...out.get("blocks.0.attn.qkv.weight")!.data], [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
  assert.ok(out.has("blocks.3.norm2.bias") && out.has("dist_token"));
  assert.throws(
    () =>
      hfToCanonicalVit(
        new Map([
          ["vit.pooler.dense.weight", t([2, 2], 0)],
          ["vit.encoder.layer.0.attention.attention.query.bias", t([2], 0)],
          ["vit.encoder.layer.0.attention.attention.value.bias", t([2], 0)],
          ["vit.encoder.layer.0.attention.self.query.weight", t([2, 2], 0)],
        ]),
      ),
    (e: Error) =>
      /vit\.pooler\.dense\.weight \[2, 2\]/.test(e.message) &&
      /attention\.self\.query\.weight/.test(e.message) &&
      /blocks\.0\.attn\.qkv\.bias: key missing/.test(e.message),
  );
});

test("timmToCanonicalVit: strips module./model. prefixes, reports names no plain ViT has", () => {
  const w = syntheticWeights(vitSpec(GAP_TINY));
  const wrapped = new Map([...w].map(([k, v]) => [`module.model.${k}`, v]));
  const out = timmToCanonicalVit(wrapped);
  assert.equal([...out.keys()], [...w.keys()]);
  assert.ok(createVit(GAP_TINY, out));
  wrapped.set("module.blocks.0.ls1.gamma", zeros([192]));
  wrapped.set("reg_token", zeros([1, 4, 192]));
  assert.throws(
    () => timmToCanonicalVit(wrapped),
    (e: Error) => /unknown names \(2\).*module\.blocks\.0\.ls1\.gamma \[192\].*reg_token \[1, 4, 192\]/.test(e.message),
  );
});

// ---- spec, presets, errors ----------------------------------------------------------------------

const paramCount = (c: VitConfig) => [...vitSpec(c).values()].reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);

test("presets: parameter counts equal torchvision's ViT at the same sizes", () => {
  // sum of numel over torchvision.models.vision_transformer.VisionTransformer(...).state_dict(), same architecture
  assert.is(paramCount(vitConfig("deit_tiny_patch16_224")), 5_717_416);
  assert.is(paramCount(vitConfig("deit_small_patch16_224")), 22_050_664);
  assert.is(paramCount(vitConfig("vit_base_patch16_224")), 86_567_656);
  assert.is(paramCount(vitConfig("vit_base_patch16_384")), 86_859_496);
  assert.is(paramCount(vitConfig("vit_large_patch16_224")), 304_326_632);
  // distilled = + dist_token [1,1,D] + one more pos_embed row + head_dist (D*1000 + 1000)
  assert.is(paramCount(vitConfig("deit_base_distilled_patch16_224")), 86_567_656 + 768 + 768 + 769_000);
  for (const [name, c] of Object.entries(VIT_PRESETS)) assert.ok(vitSpec(c).size > 0, name);
  assert.equal(vitSpec(vitConfig("mae_vit_huge_patch14_224")).get("pos_embed"), [1, 257, 1280]);
  assert.is(numPrefixTokens(vitConfig("deit_small_distilled_patch16_224")), 2);
  assert.is(numPrefixTokens(GAP_TINY), 0);
  assert.throws(() => vitConfig("deit_huge"), /unknown preset 'deit_huge'/);
});

test("createVit throws ONE error listing every missing, unexpected and mis-shaped tensor", () => {
  const w = syntheticWeights(vitSpec(TINY));
  w.delete("blocks.3.mlp.fc2.bias");
  w.delete("cls_token");
  w.set("head_dist.weight", zeros([1000, 192]));
  w.set("blocks.0.attn.qkv.weight", zeros([192, 576]));
  w.set("pos_embed", zeros([1, 196, 192]));
  assert.throws(
    () => createVit(TINY, w),
    (e: Error) =>
      e instanceof ShapeError &&
      /createVit/.test(e.message) &&
      /missing \(2\): cls_token \[1, 1, 192\], blocks\.3\.mlp\.fc2\.bias \[192\]/.test(e.message) &&
      /unexpected \(1\): head_dist\.weight \[1000, 192\]/.test(e.message) &&
      /pos_embed: expected \[1, 197, 192\], got \[1, 196, 192\]/.test(e.message) &&
      /blocks\.0\.attn\.qkv\.weight: expected \[576, 192\], got \[192, 576\]/.test(e.message),
  );
});

test("bad configs and bad inputs get clear errors", () => {
  assert.throws(() => vitSpec({ ...TINY, distillToken: true, classToken: false }), /distillToken needs classToken/);
  assert.throws(() => vitSpec({ ...TINY, classToken: false }), /globalPool "token" needs classToken/);
  assert.throws(() => vitSpec({ ...TINY, imageSize: 200 }), /imageSize 200 is not a multiple of patchSize 16/);
  assert.throws(() => vitSpec({ ...TINY, numHeads: 5 }), /embedDim 192 is not divisible by numHeads 5/);
  const vit = createVit(GAP_TINY, syntheticWeights(vitSpec(GAP_TINY)));
  assert.throws(
    () => vit.embed(zeros([1, 3, 192, 192])),
    (e: Error) => e instanceof ShapeError && /vit\.embed.*\[1, 3, 224, 224\].*got \[1, 3, 192, 192\]/.test(e.message),
  );
  assert.throws(() => vit.block(0, zeros([5, 384])), /vit\.block\(0\).*\[n, 192\].*got \[5, 384\]/);
  assert.throws(() => vit.block(4, zeros([5, 192])), /index 4 is not in \[0, 4\)/);
  assert.throws(() => vit.head(zeros([0, 192])), /vit\.head.*n >= 1/); // avg pool needs a patch token
});

test("block() and head() work on any token count; prefix tokens are what head() reads", () => {
  const vit = createVit(TINY, syntheticWeights(vitSpec(TINY)));
  const tokens = vit.embed(vitInput(fixture("vit_deit_tiny")));
  assert.equal(vit.block(0, gatherRows(tokens, [0])).shape, [1, 192]);
  // token pooling reads row 0 only: appending rows to an already-normalised set changes nothing in head()
  const one = gatherRows(tokens, [0]);
  assert.equal([...vit.head(one).data], [...vit.head(concat([one, gatherRows(tokens, [5, 9])], 0)).data]);
});

test.run();
