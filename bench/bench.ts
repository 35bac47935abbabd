// npm run bench (from the repository root): papr-ts's two backends (js: plain JS kernels; wasm:
// WebAssembly SIMD kernels; each on 1 and N threads) against ONNX Runtime Node, ONNX Runtime Web
// (WASM SIMD) and TF.js (cpu, wasm) on DeiT-Tiny / DeiT-Small with seeded weights, unpruned and PaPr
// at z = 0.7, 0.5, 0.3 with the MobileNetV3 proposer; and papr-ts alone on the default pair
// (src/models/default_weights_node.ts). Every case runs once per round, rounds
// interleaved, and the median is reported. Also: per-stage GFLOP/s (proposer, blocks), PaPr's
// wall-clock speed-up against its MAC ratio, GEMM GFLOP/s on DeiT-Small's linear shapes, typed-array
// bytes allocated per forward, peak RSS, and the issue's targets. With --browser, the papr-ts cases
// and GEMM shapes again inside headless Chromium (bench/browser.ts: the bench page, cross-origin
// isolated, the engine in a Web Worker). Writes bench/RESULTS.md and prints it.
//
//   npm run bench -- --rounds 5 --models tiny,small --proposer small --threads 2
//                    --peers ort-node,ort-web,tfjs-cpu,tfjs-wasm   (default: all; "none": papr-ts only)
//                    --browser [--browser-rounds 3]
//                    --engines js-1T,js-2T,wasm-1T,wasm-2T         (papr-ts engines; default: all)
import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { createVit, vitConfig, vitSpec, type Vit } from "../src/models/vit.ts";
import { createMobileNetV3, mobilenetV3Spec, type MobileNetV3Variant } from "../src/models/mobilenetv3.ts";
import { syntheticWeights } from "../src/models/synthetic.ts";
import { syntheticTensor } from "../src/tensor/random.ts";
import { linear } from "../src/tensor/linear.ts";
import { declareConstant } from "../src/tensor/constants.ts";
import { Papr, type PaprResult } from "../src/papr/papr.ts";
import { availableBackends, setBackend, setThreads, stopThreads, type BackendName } from "../src/tensor/backend.ts";
import { wasmSupport } from "../src/tensor/wasm/runtime.ts";
import { loadModelDir } from "../src/cli/files.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../src/models/default_weights_node.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { browserBench, type BrowserResults } from "./browser.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const args = parseArgs(process.argv.slice(2));
const ROUNDS = Number(args.rounds ?? 5);
const SIZES = (args.models ?? "tiny,small").split(",");
const PROPOSER = (args.proposer ?? "small") as MobileNetV3Variant;
const THREADS = Number(args.threads ?? availableParallelism());
const ALL_PEERS = ["ort-node", "ort-web", "tfjs-cpu", "tfjs-wasm"];
const PEERS = args.peers === "none" ? [] : (args.peers ?? ALL_PEERS.join(",")).split(",");
const ZS = [1, 0.7, 0.5, 0.3]; // 1 = unpruned
const ENGINES = args.engines === undefined ? null : args.engines.split(","); // papr-ts engines: js-1T, js-2T, wasm-1T
const SCENES = "scenes"; // the default pair's row label
const BROWSER = args.browser === "true";
const BROWSER_ROUNDS = Number(args["browser-rounds"] ?? ROUNDS);

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) continue;
    const next = argv[i + 1];
    out[argv[i].slice(2)] = next === undefined || next.startsWith("--") ? "true" : argv[++i]; // --browser: a switch
  }
  return out;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function cpuModel(): string {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  return /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
}

// ---- engines ---------------------------------------------------------------------------------

/** One papr-ts configuration: backend and thread count. */
interface Ours {
  engine: string;
  backend: BackendName;
  threads: number;
}

const ours: Ours[] = [
  { engine: "js 1T", backend: "js" as const, threads: 1 },
  ...(THREADS > 1 ? [{ engine: `js ${THREADS}T`, backend: "js" as const, threads: THREADS }] : []),
  ...(availableBackends().includes("wasm") ? [{ engine: "wasm 1T", backend: "wasm" as const, threads: 1 }] : []),
  ...(availableBackends().includes("wasm") && THREADS > 1
    ? [{ engine: `wasm ${THREADS}T`, backend: "wasm" as const, threads: THREADS }]
    : []),
].filter((o) => ENGINES === null || ENGINES.includes(o.engine.replace(" ", "-"))); // --engines js-1T,wasm-1T

async function use(o: { backend: BackendName; threads: number }): Promise<void> {
  setBackend(o.backend);
  await setThreads(o.threads);
}

interface Case {
  size: string; // tiny | small | scenes
  z: number;
  engine: string;
  run: () => Promise<void> | void;
  before?: () => Promise<void>; // untimed: switch threads / backend
  stages?: { proposer: number[]; blocks: number[] }; // papr-ts: per-run stage times
}

const image = syntheticTensor("bench.image", [1, 3, 224, 224], 1);

interface ModelInfo {
  macs: Map<number, PaprResult["macs"]>; // z -> MACs of the forward (proposer included)
  tokens: Map<number, number>;
}

// ---- peers (loaded only when asked for) ------------------------------------------------------

type OrtModule = typeof import("onnxruntime-node") | typeof import("onnxruntime-web");
type Session = { run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>> };

function ensureOnnx(): void {
  const needed = SIZES.flatMap((s) => [`deit_${s}.onnx`, `deit_${s}_pruned.onnx`]).concat(
    `mobilenetv3_${PROPOSER}.onnx`,
  );
  if (needed.every((f) => existsSync(join(HERE, "models", f)))) return;
  console.log("exporting the ONNX peers with /usr/bin/python3 bench/export_onnx.py ...");
  const run = spawnSync("/usr/bin/python3", [join(HERE, "export_onnx.py")], { stdio: "inherit" });
  if (run.status !== 0)
    throw new Error("bench/export_onnx.py failed (needs Debian's python3-torch and python3-torchvision)");
}

async function peerCases(
  size: string,
  config: ReturnType<typeof vitConfig>,
  weights: Map<string, Tensor>,
  proposerWeights: Map<string, Tensor>,
  keptByZ: Map<number, Int32Array>,
  agreement: string[],
  referenceLogits: Map<number, Float32Array>,
): Promise<Case[]> {
  const cases: Case[] = [];
  const modelFile = (f: string) => join(HERE, "models", f);
  const ortOptions = (threads: number) => ({
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential" as const,
    graphOptimizationLevel: "all" as const,
  });
  const ortCases = async (ort: OrtModule, engine: string, options: object) => {
    const full = (await ort.InferenceSession.create(modelFile(`deit_${size}.onnx`), options)) as unknown as Session;
    const pruned = (await ort.InferenceSession.create(
      modelFile(`deit_${size}_pruned.onnx`),
      options,
    )) as unknown as Session;
    const prop = (await ort.InferenceSession.create(
      modelFile(`mobilenetv3_${PROPOSER}.onnx`),
      options,
    )) as unknown as Session;
    for (const z of ZS) {
      const keep = BigInt64Array.from(keptByZ.get(z)!, (i) => BigInt(i));
      const img = () => new ort.Tensor("float32", image.data, [1, 3, 224, 224]);
      const run = async () => {
        if (z === 1) return full.run({ image: img() });
        await prop.run({ image: img() });
        return pruned.run({ image: img(), keep: new ort.Tensor("int64", keep, [keep.length]) });
      };
      cases.push({ size, z, engine, run: async () => void (await run()) });
      if (engine === "ORT-node 1T") {
        const out = await run();
        agreement.push(
          `DeiT-${size} z=${z}: ORT-node vs papr-ts js ${relError(referenceLogits.get(z)!, out.out.data as Float32Array).toExponential(1)}`,
        );
      }
    }
  };
  if (PEERS.includes("ort-node")) {
    const ortNode = await import("onnxruntime-node");
    await ortCases(ortNode, "ORT-node 1T", ortOptions(1));
    if (THREADS > 1) await ortCases(ortNode, `ORT-node ${THREADS}T`, ortOptions(THREADS));
  }
  if (PEERS.includes("ort-web")) {
    const ortWeb = await import("onnxruntime-web");
    ortWeb.env.wasm.numThreads = 1;
    await ortCases(ortWeb, "ORT-web 1T", { graphOptimizationLevel: "all" });
  }
  const tfBackends = PEERS.filter((p) => p.startsWith("tfjs-")).map((p) => p.slice(5));
  if (tfBackends.length > 0) {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-cpu");
    const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
    setWasmPaths(join(HERE, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + "/");
    const { tfMobileNetV3, tfVit } = await import("./tfjs_models.ts");
    for (const backend of tfBackends) {
      await tf.setBackend(backend);
      const vit = tfVit(tf, config, weights);
      const proposer = tfMobileNetV3(tf, { variant: PROPOSER }, proposerWeights);
      const tfImage = tf.tensor4d(image.data, [1, 3, 224, 224]);
      for (const z of ZS) {
        const rows = Int32Array.from([0, ...Array.from(keptByZ.get(z)!, (i) => i + 1)]);
        cases.push({
          size,
          z,
          engine: `TF.js ${backend}`,
          before: async () => void (await tf.setBackend(backend)),
          run: async () => {
            const rowTensor = z === 1 ? null : tf.tensor1d(rows, "int32");
            const features = z === 1 ? null : proposer(tfImage);
            const logits = vit(tfImage, rowTensor);
            await logits.data();
            if (features) await features.data();
            tf.dispose([logits, features, rowTensor].filter((t): t is NonNullable<typeof t> => t !== null));
          },
        });
      }
    }
  }
  return cases;
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const loadStart = loadavg();
  const simd = wasmSupport();
  console.log(
    `${cpuModel()}, ${availableParallelism()} cores, Node ${process.version}; wasm SIMD ${simd.simd}, relaxed SIMD ${simd.relaxed}; peers: ${PEERS.join(", ") || "none"}`,
  );
  if (PEERS.some((p) => p.startsWith("ort-"))) ensureOnnx();

  const proposerConfig = { variant: PROPOSER };
  const proposerWeights = syntheticWeights(mobilenetV3Spec(proposerConfig));
  const proposer = createMobileNetV3(proposerConfig, proposerWeights);

  const cases: Case[] = [];
  const info = new Map<string, ModelInfo>();
  const agreement: string[] = [];

  const addOurs = (size: string, papr: Papr, input: Tensor) => {
    for (const z of ZS) {
      for (const o of ours) {
        const stages = { proposer: [] as number[], blocks: [] as number[] };
        cases.push({
          size,
          z,
          engine: o.engine,
          before: () => use(o),
          stages,
          run: () => {
            const r = papr.predict(input, { z });
            stages.proposer.push(r.timeMs.proposer);
            stages.blocks.push(r.timeMs.blocks.reduce((a, b) => a + b, 0));
          },
        });
      }
    }
  };

  for (const size of SIZES) {
    const config = vitConfig(`deit_${size}_patch16_224`);
    const weights = syntheticWeights(vitSpec(config));
    const vit: Vit = createVit(config, weights);
    const papr = new Papr(vit, proposer);
    const modelInfo: ModelInfo = { macs: new Map(), tokens: new Map() };
    const keptByZ = new Map<number, Int32Array>();
    const logits = new Map<number, Float32Array>();
    for (const z of ZS) {
      await use({ backend: "js", threads: 1 });
      const reference = papr.predict(image, { z });
      modelInfo.macs.set(z, reference.macs);
      modelInfo.tokens.set(z, reference.keptCount + vit.config.numPrefixTokens);
      keptByZ.set(z, Int32Array.from(reference.kept));
      logits.set(z, reference.logits.data);
      if (availableBackends().includes("wasm")) {
        await use({ backend: "wasm", threads: 1 });
        const fast = papr.predict(image, { z });
        const sameKept =
          fast.kept.length === reference.kept.length && fast.kept.every((k, i) => k === reference.kept[i]);
        agreement.push(
          `DeiT-${size} z=${z}: papr-ts wasm vs js ${relError(reference.logits.data, fast.logits.data).toExponential(1)}, kept indices ${sameKept ? "identical" : "DIFFERENT"}`,
        );
      }
    }
    info.set(size, modelInfo);
    addOurs(size, papr, image);
    cases.push(...(await peerCases(size, config, weights, proposerWeights, keptByZ, agreement, logits)));
  }

  // the default pair: papr-ts only (the peers have no export of it)
  const backbone = loadModelDir(DEFAULT_BACKBONE_DIR, "backbone");
  const sceneProposer = loadModelDir(DEFAULT_PROPOSER_DIR, "proposer");
  if (backbone.family !== "vit" || sceneProposer.family === "vit") throw new Error("weights/: unexpected default pair");
  const sceneSize = backbone.file.preprocess.inputSize;
  const sceneImage = syntheticTensor("bench.scene", [1, 3, sceneSize, sceneSize], 1);
  const scenePapr = new Papr(backbone.vit, sceneProposer.convnet);
  const sceneInfo: ModelInfo = { macs: new Map(), tokens: new Map() };
  for (const z of ZS) {
    await use({ backend: "js", threads: 1 });
    const r = scenePapr.predict(sceneImage, { z });
    sceneInfo.macs.set(z, r.macs);
    sceneInfo.tokens.set(z, r.keptCount + backbone.vit.config.numPrefixTokens);
  }
  info.set(SCENES, sceneInfo);
  addOurs(SCENES, scenePapr, sceneImage);

  // ---- run: warm-up, then rounds; every case once per round --------------------------------
  const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of cases) {
      if (c.before) await c.before();
      const t0 = performance.now();
      await c.run();
      const ms = performance.now() - t0;
      if (round > 0) times.get(c)!.push(ms);
      else if (c.stages) ((c.stages.proposer.length = 0), (c.stages.blocks.length = 0)); // round 0 warms up
    }
    console.log(`round ${round}/${ROUNDS} done (load ${loadavg()[0].toFixed(2)})`);
  }

  const gemm = await gemmRates();
  let browser: BrowserResults | null = null;
  if (BROWSER) {
    console.log("the same in headless Chromium (bench/browser.ts) ...");
    browser = await browserBench({
      sizes: SIZES,
      proposer: PROPOSER,
      zs: ZS,
      engines: ours.map((o) => ({ name: o.engine, backend: o.backend, threads: o.threads })),
      rounds: BROWSER_ROUNDS,
    });
  }
  const allocated = allocationPerForward();
  await use({ backend: "js", threads: 1 });
  stopThreads();
  const rss = (["js", "wasm"] as const)
    .filter((b) => availableBackends().includes(b))
    .map((b) => ({ backend: b, ...peakRss(b) }));
  const loadEnd = loadavg();

  // ---- report ---------------------------------------------------------------------------------
  const engines = [...new Set(cases.map((c) => c.engine))];
  const find = (size: string, z: number, engine: string) =>
    cases.find((c) => c.size === size && c.z === z && c.engine === engine);
  const ms = (size: string, z: number, engine: string) => {
    const c = find(size, z, engine);
    return c ? median(times.get(c)!) : NaN;
  };
  const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "—");
  const zName = (z: number) => (z === 1 ? "unpruned" : `PaPr z=${z}`);
  const modelName = (size: string) => (size === SCENES ? "default pair" : `DeiT-${size}`);
  const rowsOf = [...SIZES, SCENES];
  const lines: string[] = [];
  lines.push("# Benchmark results", "");
  lines.push(
    `Machine: ${cpuModel()}, ${availableParallelism()} cores, Node ${process.version}; WebAssembly SIMD ${simd.simd ? "yes" : "no"}, relaxed SIMD ${simd.relaxed ? "yes (fused multiply-add)" : "no (f32x4.mul + f32x4.add)"}. Load average at start ${loadStart.map((l) => l.toFixed(2)).join(" ")}, at end ${loadEnd.map((l) => l.toFixed(2)).join(" ")} (the machine is shared: numbers are noisy when the load exceeds the core count).`,
  );
  lines.push(
    `Median of ${ROUNDS} interleaved rounds after one warm-up round; one image (224x224 for DeiT; ${sceneSize}x${sceneSize} for the default pair ${relative(process.cwd(), DEFAULT_BACKBONE_DIR)} + ${relative(process.cwd(), DEFAULT_PROPOSER_DIR)}), DeiT with seeded synthetic weights; PaPr proposer MobileNetV3-${PROPOSER} for DeiT (included in every PaPr time, for the peers too; the peers get papr-ts's kept indices). papr-ts "js" = plain-JS kernels (the reference), "wasm" = WebAssembly SIMD kernels; ${THREADS}T = ${THREADS} threads (the calling one + worker threads; wasm: one instance per thread over one shared memory). Peers run: ${PEERS.join(", ") || "none"}.`,
    "",
  );
  lines.push("## Median milliseconds per image", "");
  lines.push(`| model | case | tokens | GMACs | ${engines.join(" | ")} |`);
  lines.push(`|---|---|---|---|${engines.map(() => "---:").join("|")}|`);
  for (const size of rowsOf) {
    for (const z of ZS) {
      lines.push(
        `| ${modelName(size)} | ${zName(z)} | ${info.get(size)!.tokens.get(z)} | ${(info.get(size)!.macs.get(z)!.total / 1e9).toFixed(3)} | ${engines.map((e) => fmt(ms(size, z, e))).join(" | ")} |`,
      );
    }
  }

  lines.push("", "## papr-ts per stage: median ms (GFLOP/s = 2 x MACs / time)", "");
  lines.push(`| model | case | ${ours.map((o) => `${o.engine} proposer | ${o.engine} blocks`).join(" | ")} |`);
  lines.push(`|---|---|${ours.map(() => "---:|---:").join("|")}|`);
  for (const size of rowsOf) {
    for (const z of ZS.filter((z) => z < 1)) {
      const m = info.get(size)!.macs.get(z)!;
      const blockMacs = m.blocks.reduce((a, b) => a + b, 0);
      const cells = ours.map((o) => {
        const st = find(size, z, o.engine)!.stages!;
        const p = median(st.proposer),
          b = median(st.blocks);
        return `${fmt(p)} (${fmt((2 * m.proposer) / p / 1e6, 2)}) | ${fmt(b)} (${fmt((2 * blockMacs) / b / 1e6, 2)})`;
      });
      lines.push(`| ${modelName(size)} | ${zName(z)} | ${cells.join(" | ")} |`);
    }
  }

  lines.push("", "## PaPr wall-clock against MACs: time(z) / time(unpruned) vs MACs(z) / MACs(unpruned)", "");
  lines.push(`| model | z | MAC ratio | ${ours.map((o) => `${o.engine} time ratio`).join(" | ")} |`);
  lines.push(`|---|---|---:|${ours.map(() => "---:").join("|")}|`);
  for (const size of rowsOf) {
    for (const z of ZS.filter((z) => z < 1)) {
      const macRatio = info.get(size)!.macs.get(z)!.total / info.get(size)!.macs.get(1)!.total;
      lines.push(
        `| ${modelName(size)} | ${z} | ${macRatio.toFixed(3)} | ${ours.map((o) => `${fmt(ms(size, z, o.engine) / ms(size, 1, o.engine), 3)} (${fmt(ms(size, z, o.engine) / ms(size, 1, o.engine) / macRatio, 2)}x)`).join(" | ")} |`,
      );
    }
  }

  const peers = engines.filter((e) => !ours.some((o) => o.engine === e));
  if (peers.length > 0) {
    lines.push("", "## Speed ratio of papr-ts to each peer (peer ms / papr-ts ms; > 1 = papr-ts faster)", "");
    const mine = ours.filter((o) => o.threads === 1);
    lines.push(
      `| model | case | ${mine.flatMap((o) => peers.map((p) => `${o.engine} vs ${p}`)).join(" | ")} |`,
      `|---|---|${mine.flatMap(() => peers.map(() => "---:")).join("|")}|`,
    );
    for (const size of SIZES) {
      for (const z of ZS) {
        const cells = mine.flatMap((o) => peers.map((p) => fmt(ms(size, z, p) / ms(size, z, o.engine), 2)));
        lines.push(`| DeiT-${size} | ${zName(z)} | ${cells.join(" | ")} |`);
      }
    }
  }

  lines.push(
    "",
    `## GEMM on DeiT-Small's linear shapes through linear() (197 tokens: qkv 384->1152, proj 384->384, fc1 384->1536 + GELU, fc2 1536->384)`,
    "",
  );
  lines.push(...gemmTable(gemm));

  lines.push("", "## Memory", "");
  lines.push(
    "Typed-array bytes allocated per forward (arrays created with a length or from values, or by slice / map / filter; views not counted; bench/alloc.ts, Papr.predict after a warm-up forward: activations come from the Papr's arena, src/tensor/arena.ts; what remains is the copied-out logits and final tokens and the small ranking arrays):",
    "",
  );
  lines.push("| model | case | backend | bytes allocated per forward |", "|---|---|---|---:|");
  for (const a of allocated) lines.push(`| ${a.model} | ${zName(a.z)} | ${a.backend} | ${a.bytes} |`);
  lines.push("");
  for (const r of rss)
    lines.push(
      `- DeiT-Small inference in a fresh \`node\` process running the built package (dist/) on ${r.backend}: peak RSS ${r.peakMb.toFixed(0)} MB; weights ${r.weightsMb.toFixed(0)} MB (wasm keeps a packed copy of the linear weights in its memory); target 2 x weights + 100 MB = ${(2 * r.weightsMb + 100).toFixed(0)} MB: ${r.peakMb <= 2 * r.weightsMb + 100 ? "met" : "not met"}.`,
    );
  lines.push("", "## Agreement", "", ...agreement.map((a) => `- ${a} (max |logit difference| / max |logit|)`));

  // ---- targets ----------------------------------------------------------------------------------
  const small = SIZES.includes("small") ? "small" : SIZES[0];
  const target = (ok: boolean, text: string) => `- [${ok ? "x" : " "}] ${text}`;
  const gemmWasm = gemm.find((g) => g.engine === "wasm 1T")?.gflops ?? NaN;
  const gemmWasmN = gemm.find((g) => g.engine === `wasm ${THREADS}T`)?.gflops ?? NaN;
  const wasm1 = ms(small, 1, "wasm 1T");
  const ortWeb1 = ms(small, 1, "ORT-web 1T");
  const wasmHalf = ms(small, 0.5, "wasm 1T");
  lines.push("", `## Targets (DeiT-${small} unless named)`, "");
  lines.push(target(gemmWasm >= 20, `wasm GEMM on DeiT-Small's shapes >= 20 GFLOP/s, 1 thread: ${fmt(gemmWasm, 2)}`));
  if (THREADS > 1)
    lines.push(
      target(
        gemmWasmN >= 1.8 * gemmWasm,
        `wasm GEMM on ${THREADS} threads >= 1.8x 1 thread: ${fmt(gemmWasmN, 2)} GFLOP/s = ${fmt(gemmWasmN / gemmWasm, 2)}x`,
      ),
    );
  lines.push(
    target(wasm1 < ortWeb1, `unpruned, wasm 1T (${fmt(wasm1)} ms) faster than ORT-web 1T (${fmt(ortWeb1)} ms)`),
  );
  lines.push(
    target(
      2 * wasmHalf <= ortWeb1,
      `PaPr z=0.5, wasm 1T (${fmt(wasmHalf)} ms) at least 2x faster than ORT-web 1T unpruned: ${fmt(ortWeb1 / wasmHalf, 2)}x`,
    ),
  );
  for (const size of rowsOf) {
    const st = find(size, 0.5, "wasm 1T")?.stages;
    if (!st) continue;
    const m = info.get(size)!.macs.get(0.5)!;
    const proposerRate = (2 * m.proposer) / median(st.proposer) / 1e6;
    lines.push(
      target(
        proposerRate >= 0.5 * gemmWasm,
        `${modelName(size)} proposer on wasm >= 50% of the GEMM GFLOP/s: ${fmt(proposerRate, 2)} = ${fmt((100 * proposerRate) / gemmWasm, 0)}%`,
      ),
    );
  }
  for (const size of rowsOf) {
    for (const z of [0.5, 0.3]) {
      const macRatio = info.get(size)!.macs.get(z)!.total / info.get(size)!.macs.get(1)!.total;
      const timeRatio = ms(size, z, "wasm 1T") / ms(size, 1, "wasm 1T");
      lines.push(
        target(
          timeRatio <= 1.15 * macRatio,
          `${modelName(size)} z=${z} on wasm: time ratio ${fmt(timeRatio, 3)} <= 1.15 x MAC ratio ${macRatio.toFixed(3)} (${fmt(timeRatio / macRatio, 2)}x)`,
        ),
      );
    }
  }
  if (browser !== null)
    lines.push("", ...browserSection(browser, info, ROUNDS === BROWSER_ROUNDS ? ROUNDS : BROWSER_ROUNDS));
  const text = lines.join("\n") + "\n";
  writeFileSync(join(HERE, "RESULTS.md"), text);
  console.log("\n" + text);
  process.exit(0); // ORT / TF.js keep handles open
}

/** The GEMM table: per engine ms, GFLOP/s and the speed-up over 1 thread of the same backend. */
function gemmTable(gemm: { engine: string; ms: number; gflops: number }[]): string[] {
  const one = (engine: string) => gemm.find((g) => g.engine === engine.replace(/\d+T$/, "1T"))?.gflops ?? NaN;
  return [
    "| engine | ms (all four) | GFLOP/s | x 1 thread |",
    "|---|---:|---:|---:|",
    ...gemm.map(
      (g) => `| ${g.engine} | ${g.ms.toFixed(1)} | ${g.gflops.toFixed(2)} | ${(g.gflops / one(g.engine)).toFixed(2)} |`,
    ),
  ];
}

/** The --browser section: the same papr-ts cases and GEMM shapes in headless Chromium. */
function browserSection(b: BrowserResults, info: Map<string, ModelInfo>, rounds: number): string[] {
  const engines = [...new Set(b.forward.map((f) => f.engine))];
  const at = (size: string, z: number, engine: string) =>
    b.forward.find((f) => f.size === size && f.z === z && f.engine === engine);
  const zName = (z: number) => (z === 1 ? "unpruned" : `PaPr z=${z}`);
  const lines = [
    "## In the browser (--browser: headless Chromium, the bench page's Web Worker)",
    "",
    `${b.userAgent}; ${b.cores} cores (navigator.hardwareConcurrency); crossOriginIsolated ${b.crossOriginIsolated}. Median of ${rounds} interleaved rounds after a warm-up round; same models, weights and image as above; "proposer" and "blocks" are the stage times of the same runs.`,
    "",
    `| model | case | GMACs | ${engines.map((e) => `${e} ms (proposer / blocks)`).join(" | ")} |`,
    `|---|---|---:|${engines.map(() => "---:").join("|")}|`,
  ];
  for (const size of [...new Set(b.forward.map((f) => f.size))]) {
    for (const z of [...new Set(b.forward.map((f) => f.z))]) {
      const cells = engines.map((e) => {
        const f = at(size, z, e)!;
        return `${f.ms.toFixed(1)} (${f.proposerMs.toFixed(1)} / ${f.blocksMs.toFixed(1)})`;
      });
      lines.push(
        `| DeiT-${size} | ${zName(z)} | ${(info.get(size)!.macs.get(z)!.total / 1e9).toFixed(3)} | ${cells.join(" | ")} |`,
      );
    }
  }
  lines.push("", "GEMM on DeiT-Small's linear shapes in the browser:", "", ...gemmTable(b.gemm));
  const wasm1 = b.gemm.find((g) => g.engine === "wasm 1T")?.gflops ?? NaN;
  const wasmN = b.gemm.find((g) => g.engine === `wasm ${THREADS}T`)?.gflops ?? NaN;
  const half = at("small", 0.5, `wasm ${THREADS}T`)?.ms ?? NaN;
  lines.push(
    "",
    `- [${half < 200 ? "x" : " "}] browser, wasm ${THREADS}T: DeiT-Small with PaPr z=0.5 under 200 ms: ${half.toFixed(1)} ms`,
    `- [${wasmN >= 1.8 * wasm1 ? "x" : " "}] browser, wasm GEMM on ${THREADS} threads >= 1.8x 1 thread: ${wasmN.toFixed(2)} GFLOP/s = ${(wasmN / wasm1).toFixed(2)}x`,
  );
  return lines;
}

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return diff / scale;
}

/** DeiT-Small's four linear shapes at 197 tokens through linear(), interleaved over the papr-ts engines. */
async function gemmRates(): Promise<{ engine: string; ms: number; gflops: number }[]> {
  const shapes = [
    [384, 1152, "none"],
    [384, 384, "none"],
    [384, 1536, "gelu"],
    [1536, 384, "none"],
  ] as const;
  const layers = shapes.map(([inF, outF, activation], i) => ({
    x: syntheticTensor(`gemm.x${i}`, [197, inF], 1),
    w: syntheticTensor(`gemm.w${i}`, [outF, inF], 0.05),
    b: syntheticTensor(`gemm.b${i}`, [outF], 0.05),
    activation,
  }));
  declareConstant(...layers.flatMap((l) => [l.w, l.b])); // weights, as a model declares its own
  const flops = 2 * 197 * shapes.reduce((s, [i, o]) => s + i * o, 0);
  const samples = new Map<string, number[]>(ours.map((o) => [o.engine, []]));
  for (let round = 0; round <= 3 * ROUNDS; round++) {
    for (const o of ours) {
      await use(o);
      const t0 = performance.now();
      for (const l of layers) linear(l.x, l.w, l.b, { activation: l.activation });
      if (round > 0) samples.get(o.engine)!.push(performance.now() - t0);
    }
  }
  return ours.map((o) => {
    const ms = median(samples.get(o.engine)!);
    return { engine: o.engine, ms, gflops: flops / ms / 1e6 };
  });
}

/** Typed-array bytes allocated per forward, per backend (bench/alloc.ts in a fresh process). */
function allocationPerForward(): { model: string; z: number; backend: BackendName; bytes: number }[] {
  return (["js", "wasm"] as const)
    .filter((b) => availableBackends().includes(b))
    .flatMap((backend) => {
      const run = spawnSync(process.execPath, ["--import", "tsx", join(HERE, "alloc.ts"), backend], {
        encoding: "utf8",
        cwd: HERE,
      });
      const found = [...run.stdout.matchAll(/alloc model=(.+) z=([\d.]+) bytes=(\d+)/g)];
      if (found.length === 0) throw new Error(`bench/alloc.ts failed: ${run.stdout}\n${run.stderr}`);
      return found.map((m) => ({ model: m[1], z: Number(m[2]), backend, bytes: Number(m[3]) }));
    });
}

/**
 * Peak RSS of a DeiT-Small inference in a fresh process (bench/rss.mjs, plain node on the built dist/:
 * `npm run bench` builds it first) on `backend`, one thread.
 */
function peakRss(backend: BackendName): { peakMb: number; weightsMb: number } {
  const run = spawnSync(process.execPath, [join(HERE, "rss.mjs"), "1", backend], {
    encoding: "utf8",
    cwd: HERE,
  });
  const match = /peakRssMb=([\d.]+) weightsMb=([\d.]+)/.exec(run.stdout);
  if (!match) throw new Error(`bench/rss.mjs failed: ${run.stdout}\n${run.stderr}`);
  return { peakMb: Number(match[1]), weightsMb: Number(match[2]) };
}

await main();
