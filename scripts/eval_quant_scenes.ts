// npm run eval:quant-scenes [-- --scenes 500 --calibration 100 --search-images 8 --bits w8a8,w4a8,w4a4,w2a4 --out docs/eval]
// The scene proposer (weights/mobilenetv3-scenes, MobileNetV3-small) quantized after training
// (docs/quantization.md §10): float, uniform PTQ, power-of-two alone (pow2-mse) and RAPQ at each bit width. Calibration: training-split
// scenes 0..calibration-1 (src/data/scenes.ts; Fashion-MNIST train items from --train-items). Evaluation:
// held-out test-split scenes 0..scenes-1. Per proposer: its own top-1 on the scenes, PaPr's object-patch
// recall at z = 0.5 (kept patches touching the object's box / patches touching it, as src/eval/scene_eval.ts),
// and the ViT's (weights/vit-scenes) top-1 with PaPr at z = 0.5 and 0.3 on the quantized proposer's feature
// map (simulated path; for the power-of-two nets the integer path is run on the first --integer-check
// scenes and its logits compared bit for bit). Writes <out>/quant_scenes.md and .json, prints the table.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelDir, writeOutputFile } from "../src/cli/files.ts";
import { FASHION_MNIST_DIR, loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene, type Scene } from "../src/data/scenes.ts";
import { boxOverlap } from "../src/eval/scene_eval.ts";
import { preprocess } from "../src/image/preprocess.ts";
import type { MobileNetV3Config } from "../src/models/mobilenetv3.ts";
import { Papr } from "../src/papr/papr.ts";
import { keepCount } from "../src/papr/ranking.ts";
import { parseBits } from "../src/quant/ptq.ts";
import { integerV3Forward } from "../src/quant/v3_integer.ts";
import { floatFeatures, floatHead, mobilenetV3Graph } from "../src/quant/v3_graph.ts";
import { calibrateV3, quantizeV3 } from "../src/quant/v3_ptq.ts";
import { SimulatedV3Net } from "../src/quant/v3_simulated.ts";
import { readSafetensors } from "../src/tensor/safetensors.ts";
import { availableBackends, setBackend } from "../src/tensor/backend.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "500" },
    calibration: { type: "string", default: "100" },
    "search-images": { type: "string", default: "8" },
    "integer-check": { type: "string", default: "2" },
    bits: { type: "string", default: "w8a8,w4a8,w4a4,w2a4" },
    methods: { type: "string", default: "uniform,pow2-mse,rapq" },
    backbone: { type: "string", default: "weights/vit-scenes" },
    proposer: { type: "string", default: "weights/mobilenetv3-scenes" },
    "train-items": { type: "string" }, // folder with train-images-idx3-ubyte.gz / train-labels-idx1-ubyte.gz
    out: { type: "string", default: "docs/eval" },
  },
});
if (availableBackends().includes("wasm")) setBackend("wasm");
const seconds = (t: number) => (performance.now() - t) / 1000;
const numScenes = Number(values.scenes);
const trainDir =
  values["train-items"] ??
  [FASHION_MNIST_DIR, "/usr/share/datasets/fashion-mnist"].find((d) =>
    existsSync(join(d, "train-images-idx3-ubyte.gz")),
  );
if (!trainDir) throw new Error("eval:quant-scenes: no Fashion-MNIST train items; give --train-items DIR");

const backbone = loadModelDir(values.backbone!, "backbone");
if (backbone.family !== "vit") throw new Error(`${values.backbone} is not a ViT`);
const vit = backbone.vit;
const config = backbone.file.preprocess;
const proposerModel = loadModelDir(values.proposer!, "proposer");
const weightsPath = join(values.proposer!, "model.safetensors");
const graph = mobilenetV3Graph(
  proposerModel.file.model as unknown as MobileNetV3Config,
  readSafetensors(readFileSync(weightsPath), weightsPath).tensors,
);

let t = performance.now();
const trainItems = loadFashionItems(trainDir, "train");
const calibration = Array.from({ length: Number(values.calibration) }, (_, i) =>
  preprocess(makeScene(trainItems, "train", i).image, config),
);
const testItems = loadFashionItems();
const scenes: Scene[] = Array.from({ length: numScenes }, (_, i) => makeScene(testItems, "test", i));
console.log(
  `${calibration.length} calibration (train) + ${scenes.length} evaluation (test) scenes in ${seconds(t).toFixed(0)} s`,
);

const { gridSize: G, numPatches: N, numPrefixTokens: P, imageSize } = vit.config;
const argmax = (a: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
};

interface Row {
  method: string;
  bits: string;
  proposer: number; // correct
  recall: number; // mean object-patch recall at z = 0.5
  vit05: number;
  vit03: number;
  quantizeSeconds: number;
  evalSeconds: number;
  integerChecked?: number;
  integerIdentical?: number;
  note?: string;
}
const rows: Row[] = [];

/** Evaluates a proposer given as features(x) and head(features). */
function evaluate(
  method: string,
  bits: string,
  features: (x: Tensor) => Tensor,
  head: (f: Tensor) => Tensor,
  quantizeSeconds: number,
  note?: string,
): Row {
  const t0 = performance.now();
  const row: Row = { method, bits, proposer: 0, recall: 0, vit05: 0, vit03: 0, quantizeSeconds, evalSeconds: 0, note };
  scenes.forEach((scene) => {
    const x = preprocess(scene.image, config);
    const f = features(x);
    if (argmax(head(f).data) === scene.label) row.proposer++;
    const papr = new Papr(vit, { features: () => f });
    const half = papr.predict(x, { z: 0.5, trace: true });
    if (argmax(half.logits.data) === scene.label) row.vit05++;
    if (argmax(papr.predict(x, { z: 0.3 }).logits.data) === scene.label) row.vit03++;
    const ranking = half.trace!.ranking;
    const overlap = boxOverlap(scene.box, G, imageSize);
    const objectPatches = overlap.reduce((n, o) => n + (o > 0 ? 1 : 0), 0);
    const k = keepCount(0.5, N, P);
    let hit = 0;
    for (let j = 0; j < k; j++) if (overlap[ranking[j]] > 0) hit++;
    row.recall += objectPatches ? hit / objectPatches : 1;
  });
  row.recall /= scenes.length;
  row.evalSeconds = seconds(t0);
  rows.push(row);
  const pct = (n: number) => `${((100 * n) / scenes.length).toFixed(1)}%`;
  console.log(
    `${bits.padEnd(5)} ${method.padEnd(8)} proposer ${pct(row.proposer)}  recall@0.5 ${(100 * row.recall).toFixed(1)}%  ` +
      `ViT+PaPr z=0.5 ${pct(row.vit05)}  z=0.3 ${pct(row.vit03)}  (quantize ${quantizeSeconds.toFixed(0)} s, eval ${row.evalSeconds.toFixed(0)} s)${note ? `  ${note}` : ""}`,
  );
  return row;
}

evaluate(
  "float",
  "-",
  (x) => floatFeatures(graph, x),
  (f) => floatHead(graph, f),
  0,
);
t = performance.now();
const cal = calibrateV3(graph, calibration);
const calibrationSeconds = seconds(t);
console.log(`float calibration pass over ${calibration.length} scenes: ${calibrationSeconds.toFixed(0)} s`);

for (const bits of values.bits!.split(",")) {
  for (const method of values.methods!.split(",") as ("uniform" | "rapq" | "pow2-mse")[]) {
    t = performance.now();
    const result = quantizeV3(graph, calibration, { method, ...parseBits(bits) }, cal, Number(values["search-images"]));
    const quantizeSeconds = calibrationSeconds + seconds(t);
    const sim = new SimulatedV3Net(result.net);
    const a = result.adjust;
    const r = result.reconstruction;
    const note = a
      ? `logit MSE ${a.lossBefore.toFixed(3)} -> ${a.lossAfter.toFixed(3)} (${a.changes.length} exponents moved, ${a.trials} trials); ` +
        `BN mean shift ${r!.meanShiftBefore.toFixed(3)} -> ${r!.meanShiftAfter.toFixed(3)} (${r!.convs} convs)`
      : undefined;
    const row = evaluate(
      method,
      bits,
      (x) => sim.features(x),
      (f) => sim.head(f),
      quantizeSeconds,
      note,
    );
    if (result.net.scheme === "pow2") {
      const checked = scenes.slice(0, Number(values["integer-check"]));
      row.integerChecked = checked.length;
      row.integerIdentical = checked.filter((scene) => {
        const x = preprocess(scene.image, config);
        const b = sim.forward(x).data;
        return integerV3Forward(result.net, x).logits.every((v, k) => Object.is(v, b[k]));
      }).length;
      console.log(`      integer = simulated logits on ${row.integerIdentical}/${row.integerChecked} scenes`);
    }
  }
}

// ---- table -----------------------------------------------------------------------------------------
const pct = (n: number) => `${((100 * n) / scenes.length).toFixed(1)}%`;
const lines = [
  "# Quantized scene proposer (MobileNetV3-small) with PaPr",
  "",
  "Written by `npm run eval:quant-scenes` (scripts/eval_quant_scenes.ts); see docs/quantization.md §10.",
  `Calibration: training-split scenes 0..${calibration.length - 1}; search images of the scale adjustment: the first ${values["search-images"]}. ` +
    `Evaluation: held-out test-split scenes 0..${scenes.length - 1} (one standard error near 50%: ${(100 * Math.sqrt(0.25 / scenes.length)).toFixed(1)} points). ` +
    `Backend: simulated path on the ${availableBackends().includes("wasm") ? "wasm" : "js"} kernels.`,
  "",
  "| proposer | bits | proposer top-1 | object-patch recall z=0.5 | ViT + PaPr z=0.5 | ViT + PaPr z=0.3 | quantize s | integer = simulated |",
  "|---|---|---:|---:|---:|---:|---:|---|",
  ...rows.map(
    (r) =>
      `| ${r.method} | ${r.bits === "-" ? "-" : r.bits.toUpperCase()} | ${pct(r.proposer)} | ${(100 * r.recall).toFixed(1)}% | ${pct(r.vit05)} | ${pct(r.vit03)} | ${r.method === "float" ? "-" : r.quantizeSeconds.toFixed(0)} | ${r.integerChecked ? `${r.integerIdentical}/${r.integerChecked}` : "-"} |`,
  ),
  "",
  "Notes (RAPQ rows): " +
    rows
      .filter((r) => r.note)
      .map((r) => `${r.bits.toUpperCase()}: ${r.note}`)
      .join("; ") +
    ".",
  "",
];
writeOutputFile(join(values.out!, "quant_scenes.md"), lines.join("\n"));
writeOutputFile(
  join(values.out!, "quant_scenes.json"),
  JSON.stringify(
    { scenes: scenes.length, calibration: calibration.length, searchImages: Number(values["search-images"]), rows },
    null,
    2,
  ) + "\n",
);
console.log(lines.join("\n"));
