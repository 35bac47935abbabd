// npm run eval:dimap [-- --scenes 300 --flops 0.2,0.35,0.5,0.65 --z 0.5 --out docs/eval]
// Data-free weight pruning (docs/dimap.md) of the two trained scene backbones, no fine-tuning: DIMAP (He & Zhou,
// ICLR 2024) against global and layer-wise magnitude pruning at the same FLOPs removed, on held-out test-split
// scenes 0..scenes-1, and DIMAP combined with PaPr at z (weights pruned by DIMAP, then the hierarchical masks of
// src/papr/hierarchical.ts on the ConvNeXt, the ViT's patch tokens pruned by src/papr/papr.ts), the proposer
// being weights/mobilenetv3-scenes.
// MACs: the paper's count for unstructured pruning (a layer's MACs scale with its kept weights), fvcore
// conventions (src/papr/convnext_macs.ts, macs.ts); with PaPr, the proposer's MACs are included and a pruned
// weight saves its MACs only on the positions / tokens its layer still runs on. wasm backend, one thread.
// Writes <out>/dimap.md (tables), dimap.png (accuracy vs. FLOPs removed) and dimap.json.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelDir, writeOutputFile } from "../src/cli/files.ts";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene } from "../src/data/scenes.ts";
import { encodePng } from "../src/image/encode.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { buildModel, type LoadedModel } from "../src/models/registry.ts";
import { convnextCost } from "../src/papr/convnext_macs.ts";
import { stageMasks } from "../src/papr/hierarchical.ts";
import { Papr } from "../src/papr/papr.ts";
import { proposalMap } from "../src/papr/proposal.ts";
import { lineChart, type Series } from "../src/plot/chart.ts";
import { PRUNING_METHODS, type PruningMethod } from "../src/prune/mask.ts";
import { pruneWeights, prunedMacs } from "../src/prune/prune_model.ts";
import type { PruningPlan } from "../src/prune/modules.ts";
import { availableBackends, setBackend } from "../src/tensor/backend.ts";
import { countMacs } from "../src/tensor/mac_counter.ts";
import { readSafetensors } from "../src/tensor/safetensors.ts";
import { readFileSync } from "node:fs";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "300" },
    flops: { type: "string", default: "0.2,0.35,0.5,0.65" },
    z: { type: "string", default: "0.5" },
    convnext: { type: "string", default: "weights/convnext-scenes" },
    vit: { type: "string", default: "weights/vit-scenes" },
    proposer: { type: "string", default: "weights/mobilenetv3-scenes" },
    out: { type: "string", default: "docs/eval" },
  },
});
const numScenes = Number(values.scenes);
const targets = values.flops.split(",").map(Number);
const z = Number(values.z);
if (!(Number.isInteger(numScenes) && numScenes > 0) || !targets.every((f) => f > 0 && f < 1) || !(z > 0 && z < 1))
  throw new Error("eval:dimap: --scenes must be a positive integer, --flops values and --z in (0, 1)");
if (availableBackends().includes("wasm")) setBackend("wasm");

const proposer = loadModelDir(values.proposer, "proposer");
if (proposer.family === "vit") throw new Error("eval:dimap: the proposer must be a ConvNet");
const items = loadFashionItems();
const argmax = (t: Tensor) => {
  let best = 0;
  for (let i = 1; i < t.size; i++) if (t.data[i] > t.data[best]) best = i;
  return best;
};

interface Variant {
  method: PruningMethod | "dense";
  flops: number;
  model: LoadedModel;
  plan: PruningPlan;
  masks: Uint8Array[];
  nonzeroMacs: number;
  denseMacs: number;
  withPapr: boolean; // also run with PaPr at z
  correct: number;
  paprCorrect: number;
  paprMacsSum: number; // per-scene MACs with PaPr (proposer included), summed
}

function variants(dir: string): Variant[] {
  const dense = loadModelDir(dir, "backbone");
  const path = join(dir, "model.safetensors");
  const weights = readSafetensors(readFileSync(path), path).tensors;
  const make = (method: PruningMethod, flops: number, withPapr: boolean): Variant => {
    const { weights: pruned, report, plan, masks } = pruneWeights(dense, weights, method, flops);
    return {
      method: flops === 0 ? "dense" : method,
      flops,
      model: flops === 0 ? dense : buildModel(dense.file, pruned),
      plan,
      masks,
      nonzeroMacs: report.nonzeroMacs,
      denseMacs: report.denseMacs,
      withPapr,
      correct: 0,
      paprCorrect: 0,
      paprMacsSum: 0,
    };
  };
  return [
    make("dimap", 0, true),
    ...PRUNING_METHODS.flatMap((method) => targets.map((f) => make(method, f, method === "dimap"))),
  ];
}

const backbones = { convnext: variants(values.convnext), vit: variants(values.vit) };
const start = performance.now();

for (let s = 0; s < numScenes; s++) {
  const scene = makeScene(items, "test", s);
  const x = preprocess(scene.image, proposer.file.preprocess);
  const { result: features, macs: proposerMacs } = countMacs(() => proposer.convnet.features(x));
  const proposal = proposalMap(features);
  for (const v of backbones.convnext) {
    if (v.model.family !== "convnext") throw new Error("expected a ConvNeXt");
    const model = v.model.hierarchical;
    const grids = model.stageGrids(v.model.file.preprocess.inputSize);
    if (
      argmax(
        model.forwardMasked(
          x,
          grids.map(() => null),
        ).logits,
      ) === scene.label
    )
      v.correct++;
    if (!v.withPapr) continue;
    if (argmax(model.forwardMasked(x, stageMasks(proposal, grids, z)).logits) === scene.label) v.paprCorrect++;
    const foreground = grids.map(([h, w]) => Math.floor(z * h * w));
    const masked = convnextCost(model.config, v.model.file.preprocess.inputSize, foreground, proposerMacs).total;
    v.paprMacsSum += prunedMacs(v.plan, v.masks, masked, foreground);
  }
  for (const v of backbones.vit) {
    if (v.model.family !== "vit") throw new Error("expected a ViT");
    if (argmax(v.model.vit.forward(x)) === scene.label) v.correct++;
    if (!v.withPapr) continue;
    const r = new Papr(v.model.vit, proposer.convnet).predict(x, { z });
    if (argmax(r.logits) === scene.label) v.paprCorrect++;
    v.paprMacsSum += vitPrunedMacs(v, r.macs.total, r.tokensPerBlock);
  }
  if ((s + 1) % 25 === 0) console.log(`${s + 1} scenes, ${((performance.now() - start) / 60000).toFixed(1)} min`);
}

/** The ViT's MACs with PaPr: every block layer's pruned weights save their MACs on the tokens that block sees. */
function vitPrunedMacs(v: Variant, maskedMacs: number, tokensPerBlock: number[]): number {
  return v.plan.layers.reduce((total, layer, l) => {
    let pruned = 0;
    for (const m of v.masks[l]) if (!m) pruned++;
    const block = /^blocks\.(\d+)\./.exec(layer.name);
    return total - pruned * (block ? tokensPerBlock[Number(block[1])] : layer.positions);
  }, maskedMacs);
}

const minutes = (performance.now() - start) / 60000;
const pct = (n: number) => (100 * n) / numScenes;
const g = (macs: number) => (macs / 1e9).toFixed(4);
const removed = (v: Variant, macs: number) => (100 * (1 - macs / v.denseMacs)).toFixed(1);
const NAMES: Record<string, string> = {
  dense: "unpruned",
  dimap: "DIMAP",
  "global-magnitude": "global magnitude",
  "layer-magnitude": "layer-wise magnitude",
};

function table(name: string, list: Variant[]): string[] {
  const dense = list[0];
  const rows = [
    `| FLOPs target | ${["dimap", "global-magnitude", "layer-magnitude"].map((m) => `${NAMES[m]} top-1 %`).join(" | ")} | nonzero GMACs (DIMAP) |`,
    `|---:|---:|---:|---:|---:|`,
    `| 0 (unpruned) | ${pct(dense.correct).toFixed(1)} | ${pct(dense.correct).toFixed(1)} | ${pct(dense.correct).toFixed(1)} | ${g(dense.nonzeroMacs)} |`,
    ...targets.map((f) => {
      const at = (m: string) => list.find((v) => v.method === m && v.flops === f)!;
      const acc = ["dimap", "global-magnitude", "layer-magnitude"].map((m) => pct(at(m).correct).toFixed(1));
      return `| ${f} | ${acc.join(" | ")} | ${g(at("dimap").nonzeroMacs)} |`;
    }),
  ];
  const papr = list.filter((v) => v.withPapr);
  const combined = [
    `| weights | top-1 % without PaPr | with PaPr z = ${z} | GMACs with PaPr (proposer included) | FLOPs removed vs. the unpruned backbone |`,
    `|---|---:|---:|---:|---:|`,
    ...papr.map((v) => {
      const macs = v.paprMacsSum / numScenes;
      const label = v.flops === 0 ? "unpruned" : `DIMAP ${v.flops}`;
      return `| ${label} | ${pct(v.correct).toFixed(1)} | ${pct(v.paprCorrect).toFixed(1)} | ${g(macs)} | ${removed(v, macs)} % |`;
    }),
  ];
  return [`## ${name}`, ``, `Dense: ${g(dense.denseMacs)} GMACs.`, ``, ...rows, ``, ...combined, ``];
}

const lines = [
  `# DIMAP on the scene backbones (no fine-tuning)`,
  ``,
  `\`npm run eval:dimap -- --scenes ${numScenes}\`: test-split scenes 0..${numScenes - 1}, ${minutes.toFixed(1)} min`,
  `(wasm backend, one thread). Every method removes the same fraction of the dense MACs (the paper's count for`,
  `unstructured pruning: a layer's MACs scale with its kept weights; attention matmuls, norms and pooling cannot be`,
  `pruned); the achieved removal is the target to within one weight per group. Data-free: no image is used to prune.`,
  `PaPr: the proposer ${values.proposer} at z = ${z}, on the DIMAP-pruned backbone (docs/dimap.md).`,
  ``,
  ...table(`ConvNeXt (${values.convnext})`, backbones.convnext),
  ...table(`ViT (${values.vit})`, backbones.vit),
];
writeOutputFile(join(values.out, "dimap.md"), lines.join("\n"));
const summary = (list: Variant[]) =>
  list.map((v) => ({
    method: v.method,
    flops: v.flops,
    accuracy: pct(v.correct),
    nonzeroGmacs: v.nonzeroMacs / 1e9,
    denseGmacs: v.denseMacs / 1e9,
    ...(v.withPapr ? { paprAccuracy: pct(v.paprCorrect), paprGmacs: v.paprMacsSum / numScenes / 1e9 } : {}),
  }));
writeOutputFile(
  join(values.out, "dimap.json"),
  JSON.stringify(
    { scenes: numScenes, z, convnext: summary(backbones.convnext), vit: summary(backbones.vit) },
    null,
    1,
  ) + "\n",
);
const series: Series[] = [];
for (const [family, list] of Object.entries(backbones)) {
  const dense = list[0];
  for (const method of PRUNING_METHODS) {
    const points = [dense, ...list.filter((v) => v.method === method)].map((v) => ({
      x: 100 * (1 - v.nonzeroMacs / v.denseMacs),
      y: pct(v.correct),
    }));
    series.push({
      name: `${family} ${NAMES[method]}`,
      points,
      dashed: family === "vit",
      marker: method === "dimap" ? "circle" : method === "global-magnitude" ? "square" : "triangle",
    });
  }
  series.push({
    name: `${family} DIMAP + PaPr z = ${z}`,
    points: list
      .filter((v) => v.withPapr)
      .map((v) => ({ x: 100 * (1 - v.paprMacsSum / numScenes / v.denseMacs), y: pct(v.paprCorrect) })),
    dashed: family === "vit",
    marker: "cross",
  });
}
const chart = lineChart(series, {
  title: `Data-free pruning, no fine-tuning, ${numScenes} held-out scenes`,
  xLabel: "% of dense MACs removed",
  yLabel: "top-1 %",
  width: 1100,
  height: 560,
  legend: "right",
});
writeOutputFile(join(values.out, "dimap.png"), encodePng(chart.data, chart.width, chart.height));
console.log(lines.join("\n"));
