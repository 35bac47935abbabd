// npm run eval:hierarchical [-- --scenes 2000 --out docs/eval]
// Hierarchical PaPr (PAPR-SPEC.md section 5) on the Fashion-MNIST scenes: the trained ConvNeXt
// (weights/convnext-scenes) masked by the default proposer (weights/mobilenetv3-scenes) at z = 1, 0.9 .. 0.3
// in every stage, beside random masks of the same size per stage (3 seeds) and the unmasked model, on held-out
// test-split scenes 0..scenes-1. MACs: src/papr/convnext_macs.ts (fvcore conventions); PaPr's include the
// proposer's, counted as it runs; random masks need no proposer. One thread, scenes in order.
// Writes <out>/hierarchical.md (table), hierarchical.png (accuracy vs. GMACs) and hierarchical.json.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelDir, writeOutputFile } from "../src/cli/files.ts";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene } from "../src/data/scenes.ts";
import { randomOrder } from "../src/eval/scene_eval.ts";
import { encodePng } from "../src/image/encode.ts";
import { preprocess } from "../src/image/preprocess.ts";
import type { SpatialMask } from "../src/models/hierarchical_model.ts";
import { convnextCost } from "../src/papr/convnext_macs.ts";
import { stageMasks } from "../src/papr/hierarchical.ts";
import { proposalMap } from "../src/papr/proposal.ts";
import { lineChart, type Series } from "../src/plot/chart.ts";
import { countMacs } from "../src/tensor/mac_counter.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "2000" },
    z: { type: "string", default: "0.9,0.8,0.7,0.6,0.5,0.4,0.3" },
    backbone: { type: "string", default: "weights/convnext-scenes" },
    proposer: { type: "string", default: "weights/mobilenetv3-scenes" },
    out: { type: "string", default: "docs/eval" },
    "report-every": { type: "string", default: "50" },
  },
});
const numScenes = Number(values.scenes);
const zs = values.z.split(",").map(Number);
if (!(Number.isInteger(numScenes) && numScenes > 0) || !zs.every((z) => z > 0 && z < 1))
  throw new Error("eval:hierarchical: --scenes must be a positive integer and --z values in (0, 1)");
const SEEDS = [0, 1, 2];

const backbone = loadModelDir(values.backbone, "backbone");
const proposer = loadModelDir(values.proposer, "proposer");
if (backbone.family !== "convnext" || proposer.family === "vit")
  throw new Error(`eval:hierarchical: expected a ConvNeXt in ${values.backbone} and a ConvNet in ${values.proposer}`);
const model = backbone.hierarchical;
const size = backbone.file.preprocess.inputSize;
const grids = model.stageGrids(size);
const items = loadFashionItems();

/** Random foreground of floor(z H W) positions per stage (one shuffle per scene, seed and stage). */
function randomMasks(z: number, seed: number, scene: number): SpatialMask[] {
  return grids.map(([height, width], stage) => {
    const order = randomOrder(height * width, seed * 16 + stage, scene);
    const foreground = new Uint8Array(height * width);
    for (const p of order.subarray(0, Math.floor(z * height * width))) foreground[p] = 1;
    return { height, width, foreground };
  });
}
const argmax = (t: Tensor) => {
  let best = 0;
  for (let i = 1; i < t.size; i++) if (t.data[i] > t.data[best]) best = i;
  return best;
};
const backboneMacs = (z: number) =>
  convnextCost(
    model.config,
    size,
    grids.map(([h, w]) => (z < 1 ? Math.floor(z * h * w) : null)),
  );

// correct counts: unmasked, papr per z, random per z per seed
let scenes = 0;
let unmasked = 0;
const papr = zs.map(() => 0);
const random = zs.map(() => SEEDS.map(() => 0));
let proposerMacsSum = 0;
const start = performance.now();

for (let s = 0; s < numScenes; s++) {
  const scene = makeScene(items, "test", s);
  const x = preprocess(scene.image, backbone.file.preprocess);
  const { result: features, macs: proposerMacs } = countMacs(() => proposer.convnet.features(x));
  proposerMacsSum += proposerMacs;
  const proposal = proposalMap(features);
  const none = grids.map(() => null);
  if (argmax(model.forwardMasked(x, none).logits) === scene.label) unmasked++;
  zs.forEach((z, i) => {
    if (argmax(model.forwardMasked(x, stageMasks(proposal, grids, z)).logits) === scene.label) papr[i]++;
    SEEDS.forEach((seed, j) => {
      if (argmax(model.forwardMasked(x, randomMasks(z, seed, s)).logits) === scene.label) random[i][j]++;
    });
  });
  scenes++;
  if (scenes % Number(values["report-every"]) === 0 || scenes === numScenes) report(scenes === numScenes);
}

function report(final: boolean): void {
  const pct = (n: number) => (100 * n) / scenes;
  const g = (macs: number) => macs / 1e9;
  const proposerMacs = proposerMacsSum / scenes;
  const full = g(backboneMacs(1).total);
  const rows = zs.map((z, i) => {
    const r = random[i].map(pct);
    return {
      z,
      paprAccuracy: pct(papr[i]),
      paprGmacs: g(backboneMacs(z).total + proposerMacs),
      randomAccuracy: r.reduce((a, b) => a + b, 0) / r.length,
      randomMin: Math.min(...r),
      randomMax: Math.max(...r),
      randomGmacs: g(backboneMacs(z).total),
      foreground: grids.map(([h, w]) => Math.floor(z * h * w)),
    };
  });
  const minutes = (performance.now() - start) / 60000;
  const lines = [
    `# Hierarchical PaPr on the Fashion-MNIST scenes (ConvNeXt)`,
    ``,
    `\`npm run eval:hierarchical -- --scenes ${numScenes}\`: ${values.backbone} masked by ${values.proposer}, on test-split`,
    `scenes 0..${scenes - 1} (${scenes} scenes${final ? "" : `, partial: ${numScenes} asked`}), ${minutes.toFixed(1)} min on one thread.`,
    `Masks in every stage (PAPR-SPEC.md section 5): foreground = the top floor(z H W) positions of the proposer's`,
    `map resized to the stage's grid (${grids.map(([h, w]) => `${h}x${w}`).join(", ")}); random = the same number`,
    `of positions per stage drawn uniformly (3 seeds; mean, and min..max). GMACs per image, fvcore conventions`,
    `(src/papr/convnext_macs.ts); PaPr's include the proposer (${g(proposerMacs).toFixed(4)} G).`,
    ``,
    `| z | foreground per stage | PaPr top-1 % | PaPr GMACs | random top-1 % (min..max) | random GMACs |`,
    `|---:|---|---:|---:|---:|---:|`,
    `| 1 (unmasked) | all | ${pct(unmasked).toFixed(1)} | ${full.toFixed(4)} | ${pct(unmasked).toFixed(1)} | ${full.toFixed(4)} |`,
    ...rows.map(
      (r) =>
        `| ${r.z} | ${r.foreground.join(" / ")} | ${r.paprAccuracy.toFixed(1)} | ${r.paprGmacs.toFixed(4)} | ` +
        `${r.randomAccuracy.toFixed(1)} (${r.randomMin.toFixed(1)}..${r.randomMax.toFixed(1)}) | ${r.randomGmacs.toFixed(4)} |`,
    ),
    ``,
  ];
  writeOutputFile(join(values.out, "hierarchical.md"), lines.join("\n"));
  writeOutputFile(
    join(values.out, "hierarchical.json"),
    JSON.stringify(
      { scenes, unmasked: { accuracy: pct(unmasked), gmacs: full }, proposerGmacs: g(proposerMacs), rows },
      null,
      1,
    ) + "\n",
  );
  const series: Series[] = [
    {
      name: "hierarchical PaPr (z = 1 .. 0.3)",
      points: [{ x: full, y: pct(unmasked) }, ...rows.map((r) => ({ x: r.paprGmacs, y: r.paprAccuracy }))],
    },
    {
      name: "random masks, mean of 3 seeds",
      points: [{ x: full, y: pct(unmasked) }, ...rows.map((r) => ({ x: r.randomGmacs, y: r.randomAccuracy }))],
      dashed: true,
    },
    { name: "unmasked ConvNeXt", points: [{ x: full, y: pct(unmasked) }], marker: "square" },
  ];
  const chart = lineChart(series, {
    title: `ConvNeXt on Fashion-MNIST scenes, ${scenes} held out`,
    xLabel: "GMACs per image",
    yLabel: "top-1 %",
    width: 900,
    height: 560,
    legend: "bottom-right",
  });
  writeOutputFile(join(values.out, "hierarchical.png"), encodePng(chart.data, chart.width, chart.height));
  console.log(lines.join("\n"));
}
