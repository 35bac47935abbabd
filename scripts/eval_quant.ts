// npm run eval:quant [-- --limit N --search-images 32 --out docs/eval]
// Post-training quantization of ImageNet MobileNetV1-0.25 (../shared/weights/mobilenet_v1_0.25_224_tfjs) on
// the 500 shared ImageNet photos (../shared/data/imagenet-samples, one per class for every other class):
// sorted by name, every 5th photo (100) is the calibration set and the other 400 the evaluation set.
// Top-1 of the float model, and of each PTQ method of src/quant/ptq.ts at W8A8, W4A8, W4A4 and W2A4
// (simulated path); for the power-of-two methods the integer path is run on the first `--integer-check`
// evaluation photos and its logits compared bit for bit with the simulated ones. Writes
// <out>/quant.md and <out>/quant.json and prints the table.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readLabels, writeOutputFile } from "../src/cli/files.ts";
import { decodeImage } from "../src/image/decode.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { readCheckpointFile } from "../src/models/load/node.ts";
import { convertCheckpoint } from "../src/models/registry.ts";
import type { MobileNetV1Config } from "../src/models/mobilenetv1.ts";
import { bnReconstruct } from "../src/quant/bn_reconstruction.ts";
import { calibrate } from "../src/quant/calibration.ts";
import { chainFeatures, chainHead, mobilenetV1Chain } from "../src/quant/conv_chain.ts";
import { integerForward } from "../src/quant/integer.ts";
import { layerwisePlan } from "../src/quant/ptq.ts";
import { adjustScales } from "../src/quant/scale_adjust.ts";
import { planNet, type ScalePlan } from "../src/quant/scale_plan.ts";
import { SimulatedNet } from "../src/quant/simulated.ts";
import { availableBackends, setBackend } from "../src/tensor/backend.ts";
import type { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    shared: { type: "string", default: "../shared" },
    limit: { type: "string" }, // evaluation photos (default: all 400)
    "search-images": { type: "string", default: "32" }, // calibration photos the scale adjustment scores
    "integer-check": { type: "string", default: "10" },
    bits: { type: "string", default: "w8a8,w4a8,w4a4,w2a4" },
    out: { type: "string", default: "docs/eval" },
  },
});
if (availableBackends().includes("wasm")) setBackend("wasm");
const shared = values.shared!;
const folder = join(shared, "data/imagenet-samples");
const { wnids } = readLabels(join(shared, "data/imagenet-classes.txt"));
const classOf = new Map(wnids!.map((w, i) => [w, i]));
const checkpoint = readCheckpointFile(join(shared, "weights/mobilenet_v1_0.25_224_tfjs/mobilenet_model.json"));
const { file, weights } = convertCheckpoint(
  { tensors: checkpoint.tensors, tfjs: checkpoint.tfjs, source: "mobilenet_model.json" },
  "mobilenet_v1_0.25_224",
);
const chain = mobilenetV1Chain(file.model as MobileNetV1Config, weights);

const names = readdirSync(folder)
  .filter((n) => /\.jpe?g$/i.test(n))
  .sort();
const load = (name: string) => preprocess(decodeImage(readFileSync(join(folder, name)), name), file.preprocess);
const calibrationNames = names.filter((_, i) => i % 5 === 0);
let evalNames = names.filter((_, i) => i % 5 !== 0);
if (values.limit) evalNames = evalNames.slice(0, Number(values.limit));
const labels = evalNames.map((n) => classOf.get(n.split("_")[0])!);
const seconds = (t: number) => (performance.now() - t) / 1000;

let t = performance.now();
const calibration = calibrationNames.map(load);
const evaluation = evalNames.map(load);
console.log(
  `${calibration.length} calibration + ${evaluation.length} evaluation photos read in ${seconds(t).toFixed(0)} s`,
);

const argmax = (a: Float32Array) => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
};
const top1 = (forward: (x: Tensor) => Float32Array) =>
  evaluation.reduce((n, x, i) => n + (argmax(forward(x)) === labels[i] ? 1 : 0), 0);

t = performance.now();
const floatCorrect = top1((x) => chainHead(chain, chainFeatures(chain, x)).data);
console.log(`float: ${floatCorrect}/${evaluation.length} (${seconds(t).toFixed(0)} s)`);
t = performance.now();
const stats = calibrate(chain, calibration);
const calibrationSeconds = seconds(t);

interface Row {
  method: string;
  bits: string;
  correct: number;
  quantizeSeconds: number;
  integerChecked?: number;
  integerIdentical?: number;
  note?: string;
}
const rows: Row[] = [];
const searchImages = calibration.slice(0, Number(values["search-images"]));
const integerCheck = Number(values["integer-check"]);

function evaluate(method: string, bits: string, plan: ScalePlan, quantizeSeconds: number, note?: string): void {
  const net = planNet(chain, plan);
  const sim = new SimulatedNet(net);
  const t0 = performance.now();
  const row: Row = { method, bits, correct: top1((x) => sim.forward(x).data), quantizeSeconds, note };
  if (plan.scheme === "pow2") {
    const checked = evaluation.slice(0, integerCheck);
    row.integerChecked = checked.length;
    row.integerIdentical = checked.filter((x) => {
      const a = integerForward(net, x).logits;
      const b = sim.forward(x).data;
      return a.every((v, k) => Object.is(v, b[k]));
    }).length;
  }
  rows.push(row);
  console.log(
    `${bits} ${method.padEnd(14)} ${row.correct}/${evaluation.length}  quantize ${quantizeSeconds.toFixed(1)} s, ` +
      `eval ${seconds(t0).toFixed(0)} s${row.integerChecked ? `, integer = simulated on ${row.integerIdentical}/${row.integerChecked}` : ""}${note ? `  (${note})` : ""}`,
  );
}

for (const bitsText of values.bits!.split(",")) {
  const m = /^w(\d)a(\d)$/.exec(bitsText)!;
  const options = { weightBits: Number(m[1]), activationBits: Number(m[2]) };
  for (const rule of ["uniform", "pow2-minmax", "pow2-mse"] as const) {
    const t0 = performance.now();
    const plan = layerwisePlan(chain, stats, { ...options, method: rule }, rule);
    const planSeconds = seconds(t0);
    evaluate(rule, bitsText, plan, calibrationSeconds + planSeconds);
    if (rule !== "pow2-mse") continue;
    const t1 = performance.now();
    const adjusted = adjustScales(chain, plan, searchImages, stats.logits.slice(0, searchImages.length));
    const adjustSeconds = calibrationSeconds + planSeconds + seconds(t1);
    const a = adjusted.report;
    evaluate(
      "pow2-adjusted",
      bitsText,
      adjusted.plan,
      adjustSeconds,
      `logit MSE ${a.lossBefore.toFixed(3)} -> ${a.lossAfter.toFixed(3)}, ${a.changes.length} exponents moved, ${a.trials} trials, ${seconds(t1).toFixed(0)} s`,
    );
    const t2 = performance.now();
    const rebuilt = bnReconstruct(chain, adjusted.plan, calibration, stats);
    const r = rebuilt.report;
    evaluate(
      "rapq",
      bitsText,
      rebuilt.plan,
      adjustSeconds + seconds(t2),
      `mean |mu_q - mu*| ${r.meanShiftBefore.toFixed(3)} -> ${r.meanShiftAfter.toFixed(3)}, mean |sigma_q / sigma* - 1| ${r.stdRatioBefore.toFixed(3)} -> ${r.stdRatioAfter.toFixed(3)}, ${seconds(t2).toFixed(0)} s`,
    );
  }
}

const bitsList = values.bits!.split(",");
const pct = (n: number) => `${((100 * n) / evaluation.length).toFixed(1)}%`;
const methods = ["uniform", "pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"];
const table = [
  `| method | ${bitsList.map((b) => b.toUpperCase()).join(" | ")} |`,
  `|---|${bitsList.map(() => "---:").join("|")}|`,
  `| float | ${bitsList.map(() => pct(floatCorrect)).join(" | ")} |`,
  ...methods.map(
    (method) =>
      `| ${method} | ${bitsList
        .map((b) => {
          const row = rows.find((r) => r.method === method && r.bits === b);
          return row ? `${pct(row.correct)} (${row.correct})` : "-";
        })
        .join(" | ")} |`,
  ),
];
const details = rows.map(
  (r) =>
    `| ${r.bits} | ${r.method} | ${r.correct} | ${r.quantizeSeconds.toFixed(1)} | ${
      r.integerChecked ? `${r.integerIdentical}/${r.integerChecked}` : "- (float scales)"
    } | ${(r.note ?? "").replaceAll("|", "\\|")} |`,
);
const md = [
  "# Post-training quantization of MobileNetV1-0.25 (ImageNet)",
  "",
  "Written by `npm run eval:quant` (scripts/eval_quant.ts); methods in docs/quantization.md.",
  `Model: ../shared/weights/mobilenet_v1_0.25_224_tfjs. Photos: ../shared/data/imagenet-samples sorted by name;`,
  `every 5th is calibration (${calibration.length}), the others evaluation (${evaluation.length}).`,
  `Top-1 on the evaluation photos (one photo per class, so one photo = ${(100 / evaluation.length).toFixed(2)} points).`,
  `The scale adjustment scores its trials on the first ${searchImages.length} calibration photos; the BN-based`,
  `reconstruction uses all ${calibration.length}. Backend: ${availableBackends().includes("wasm") ? "wasm" : "js"}.`,
  "",
  ...table,
  "",
  "Per run: quantization time (seconds, on a shared 2-core machine: noisy; includes the float calibration",
  `pass of ${calibrationSeconds.toFixed(1)} s), and integer path vs simulated path (logits bit-identical on the`,
  "first evaluation photos):",
  "",
  "| bits | method | correct | quantize s | integer = simulated | notes |",
  "|---|---|---:|---:|---|---|",
  ...details,
  "",
];
writeOutputFile(join(values.out!, "quant.md"), md.join("\n"));
writeOutputFile(
  join(values.out!, "quant.json"),
  JSON.stringify({ calibration: calibration.length, evaluation: evaluation.length, floatCorrect, rows }, null, 2) +
    "\n",
);
console.log(table.join("\n"));
