// src/prune/: the DIMAP score and the greedy MAC-targeted cut on hand-checkable arrays, and the report of a
// pruned small Swin / ConvNeXt / ViT (target met by the smallest prefix, layer-wise pruning uniform).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildModel, PRESETS, type ModelFile } from "../../src/models/registry.ts";
import { convnextSpec } from "../../src/models/convnext.ts";
import { swinConfig, swinSpec } from "../../src/models/swin.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { vitSpec } from "../../src/models/vit.ts";
import { dimapScores, layerScores, magnitudeOrder } from "../../src/prune/importance.ts";
import { cheapestPrefix, pruningMasks } from "../../src/prune/mask.ts";
import { numel, pruningPlan } from "../../src/prune/modules.ts";
import { pruneWeights, prunedMacs } from "../../src/prune/prune_model.ts";

test("DIMAP score: |w| descending, w^2 over the energy of the weights at or above it", () => {
  // order: -3 (index 1), 2 (index 2), 1 (index 0), 0 (index 3); energies 9, 13, 14, 14
  assert.equal([...dimapScores(Float32Array.from([1, -3, 2, 0]))], [1 / 14, 1, 4 / 13, 0]);
  // ties by index: the first of two equal magnitudes ranks above
  assert.equal([...dimapScores(Float32Array.from([2, -2]))], [1, 0.5]);
  assert.equal([...magnitudeOrder(Float32Array.from([0.5, -0.25, 0.5, 4]))], [3, 0, 2, 1]);
  // every layer's largest weight scores 1, whatever its scale
  assert.is(Math.max(...dimapScores(Float32Array.from([1e-3, 2e-3]))), 1);
});

test("layer scores: ascending copy equals the sorted scores; an all-zero layer scores 0", () => {
  const w = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.7) * (i % 7));
  for (const name of ["dimap", "magnitude"] as const) {
    const s = layerScores(w, name);
    assert.equal(
      [...s.ascending],
      [...s.byIndex].sort((a, b) => a - b),
      name,
    );
  }
  assert.equal([...dimapScores(new Float32Array(3))], [0, 0, 0]);
});

test("cheapest prefix: (score, layer, index) order until the MACs reach the target", () => {
  const scores = [Float64Array.from([0.1, 0.5]), Float64Array.from([0.2, 0.1])].map((byIndex) => ({
    byIndex,
    ascending: byIndex.slice().sort(),
  }));
  const cut = (target: number) => {
    const keep = [new Uint8Array([1, 1]), new Uint8Array([1, 1])];
    cheapestPrefix(scores, [1, 10], target, keep);
    return keep.map((k) => [...k]);
  };
  assert.equal(cut(0), [
    [1, 1],
    [1, 1],
  ]);
  assert.equal(cut(1), [
    [0, 1],
    [1, 1],
  ]);
  assert.equal(cut(5), [
    [0, 1],
    [1, 0],
  ]);
  assert.equal(cut(12), [
    [0, 1],
    [0, 0],
  ]);
  assert.throws(() => cut(30), /below its target/);
});

const preprocess: ModelFile["preprocess"] = {
  ...PRESETS.convnext_tiny.preprocess,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};
const smallSwin = swinConfig("swin_tiny_patch4_window7_224", {
  embedDim: 8,
  depths: [2, 1, 1, 1],
  numHeads: [1, 1, 2, 2],
  numClasses: 10,
});
const convnext = { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32], numClasses: 10 };
const vit = { ...PRESETS.deit_tiny_patch16_224.model, embedDim: 16, depth: 2, numHeads: 2, numClasses: 10 };
const models: Array<[string, ModelFile, ReturnType<typeof syntheticWeights>]> = [
  [
    "swin",
    { format: "papr-ts/1", arch: "swin_tiny_patch4_window7_224", family: "swin", model: { ...smallSwin }, preprocess },
    syntheticWeights(swinSpec(smallSwin)),
  ],
  [
    "convnext",
    { format: "papr-ts/1", arch: "convnext_tiny", family: "convnext", model: convnext, preprocess },
    syntheticWeights(convnextSpec(convnext)),
  ],
  [
    "vit",
    { format: "papr-ts/1", arch: "deit_tiny_patch16_224", family: "vit", model: vit, preprocess },
    syntheticWeights(vitSpec(vit as never)),
  ],
];

for (const [family, file, weights] of models) {
  test(`${family}: every method removes the smallest prefix reaching the FLOPs target`, () => {
    const model = buildModel(file, weights);
    const plan = pruningPlan(model);
    const step = Math.max(...plan.layers.map((l) => l.positions));
    for (const method of ["dimap", "global-magnitude", "layer-magnitude"] as const) {
      for (const flops of [0, 0.2, 0.4]) {
        const { report, masks } = pruneWeights(model, weights, method, flops);
        const removed = report.denseMacs - report.nonzeroMacs;
        assert.ok(removed >= flops * report.denseMacs, `${method} ${flops}: removed ${removed}`);
        // groups cut independently: at most one extra weight each
        assert.ok(removed - flops * report.denseMacs <= step * plan.layers.length, `${method} ${flops}: overshoot`);
        assert.is(prunedMacs(plan, masks, report.denseMacs), report.nonzeroMacs);
        if (method === "layer-magnitude" && flops > 0) {
          const fractions = plan.layers.map((l, i) => 1 - report.layers[i].kept / numel(l.shape));
          const r = (flops * report.denseMacs) / plan.layers.reduce((s, l) => s + numel(l.shape) * l.positions, 0);
          fractions.forEach((f, i) =>
            assert.ok(
              f >= r - 1e-12 && f <= r + 1 / numel(plan.layers[i].shape),
              `${plan.layers[i].name}: ${f} vs ${r}`,
            ),
          );
        }
      }
    }
  });
}

test("DIMAP keeps each layer's largest weights (the local magnitude ranking is preserved)", () => {
  for (const [family, file, weights] of models) {
    const model = buildModel(file, weights);
    const { masks, plan } = pruneWeights(model, weights, "dimap", 0.4);
    plan.layers.forEach((layer, l) => {
      const w = weights.get(layer.name)!.data;
      let smallestKept = Infinity;
      let largestPruned = -Infinity;
      masks[l].forEach((keep, i) => {
        if (keep) smallestKept = Math.min(smallestKept, Math.abs(w[i]));
        else largestPruned = Math.max(largestPruned, Math.abs(w[i]));
      });
      assert.ok(
        smallestKept >= largestPruned,
        `${family} ${layer.name}: kept ${smallestKept} < pruned ${largestPruned}`,
      );
    });
  }
});

test("bad FLOPs targets are refused", () => {
  const [, file, weights] = models[0];
  const plan = pruningPlan(buildModel(file, weights));
  assert.throws(() => pruningMasks(plan, weights, "dimap", 1), /must lie in \[0, 1\)/);
  assert.throws(
    () => pruningMasks(plan, weights, "dimap", 0.99),
    /only 0\.\d+ of the \d+ MACs are in prunable weights/,
  );
});

test.run();
