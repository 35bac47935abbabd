// npm run eval:adaptive [-- --scenes 2000 --out docs/eval]
// Adaptive sparse token pruning with learned thresholds (src/papr/adaptive_pruning.ts, thresholds in
// weights/vit-scenes/adaptive-thresholds.json) on held-out Fashion-MNIST scenes (test split 0..scenes-1),
// alone and after PaPr, beside PaPr alone and fixed-rate class-attention pruning at the same blocks with the
// keep rates that give the adaptive method's mean token counts (on the training scenes it was fit on), so
// at similar MACs. Per setting: top-1, mean GMACs per image (PaPr's include the proposer), and the spread
// over scenes (min / median / max) of the tokens leaving the last block and of the GMACs.
// One process, one thread (the machine is shared); writes <out>/adaptive.md and <out>/adaptive.json.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAdaptiveThresholds } from "../src/cli/adaptive_thresholds_node.ts";
import { loadModelDir, writeOutputFile } from "../src/cli/files.ts";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene } from "../src/data/scenes.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { adaptivePruning, type AdaptiveThresholds } from "../src/papr/adaptive_pruning.ts";
import { attentionPruning } from "../src/papr/attention_pruning.ts";
import { Papr, type Proposer } from "../src/papr/papr.ts";
import type { TokenReducer } from "../src/papr/token_reduction.ts";
import { countMacs } from "../src/tensor/mac_counter.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "2000" },
    backbone: { type: "string", default: "weights/vit-scenes" },
    proposer: { type: "string", default: "weights/mobilenetv3-scenes" },
    "papr-z": { type: "string", default: "0.7,0.5,0.4,0.3" },
    "combined-z": { type: "string", default: "0.5" },
    minutes: { type: "string", default: "0" }, // > 0: stop after this wall time, reporting the scenes done
    out: { type: "string", default: "docs/eval" },
  },
});
const requestedScenes = Number(values.scenes);
if (!Number.isInteger(requestedScenes) || requestedScenes < 1) throw new Error("eval:adaptive: bad --scenes");
const minutes = Number(values.minutes);
const paprZs = values["papr-z"].split(",").map(Number);
const combinedZs = values["combined-z"].split(",").map(Number);

const backbone = loadModelDir(values.backbone, "backbone");
const proposerModel = loadModelDir(values.proposer, "proposer");
if (backbone.family !== "vit" || proposerModel.family === "vit")
  throw new Error("eval:adaptive: ViT + ConvNet expected");
const vit = backbone.vit;
const thresholds = loadAdaptiveThresholds(values.backbone);
const { blocks } = thresholds;

/** Fixed keep rates per stage that give, on average, the tokens the adaptive thresholds kept in training validation. */
function matchedKeepRates(file: AdaptiveThresholds, budget: number): number[] {
  const entry = file.budgets.find((b) => b.budget === budget)!;
  const v = entry.validation as { meanTokensAfterStage?: number[] } | undefined;
  if (!v?.meanTokensAfterStage) throw new Error(`budget ${budget}: the thresholds file has no validation token counts`);
  let before = vit.config.numPatches; // patch tokens entering the first stage
  return v.meanTokensAfterStage.map((tokens) => {
    const patches = tokens - vit.config.numPrefixTokens;
    const rate = Math.min(1, Math.max(1 / before, patches / before));
    before = patches;
    return rate;
  });
}

interface Setting {
  name: string;
  family: "unpruned" | "papr" | "adaptive" | "papr+adaptive" | "fixed-rate";
  z: number;
  budget?: number;
  reducer?: TokenReducer;
  detail?: string;
}
const settings: Setting[] = [{ name: "unpruned", family: "unpruned", z: 1 }];
for (const z of paprZs) settings.push({ name: `papr z=${z}`, family: "papr", z });
for (const b of thresholds.budgets) {
  const reducer = adaptivePruning(blocks, b.thresholds);
  settings.push({ name: `adaptive b=${b.budget}`, family: "adaptive", z: 1, budget: b.budget, reducer });
  const rates = matchedKeepRates(thresholds, b.budget);
  settings.push({
    name: `fixed-rate b=${b.budget}`,
    family: "fixed-rate",
    z: 1,
    budget: b.budget,
    reducer: attentionPruning({ stages: blocks.map((block, i) => ({ block, keepRate: rates[i] })) }),
    detail: `keep rates ${rates.map((r) => r.toFixed(3)).join(" / ")}`,
  });
  for (const z of combinedZs)
    settings.push({
      name: `papr z=${z} + adaptive b=${b.budget}`,
      family: "papr+adaptive",
      z,
      budget: b.budget,
      reducer,
    });
}

// ---- run ----------------------------------------------------------------------------------------
const argmax = (t: Tensor) => {
  let best = 0;
  for (let i = 1; i < t.size; i++) if (t.data[i] > t.data[best]) best = i;
  return best;
};
const items = loadFashionItems();
const correct = settings.map(() => 0);
const macs = settings.map(() => [] as number[]);
const lastTokens = settings.map(() => [] as number[]);
const meanTokens = settings.map(() => [] as number[]);
const start = performance.now();
let numScenes = 0;
for (let s = 0; s < requestedScenes; s++) {
  if (minutes > 0 && performance.now() - start > minutes * 60_000) {
    console.error(`eval:adaptive: --minutes ${minutes} reached after ${s} scenes`);
    break;
  }
  numScenes = s + 1;
  const scene = makeScene(items, "test", s);
  const x = preprocess(scene.image, backbone.file.preprocess);
  const { result: features, macs: proposerMacs } = countMacs(() => proposerModel.convnet.features(x));
  const papr = new Papr(vit, { features: () => features } satisfies Proposer);
  settings.forEach((setting, i) => {
    const r = papr.predict(x, { z: setting.z, reducer: setting.reducer });
    if (argmax(r.logits) === scene.label) correct[i]++;
    macs[i].push(r.macs.total + (setting.z < 1 ? proposerMacs : 0));
    lastTokens[i].push(r.tokensAfterBlock.at(-1)!);
    meanTokens[i].push(r.tokensPerBlock.reduce((a, b) => a + b, 0) / r.tokensPerBlock.length);
  });
  if ((s + 1) % 100 === 0)
    console.error(
      `eval:adaptive: ${s + 1} / ${requestedScenes} scenes, ${((performance.now() - start) / 1000).toFixed(0)} s`,
    );
}
const seconds = (performance.now() - start) / 1000;

// ---- report -------------------------------------------------------------------------------------
const sorted = (a: number[]) => [...a].sort((p, q) => p - q);
const median = (a: number[]) => {
  const s = sorted(a);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
const g = (m: number) => (m / 1e9).toFixed(3);
const rows = settings.map((setting, i) => ({
  setting: setting.name,
  family: setting.family,
  z: setting.z,
  budget: setting.budget ?? null,
  detail: setting.detail ?? null,
  top1: (100 * correct[i]) / numScenes,
  meanMacs: mean(macs[i]),
  macs: { min: Math.min(...macs[i]), median: median(macs[i]), max: Math.max(...macs[i]) },
  lastBlockTokens: { min: Math.min(...lastTokens[i]), median: median(lastTokens[i]), max: Math.max(...lastTokens[i]) },
  meanTokensPerBlock: { mean: mean(meanTokens[i]), min: Math.min(...meanTokens[i]), max: Math.max(...meanTokens[i]) },
}));
const unpruned = rows[0];
const se = (100 * Math.sqrt(0.25 / numScenes)).toFixed(1);
const lines = [
  `Held-out scenes: ${numScenes} (test split 0..${numScenes - 1}${numScenes < requestedScenes ? `; ${requestedScenes} asked, stopped by --minutes ${minutes}` : ""}). Pruning blocks ${blocks.join(", ")} (0-based, of ${vit.numBlocks}); ` +
    `budget b = the target mean fraction of the unpruned blocks' MACs the thresholds were fit for (training scenes). ` +
    `One standard error of a top-1 near 50%: ${se} points.`,
  "",
  "| setting | top-1 % | mean GMACs (% of unpruned) | GMACs min / median / max | tokens leaving the last block min / median / max | mean tokens per block (min - max) |",
  "|---|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.setting}${r.detail ? ` (${r.detail})` : ""} | ${r.top1.toFixed(1)} | ${g(r.meanMacs)} (${((100 * r.meanMacs) / unpruned.meanMacs).toFixed(1)}%) | ` +
      `${g(r.macs.min)} / ${g(r.macs.median)} / ${g(r.macs.max)} | ${r.lastBlockTokens.min} / ${r.lastBlockTokens.median} / ${r.lastBlockTokens.max} | ` +
      `${r.meanTokensPerBlock.mean.toFixed(1)} (${r.meanTokensPerBlock.min.toFixed(1)} - ${r.meanTokensPerBlock.max.toFixed(1)}) |`,
  ),
  "",
  `PaPr's GMACs include the proposer (0.055 G here). Fixed-rate: class-attention pruning (same scores) at the same blocks, ` +
    `each stage keeping a fixed fraction, set so that the mean token counts equal the adaptive thresholds' on the ` +
    `training validation scenes. Wall time: ${seconds.toFixed(0)} s, one thread, shared machine.`,
];
const text = lines.join("\n") + "\n";
console.log(text);
writeOutputFile(
  join(values.out, "adaptive.md"),
  `# Adaptive token pruning with learned thresholds: held-out scenes\n\n\`npm run eval:adaptive -- --scenes ${requestedScenes}${minutes > 0 ? ` --minutes ${minutes}` : ""}\`\n\n${text}`,
);
writeOutputFile(
  join(values.out, "adaptive.json"),
  JSON.stringify({ scenes: numScenes, blocks, seconds, rows }, null, 1) + "\n",
);
