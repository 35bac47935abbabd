// npm run eval [-- --scenes 2000 --workers 2 --backend wasm --out docs/eval]
// Accuracy vs. MACs of the default pair (src/models/default_weights_node.ts) on held-out
// Fashion-MNIST scenes (test split 0..scenes-1), for every way of cutting the ViT's tokens that
// src/eval/scene_eval.ts implements: PaPr, random (3 seeds), centre prior, class-attention pruning,
// oracle box, ToMe over r, PaPr + ToMe over (z, r); plus the proposer's own accuracy and PaPr's
// object-patch recall. Scenes are spread over worker threads (one single-threaded engine each).
// Writes <out>/eval.md (tables), <out>/eval.png (accuracy vs. GMACs, Pareto front marked) and
// <out>/eval.json (every number), and prints the tables.
import { writeOutputFile } from "../src/cli/files.ts";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { encodePng } from "../src/image/encode.ts";
import {
  EvalTotals,
  accuracyAt,
  paretoFront,
  settingName,
  type EvalSetting,
  type SceneResult,
} from "../src/eval/scene_eval.ts";
import { keepCount } from "../src/papr/ranking.ts";
import { lineChart, type Series } from "../src/plot/chart.ts";
import { startWorker } from "../src/tensor/workers/pool_node.ts";
import { loadModelDir } from "../src/cli/files.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../src/models/default_weights_node.ts";
import { availableBackends } from "../src/tensor/backend.ts";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "2000" },
    z: { type: "string", default: "1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1" },
    "tome-r": { type: "string", default: "8,24,40" },
    "papr-tome-z": { type: "string", default: "0.5,0.3,0.2" },
    "papr-tome-r": { type: "string", default: "8,16" },
    workers: { type: "string", default: String(availableParallelism()) },
    backbone: { type: "string", default: DEFAULT_BACKBONE_DIR },
    proposer: { type: "string", default: DEFAULT_PROPOSER_DIR },
    backend: { type: "string", default: availableBackends().includes("wasm") ? "wasm" : "js" }, // in every worker
    out: { type: "string", default: "docs/eval" },
    "report-every": { type: "string", default: "200" }, // scenes between partial reports
  },
});
const list = (s: string) => (s.trim() === "" ? [] : s.split(",").map(Number));
const numScenes = Number(values.scenes);
const numWorkers = Math.max(1, Math.min(Number(values.workers), numScenes));
const zs = list(values.z);
const tomeRs = list(values["tome-r"]);
const paprTomeZs = list(values["papr-tome-z"]);
const paprTomeRs = list(values["papr-tome-r"]);
for (const [name, ok] of [
  ["--scenes", Number.isInteger(numScenes) && numScenes > 0],
  ["--workers", Number.isInteger(numWorkers)],
  ["--backend", (availableBackends() as string[]).includes(values.backend)],
  ["--z", zs.every((z) => z > 0 && z <= 1)],
  ["--tome-r", tomeRs.every((r) => Number.isInteger(r) && r > 0)],
  ["--papr-tome-z", paprTomeZs.every((z) => z > 0 && z < 1)],
  ["--papr-tome-r", paprTomeRs.every((r) => Number.isInteger(r) && r > 0)],
] as const) {
  if (!ok) throw new Error(`eval: bad ${name} value`);
}

// The backbone's token counts (N patches, P prefix tokens: 2 for a distilled DeiT) for the tables.
const backbone = loadModelDir(resolve(values.backbone), "backbone");
if (backbone.family !== "vit") throw new Error(`eval: expected a ViT in ${values.backbone}`);
const { numPatches: N, numPrefixTokens: P } = backbone.vit.config;

const SEEDS = [0, 1, 2];
const settings: EvalSetting[] = [
  ...zs.flatMap((z): EvalSetting[] => [
    { method: "papr", z },
    ...SEEDS.map((seed): EvalSetting => ({ method: "random", z, seed })),
    { method: "centre", z },
    { method: "attention", z },
    { method: "oracle", z },
  ]),
  ...tomeRs.map((r): EvalSetting => ({ method: "tome", r })),
  ...paprTomeRs.flatMap((r) => paprTomeZs.map((z): EvalSetting => ({ method: "papr+tome", z, r }))),
];
const totals = new EvalTotals(settings, zs);

// ---- run: scene s goes to worker s mod W --------------------------------------------------------
const start = performance.now();
await Promise.all(
  Array.from(
    { length: numWorkers },
    (_, w) =>
      new Promise<void>((done, fail) => {
        const scenes = Array.from({ length: numScenes }, (_, s) => s).filter((s) => s % numWorkers === w);
        const worker = startWorker(new URL("./eval_worker.ts", import.meta.url), {
          backboneDir: resolve(values.backbone),
          proposerDir: resolve(values.proposer),
          backend: values.backend,
          scenes,
          settings,
          recallZs: zs,
        });
        worker.on("error", fail);
        worker.on("message", (m: SceneResult | "done") => {
          if (m === "done") return done();
          totals.add(m);
          if (totals.scenes % Number(values["report-every"]) === 0 && totals.scenes < numScenes)
            writeReport((performance.now() - start) / 1000);
          if (totals.scenes % 20 === 0 || totals.scenes === numScenes) {
            const elapsed = (performance.now() - start) / 1000;
            process.stderr.write(
              `  ${totals.scenes}/${numScenes} scenes, ${elapsed.toFixed(0)} s, ETA ${((elapsed / totals.scenes) * (numScenes - totals.scenes)).toFixed(0)} s\n`,
            );
          }
        });
      }),
  ),
);
writeReport((performance.now() - start) / 1000, true);

// ---- tables and plot (also written every --report-every scenes, marked partial, while the run goes on) ----------
function writeReport(seconds: number, final = false): void {
  const n = totals.scenes;
  const at = (s: EvalSetting) => totals.indexOf(s);
  const acc = (s: EvalSetting) => totals.accuracy(at(s));
  const gmacs = (s: EvalSetting) => totals.meanMacs(at(s)) / 1e9;
  const unprunedGmacs = gmacs({ method: "centre", z: 1 });
  const f1 = (v: number) => v.toFixed(1);
  const f3 = (v: number) => v.toFixed(3);
  const randomMean = (z: number) =>
    SEEDS.reduce((sum, seed) => sum + acc({ method: "random", z, seed }), 0) / SEEDS.length;

  type Curve = {
    name: string;
    points: { macs: number; accuracy: number; label: string }[];
    dashed?: boolean;
    inFront: boolean;
  };
  const patchCurve = (name: string, method: "papr" | "centre" | "attention" | "oracle") => ({
    name,
    points: zs.map((z) => ({ macs: gmacs({ method, z }), accuracy: acc({ method, z }), label: `${method} z=${z}` })),
  });
  const curves: Curve[] = [
    { ...patchCurve("PaPr", "papr"), inFront: true },
    {
      name: "random (3 seeds)",
      points: zs.map((z) => ({
        macs: gmacs({ method: "random", z, seed: 0 }),
        accuracy: randomMean(z),
        label: `random z=${z}`,
      })),
      dashed: true,
      inFront: true,
    },
    { ...patchCurve("centre prior", "centre"), inFront: true },
    { ...patchCurve("attention pruning", "attention"), inFront: true },
    { ...patchCurve("oracle box", "oracle"), dashed: true, inFront: false },
    ...(tomeRs.length
      ? [
          {
            name: "ToMe",
            inFront: true,
            points: [
              { macs: unprunedGmacs, accuracy: acc({ method: "centre", z: 1 }), label: "tome r=0" },
              ...tomeRs.map((r) => ({
                macs: gmacs({ method: "tome", r }),
                accuracy: acc({ method: "tome", r }),
                label: `tome r=${r}`,
              })),
            ],
          },
        ]
      : []),
    ...paprTomeRs.map((r) => ({
      name: `PaPr+ToMe r=${r}`,
      inFront: true,
      points: paprTomeZs.map((z) => ({
        macs: gmacs({ method: "papr+tome", z, r }),
        accuracy: acc({ method: "papr+tome", z, r }),
        label: `papr+tome z=${z} r=${r}`,
      })),
    })),
  ];
  const front = paretoFront(curves.filter((c) => c.inFront).flatMap((c) => c.points));

  const lines = [
    ...(final
      ? []
      : [`**PARTIAL**: ${n} of ${numScenes} scenes done after ${seconds.toFixed(0)} s (the run goes on).`, ""]),
    `Held-out scenes: ${n} (test split 0..${final ? n - 1 : numScenes - 1}${final ? "" : ", part"}). Unpruned ViT: ${f1(acc({ method: "centre", z: 1 }))}% top-1 at ${f3(unprunedGmacs)} GMACs; ` +
      `proposer alone: ${f1((100 * totals.proposerCorrect) / n)}% top-1.`,
    `One standard error of a top-1 near 50% over ${n} scenes: ${f1(100 * Math.sqrt(0.25 / n))} points.`,
    "",
    "| z | tokens/block | GMACs PaPr (with proposer) | GMACs others | PaPr | random (mean of 3 seeds) | centre | attention pruning (GMACs) | oracle (box) | PaPr object-patch recall |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...zs.map(
      (z, zi) =>
        `| ${z} | ${P + keepCount(z, N, P)} | ${f3(gmacs({ method: "papr", z }))} | ${f3(gmacs({ method: "centre", z }))} | ${f1(acc({ method: "papr", z }))} | ` +
        `${f1(randomMean(z))} (${SEEDS.map((seed) => f1(acc({ method: "random", z, seed }))).join(" / ")}) | ${f1(acc({ method: "centre", z }))} | ` +
        `${f1(acc({ method: "attention", z }))} (${f3(gmacs({ method: "attention", z }))}) | ${f1(acc({ method: "oracle", z }))} | ${f1((100 * totals.recall[zi]) / n)} |`,
    ),
    "",
    "| token merging | GMACs | % of unpruned MACs | top-1 |",
    "|---|---:|---:|---:|",
    ...settings
      .filter((s) => s.method === "tome" || s.method === "papr+tome")
      .map((s) => `| ${settingName(s)} | ${f3(gmacs(s))} | ${f1((100 * gmacs(s)) / unprunedGmacs)} | ${f1(acc(s))} |`),
    "",
    "Top-1 at a fixed cost (linear interpolation between a method's two nearest settings; - = out of its range):",
    "",
    `| method | at 50% of unpruned MACs (${f3(0.5 * unprunedGmacs)} G) | at 30% (${f3(0.3 * unprunedGmacs)} G) |`,
    "|---|---:|---:|",
    ...curves.map(
      (c) =>
        `| ${c.name} | ${[0.5, 0.3]
          .map((f) => {
            const a = accuracyAt(c.points, f * unprunedGmacs);
            return a === null ? "-" : f1(a);
          })
          .join(" | ")} |`,
    ),
    "",
    `Pareto front (oracle excluded): ${front.map((p) => `${p.label} (${f3(p.macs)} G, ${f1(p.accuracy)}%)`).join(", ")}.`,
    "",
    `Wall time: ${seconds.toFixed(0)} s, ${numWorkers} worker threads (${values.backend} backend) on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}).`,
  ];

  writeOutputFile(join(values.out, "eval.md"), lines.join("\n") + "\n");
  writeOutputFile(
    join(values.out, "eval.json"),
    JSON.stringify(
      {
        scenes: n,
        seconds,
        workers: numWorkers,
        proposerAccuracy: (100 * totals.proposerCorrect) / n,
        recall: zs.map((z, zi) => ({ z, recall: (100 * totals.recall[zi]) / n })),
        settings: settings.map((s, i) => ({
          ...s,
          name: settingName(s),
          accuracy: totals.accuracy(i),
          gmacs: totals.meanMacs(i) / 1e9,
        })),
      },
      null,
      1,
    ) + "\n",
  );
  if (final) console.log(lines.join("\n"));

  const series: Series[] = curves.map((c) => ({
    name: c.name,
    points: c.points.map((p) => ({ x: p.macs, y: p.accuracy })),
    dashed: c.dashed,
  }));
  const chart = lineChart(series, {
    title: `Fashion-MNIST scenes, ${n} held out (ringed: Pareto front)`,
    xLabel: "GMACs per image",
    yLabel: "top-1 %",
    highlight: front.map((p) => ({ x: p.macs, y: p.accuracy })),
    width: 900,
    height: 560,
  });
  writeOutputFile(join(values.out, "eval.png"), encodePng(chart.data, chart.width, chart.height));
  console.log(
    `wrote ${join(values.out, "eval.md")}, eval.png and eval.json${final ? "" : ` (partial: ${totals.scenes} scenes)`}`,
  );
}
