// npm run eval [-- --scenes 2000 --z 1,0.9,...,0.1 --out docs/eval]
// Accuracy vs. MACs of the default pair (weights/vit-scenes + weights/mobilenetv3-scenes) on held-out
// Fashion-MNIST scenes (test split), for several ways of choosing which patch tokens enter the ViT:
//   papr      the proposer's significance ranking (PaPr)
//   random    uniformly random patches (3 seeds)
//   centre    patches nearest the image centre first
//   oracle    patches overlapping the ground-truth box first (by overlap area)
// plus the proposer's own accuracy and PaPr's object-patch recall (kept box patches / box patches).
// Writes <out>/eval.md (table) and <out>/eval.png (accuracy vs. GMACs).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene, type Box } from "../src/data/scenes.ts";
import { loadModelDir } from "../src/cli/files.ts";
import { encodePng } from "../src/image/encode.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { vitCost } from "../src/papr/macs.ts";
import { costConfig } from "../src/papr/papr.ts";
import { proposalMap } from "../src/papr/proposal.ts";
import { pruneTokens } from "../src/papr/prune.ts";
import { keepCount, rankPatches } from "../src/papr/ranking.ts";
import { patchSignificance } from "../src/papr/significance.ts";
import { lineChart } from "../src/plot/chart.ts";
import { Mulberry32 } from "../src/tensor/random.ts";
import { argsortDescending } from "../src/tensor/sort.ts";
import { countMacs } from "../src/tensor/macs.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({ options: {
  scenes: { type: "string", default: "2000" },
  z: { type: "string", default: "1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1" },
  out: { type: "string", default: "docs/eval" },
} });
const numScenes = Number(values.scenes);
const zs = values.z.split(",").map(Number);

const backbone = loadModelDir("weights/vit-scenes", "backbone");
const proposer = loadModelDir("weights/mobilenetv3-scenes", "proposer");
if (backbone.family !== "vit" || proposer.family === "vit") throw new Error("weights/: expected a ViT backbone and a ConvNet proposer");
const vit = backbone.vit;
const { gridSize: G, numPatches, numPrefixTokens } = vit.config;
const items = loadFashionItems();
const S = vit.config.imageSize;

/** Patch order for each method (most wanted first). */
function centreOrder(): Int32Array {
  const d = new Float32Array(numPatches);
  for (let i = 0; i < numPatches; i++) d[i] = -Math.hypot((i % G) - (G - 1) / 2, Math.floor(i / G) - (G - 1) / 2);
  return argsortDescending(d);
}
function boxOverlap(box: Box): Float32Array {
  const p = S / G;
  const overlap = new Float32Array(numPatches);
  for (let i = 0; i < numPatches; i++) {
    const x0 = (i % G) * p, y0 = Math.floor(i / G) * p;
    overlap[i] = Math.max(0, Math.min(x0 + p, box[2]) - Math.max(x0, box[0])) * Math.max(0, Math.min(y0 + p, box[3]) - Math.max(y0, box[1]));
  }
  return overlap;
}
function randomOrder(seed: number, scene: number): Int32Array {
  const rng = new Mulberry32((seed * 1000003 + scene) >>> 0);
  const order = Int32Array.from({ length: numPatches }, (_, i) => i);
  for (let i = numPatches - 1; i > 0; i--) { const j = Math.floor(rng.uniform() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  return order;
}
const CENTRE = centreOrder();
const argmax = (t: Tensor) => t.data.indexOf(Math.max(...t.data));

const methods = ["papr", "random-0", "random-1", "random-2", "centre", "oracle"];
const correct = new Map(methods.map((m) => [m, zs.map(() => 0)]));
const recall = zs.map(() => 0);
let proposerCorrect = 0;
let proposerMacs = 0;
const start = performance.now();
for (let s = 0; s < numScenes; s++) {
  const scene = makeScene(items, "test", s);
  const x = preprocess(scene.image, backbone.file.preprocess);
  const counted = countMacs(() => proposer.convnet.features(x));
  proposerMacs = counted.macs;
  const features = counted.result;
  if (argmax(proposer.convnet.forward(x)) === scene.label) proposerCorrect++;
  const ranking = rankPatches(patchSignificance(proposalMap(features), [G, G]));
  const overlap = boxOverlap(scene.box);
  const orders: Record<string, Int32Array> = {
    papr: ranking, "random-0": randomOrder(0, s), "random-1": randomOrder(1, s), "random-2": randomOrder(2, s),
    centre: CENTRE, oracle: argsortDescending(overlap),
  };
  const boxPatches = overlap.reduce((n, o) => n + (o > 0 ? 1 : 0), 0);
  const tokens = vit.embed(x);
  zs.forEach((z, zi) => {
    const k = keepCount(z, numPatches, numPrefixTokens);
    for (const m of methods) {
      const kept = orders[m].slice(0, k);
      const logits = vit.head(vit.blocks(k === numPatches ? tokens : pruneTokens(tokens, numPrefixTokens, kept)));
      if (argmax(logits) === scene.label) correct.get(m)![zi]++;
    }
    const keptSet = new Set(ranking.slice(0, k));
    let hit = 0;
    overlap.forEach((o, i) => { if (o > 0 && keptSet.has(i)) hit++; });
    recall[zi] += boxPatches ? hit / boxPatches : 1;
  });
  if ((s + 1) % 10 === 0 || s + 1 === numScenes) {
    const el = (performance.now() - start) / 1000;
    process.stderr.write(`  ${s + 1}/${numScenes} scenes, ${el.toFixed(0)} s, ETA ${((el / (s + 1)) * (numScenes - s - 1)).toFixed(0)} s\n`);
  }
}
const seconds = (performance.now() - start) / 1000;

const cost = costConfig(vit);
const gmacs = (z: number, withProposer: boolean) => {
  const k = keepCount(z, numPatches, numPrefixTokens);
  return vitCost(cost, new Array(vit.numBlocks).fill(numPrefixTokens + k), withProposer ? proposerMacs : 0).total / 1e9;
};
const pct = (n: number) => ((100 * n) / numScenes).toFixed(1);
const randomMean = zs.map((_, zi) => (correct.get("random-0")![zi] + correct.get("random-1")![zi] + correct.get("random-2")![zi]) / 3);
const lines = [
  `Held-out scenes: ${numScenes} (test split 0..${numScenes - 1}); proposer alone: ${pct(proposerCorrect)}% top-1 at ${(proposerMacs / 1e9).toFixed(3)} GMACs (features only; PaPr cost includes them).`,
  "",
  "| z | tokens/block | GMACs PaPr (with proposer) | GMACs others | PaPr | random (mean of 3 seeds) | centre | oracle (box) | PaPr object-patch recall |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...zs.map((z, zi) => `| ${z} | ${numPrefixTokens + keepCount(z, numPatches, numPrefixTokens)} | ${gmacs(z, z < 1).toFixed(3)} | ${gmacs(z, false).toFixed(3)} | ${pct(correct.get("papr")![zi])} | ${pct(randomMean[zi])} | ${pct(correct.get("centre")![zi])} | ${pct(correct.get("oracle")![zi])} | ${(100 * recall[zi] / numScenes).toFixed(1)} |`),
  "",
  `Wall time: ${seconds.toFixed(0)} s on this machine (single thread).`,
];
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, "eval.md"), lines.join("\n") + "\n");
console.log(lines.join("\n"));
const series = [
  { name: "PaPr", points: zs.map((z, zi) => ({ x: gmacs(z, z < 1), y: (100 * correct.get("papr")![zi]) / numScenes })) },
  { name: "random (3 seeds)", points: zs.map((z, zi) => ({ x: gmacs(z, false), y: (100 * randomMean[zi]) / numScenes })), dashed: true },
  { name: "centre prior", points: zs.map((z, zi) => ({ x: gmacs(z, false), y: (100 * correct.get("centre")![zi]) / numScenes })) },
  { name: "oracle box", points: zs.map((z, zi) => ({ x: gmacs(z, false), y: (100 * correct.get("oracle")![zi]) / numScenes })), dashed: true },
];
const chart = lineChart(series, { title: `Fashion-MNIST scenes, ${numScenes} held out`, xLabel: "GMACs per image", yLabel: "top-1 %" });
writeFileSync(join(values.out, "eval.png"), encodePng(chart.data, chart.width, chart.height));
console.log(`wrote ${join(values.out, "eval.md")} and ${join(values.out, "eval.png")}`);
