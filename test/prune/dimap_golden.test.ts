// src/prune/ against tools/golden/gen_dimap.py (dimap_ref.py, PyTorch) on the seeded Swin-T of the Swin golden
// (the same load_synthetic weights, rebuilt here by syntheticWeights), FLOPs target 0.5:
//   - DIMAP scores of the patch embedding (float32 of the reference's float64: 1e-6 relative);
//   - every prunable layer's kept count and mask hash, for DIMAP and both magnitude baselines (exact), the full
//     masks of two small layers (exact);
//   - the dense MAC count (exact) and the DIMAP-pruned model's logits (1e-4 relative to the largest logit, the
//     project's whole-model tolerance: float64 sums here, float32 in PyTorch, over 12 blocks).
// A wrong variant must fail: the ascending-order reading of the score changes the masks (checked below).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSwin, swinConfig, swinSpec } from "../../src/models/swin.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { dimapScores } from "../../src/prune/importance.ts";
import { cheapestPrefix, pruningMasks, PRUNING_METHODS } from "../../src/prune/mask.ts";
import { numel, swinPlan } from "../../src/prune/modules.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { goldenInput } from "../models/model_golden.ts";
import { maskHash } from "./mask_hash.ts";

const golden = fixture("dimap_swin");
const FLOPS = Number(golden.metadata!.flops);
const config = swinConfig("swin_tiny_patch4_window7_224");
const weights = syntheticWeights(swinSpec(config));
const plan = swinPlan(config);

type Row = [string, number, number];
const keptCount = (mask: Uint8Array) => {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
};
const expected = (method: string) => JSON.parse(golden.metadata![`layers_${method}`]) as Row[];

test("the dense MACs and the prunable layers are the reference's", () => {
  assert.is(plan.denseMacs, Number(golden.metadata!.dense_macs));
  assert.equal(
    plan.layers.map((l) => l.name),
    expected("dimap").map((r) => r[0]),
  );
});

test("DIMAP scores of the patch embedding match the reference", () => {
  const w = weights.get("patch_embed.proj.weight")!;
  const scores = dimapScores(w.data as Float32Array);
  assertClose(new Tensor(Float32Array.from(scores), [scores.length]), golden.get("scores_patch_embed"), 1e-6);
});

const masksByMethod = new Map<string, Uint8Array[]>();
for (const method of PRUNING_METHODS) {
  test(`${method}: every layer's kept count and mask hash equal the reference's`, () => {
    const masks = pruningMasks(plan, weights, method, FLOPS);
    masksByMethod.set(method, masks);
    const actual = plan.layers.map((l, i) => [l.name, keptCount(masks[i]), maskHash(masks[i])]);
    assert.equal(actual, expected(method));
  });
}

test("DIMAP: the full masks of two small layers equal the reference's", () => {
  const masks = masksByMethod.get("dimap")!;
  for (const [key, name] of [
    ["keep_dimap_patch_embed", "patch_embed.proj.weight"],
    ["keep_dimap_block0_proj", "layers.0.blocks.0.attn.proj.weight"],
  ]) {
    const l = plan.layers.findIndex((layer) => layer.name === name);
    assert.equal([...masks[l]], [...golden.get(key).data].map(Number), name);
  }
});

test("a wrong variant (ascending-order score) changes the DIMAP masks", () => {
  const ascending = (w: Float32Array) => {
    const order = [...w.keys()].sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
    const s = new Float64Array(w.length);
    let energy = 0;
    for (const i of order) {
      energy += w[i] * w[i];
      s[i] = energy > 0 ? (w[i] * w[i]) / energy : 0;
    }
    return s;
  };
  const members = plan.layers.map((l, i) => i).filter((i) => plan.layers[i].module === "proj");
  const macs = members.map((i) => numel(plan.layers[i].shape) * plan.layers[i].positions);
  const prunable = plan.layers.reduce((sum, l) => sum + numel(l.shape) * l.positions, 0);
  const target = ((FLOPS * plan.denseMacs) / prunable) * macs.reduce((a, b) => a + b, 0);
  const keep = members.map((i) => new Uint8Array(numel(plan.layers[i].shape)).fill(1));
  cheapestPrefix(
    members.map((i) => {
      const byIndex = ascending(weights.get(plan.layers[i].name)!.data as Float32Array);
      return { byIndex, ascending: byIndex.slice().sort() };
    }),
    members.map((i) => plan.layers[i].positions),
    target,
    keep,
  );
  const kept = keep.map(keptCount);
  const reference = members.map((i) => expected("dimap")[i][1]);
  assert.not.equal(kept, reference);
});

test("the DIMAP-pruned Swin-T's logits match the reference within 1e-4", () => {
  const masks = masksByMethod.get("dimap")!;
  const pruned = new Map(weights);
  plan.layers.forEach((layer, l) => {
    const data = Float32Array.from(weights.get(layer.name)!.data);
    const mask = masks[l];
    for (let i = 0; i < data.length; i++) if (!mask[i]) data[i] = 0;
    pruned.set(layer.name, new Tensor(data, layer.shape));
  });
  const x = goldenInput(fixture("swin_tiny"), "swin.input", [1, 3, 224, 224]);
  const logits = createSwin(config, pruned).forward(x).reshape([1000]);
  console.log(
    `    DIMAP-pruned Swin-T logits: relative error ${relativeError(logits, golden.get("logits_dimap")).toExponential(2)}`,
  );
  assertClose(logits, golden.get("logits_dimap"), 1e-4, "pruned logits");
  assert.ok(relativeError(logits, golden.get("logits_dense")) > 1e-2, "pruning changed the logits");
});

test.run();
