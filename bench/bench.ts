// npm run bench (from the repository root): papr-ts against ONNX Runtime Node, ONNX Runtime Web (WASM)
// and TF.js (cpu, wasm) on DeiT-Tiny / DeiT-Small with seeded weights, unpruned and PaPr at
// z = 0.7, 0.5, 0.3 with the MobileNetV3 proposer, one thread and all cores. Every case runs once per
// round, rounds interleaved, and the median is reported. Also: GEMM GFLOP/s on DeiT-Small's linear
// shapes, peak RSS of a DeiT-Small inference (child process), and the issue's targets.
// Writes bench/RESULTS.md and prints it.
//
//   npm run bench -- --rounds 5 --models tiny,small --proposer small --threads 2
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createVit, vitConfig, vitSpec, type Vit } from "../src/models/vit.ts";
import { createMobileNetV3, mobilenetV3Spec, type MobileNetV3Variant } from "../src/models/mobilenetv3.ts";
import { syntheticWeights } from "../src/models/synthetic.ts";
import { syntheticTensor } from "../src/tensor/random.ts";
import { linear } from "../src/tensor/linear.ts";
import { Papr } from "../src/papr/papr.ts";
import { setThreads, stopThreads } from "../src/tensor/workers/pool.ts";
import { tfMobileNetV3, tfVit } from "./tfjs_models.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const args = parseArgs(process.argv.slice(2));
const ROUNDS = Number(args.rounds ?? 5);
const SIZES = (args.models ?? "tiny,small").split(",");
const PROPOSER = (args.proposer ?? "small") as MobileNetV3Variant;
const THREADS = Number(args.threads ?? availableParallelism());
const ZS = [1, 0.7, 0.5, 0.3]; // 1 = unpruned

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith("--")) out[argv[i].slice(2)] = argv[++i];
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function machine(): string {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  return `${model}, ${availableParallelism()} cores, Node ${process.version}, ONNX Runtime ${ortNode.env.versions.node ?? "?"}, TF.js ${tf.version_core}`;
}

// ---- models ----------------------------------------------------------------------------------

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

interface Case {
  size: string;
  z: number;
  engine: string; // column of the table
  run: () => Promise<void> | void;
  before?: () => Promise<void>; // untimed: switch threads / backend
}

const image = syntheticTensor("bench.image", [1, 3, 224, 224], 1);

async function main(): Promise<void> {
  const loadStart = loadavg();
  console.log(`${machine()}; load average ${loadStart.map((l) => l.toFixed(2)).join(" ")}`);
  ensureOnnx();
  ortWeb.env.wasm.numThreads = 1;
  setWasmPaths(join(HERE, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + "/");
  await tf.setBackend("cpu");

  const proposerConfig = { variant: PROPOSER };
  const proposerWeights = syntheticWeights(mobilenetV3Spec(proposerConfig));
  const proposer = createMobileNetV3(proposerConfig, proposerWeights);
  const ortOptions = (threads: number) => ({
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential" as const,
    graphOptimizationLevel: "all" as const,
  });
  const modelFile = (f: string) => join(HERE, "models", f);

  const cases: Case[] = [];
  const macs = new Map<string, number>(); // `${size}/${z}` -> MACs (proposer included)
  const tokens = new Map<string, number>();
  const agreement: string[] = [];
  const tfBackends = ["cpu", "wasm"];

  for (const size of SIZES) {
    const config = vitConfig(`deit_${size}_patch16_224`);
    const weights = syntheticWeights(vitSpec(config));
    const vit: Vit = createVit(config, weights);
    const papr = new Papr(vit, proposer);
    const ortSessions = {
      node1: await ortNode.InferenceSession.create(modelFile(`deit_${size}.onnx`), ortOptions(1)),
      nodeN: await ortNode.InferenceSession.create(modelFile(`deit_${size}.onnx`), ortOptions(THREADS)),
      prunedNode1: await ortNode.InferenceSession.create(modelFile(`deit_${size}_pruned.onnx`), ortOptions(1)),
      prunedNodeN: await ortNode.InferenceSession.create(modelFile(`deit_${size}_pruned.onnx`), ortOptions(THREADS)),
      proposerNode1: await ortNode.InferenceSession.create(modelFile(`mobilenetv3_${PROPOSER}.onnx`), ortOptions(1)),
      proposerNodeN: await ortNode.InferenceSession.create(
        modelFile(`mobilenetv3_${PROPOSER}.onnx`),
        ortOptions(THREADS),
      ),
      web: await ortWeb.InferenceSession.create(modelFile(`deit_${size}.onnx`), { graphOptimizationLevel: "all" }),
      prunedWeb: await ortWeb.InferenceSession.create(modelFile(`deit_${size}_pruned.onnx`), {
        graphOptimizationLevel: "all",
      }),
      proposerWeb: await ortWeb.InferenceSession.create(modelFile(`mobilenetv3_${PROPOSER}.onnx`), {
        graphOptimizationLevel: "all",
      }),
    };
    const tfModels = new Map<
      string,
      { vit: ReturnType<typeof tfVit>; proposer: ReturnType<typeof tfMobileNetV3>; image: tf.Tensor4D }
    >();
    for (const backend of tfBackends) {
      await tf.setBackend(backend);
      tfModels.set(backend, {
        vit: tfVit(tf, config, weights),
        proposer: tfMobileNetV3(tf, proposerConfig, proposerWeights),
        image: tf.tensor4d(image.data, [1, 3, 224, 224]),
      });
    }
    await tf.setBackend("cpu");

    for (const z of ZS) {
      const key = `${size}/${z}`;
      const reference = papr.predict(image, { z });
      macs.set(key, reference.macs.total);
      tokens.set(key, reference.keptCount + vit.config.numPrefixTokens);
      const keep = BigInt64Array.from(reference.kept, (i) => BigInt(i));
      const rows = Int32Array.from([0, ...Array.from(reference.kept, (i) => i + 1)]);
      const ortImage = (ort: typeof ortNode | typeof ortWeb) => new ort.Tensor("float32", image.data, [1, 3, 224, 224]);
      const ortKeep = (ort: typeof ortNode | typeof ortWeb) => new ort.Tensor("int64", keep, [keep.length]);
      type Session = { run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>> };
      const ortRun =
        (ort: typeof ortNode | typeof ortWeb, full: Session, pruned: Session, prop: Session) => async () => {
          if (z === 1) {
            await full.run({ image: ortImage(ort) });
          } else {
            await prop.run({ image: ortImage(ort) });
            await pruned.run({ image: ortImage(ort), keep: ortKeep(ort) });
          }
        };
      const s = ortSessions as unknown as Record<string, Session>;
      const ours = (threads: number) => ({
        size,
        z,
        engine: `papr-ts ${threads}T`,
        before: async () => void (await setThreads(threads)),
        run: () => void papr.predict(image, { z }),
      });
      cases.push(ours(1), ours(THREADS));
      cases.push({ size, z, engine: "ORT-node 1T", run: ortRun(ortNode, s.node1, s.prunedNode1, s.proposerNode1) });
      cases.push({
        size,
        z,
        engine: `ORT-node ${THREADS}T`,
        run: ortRun(ortNode, s.nodeN, s.prunedNodeN, s.proposerNodeN),
      });
      cases.push({ size, z, engine: "ORT-web 1T", run: ortRun(ortWeb, s.web, s.prunedWeb, s.proposerWeb) });
      for (const backend of tfBackends) {
        const m = tfModels.get(backend)!;
        cases.push({
          size,
          z,
          engine: `TF.js ${backend}`,
          before: async () => void (await tf.setBackend(backend)),
          run: async () => {
            const rowTensor = z === 1 ? null : tf.tensor1d(rows, "int32");
            const features = z === 1 ? null : m.proposer(m.image);
            const logits = m.vit(m.image, rowTensor);
            await logits.data();
            if (features) await features.data();
            tf.dispose([logits, features, rowTensor].filter((t): t is tf.Tensor => t !== null));
          },
        });
      }

      // do the peers compute the same logits? (unpruned and pruned: the same kept tokens)
      const ortOut =
        z === 1
          ? await s.node1.run({ image: ortImage(ortNode) })
          : await s.prunedNode1.run({ image: ortImage(ortNode), keep: ortKeep(ortNode) });
      await tf.setBackend("cpu");
      const tfOut = tfModels.get("cpu")!.vit(tfModels.get("cpu")!.image, z === 1 ? null : tf.tensor1d(rows, "int32"));
      agreement.push(
        `DeiT-${size} z=${z}: max |logit difference| / max |logit| vs ORT-node ${relError(reference.logits.data, ortOut.out.data as Float32Array).toExponential(1)}, vs TF.js cpu ${relError(reference.logits.data, tfOut.dataSync() as Float32Array).toExponential(1)}`,
      );
    }
  }

  // ---- run: warm-up, then rounds; every case once per round --------------------------------
  const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of cases) {
      if (c.before) await c.before();
      const t0 = performance.now();
      await c.run();
      const ms = performance.now() - t0;
      if (round > 0) times.get(c)!.push(ms); // round 0 warms up
    }
    console.log(`round ${round}/${ROUNDS} done (load ${loadavg()[0].toFixed(2)})`);
  }
  await setThreads(1);

  const gemm = await gemmRates();
  stopThreads();
  const rss = peakRss();
  const loadEnd = loadavg();

  // ---- report ---------------------------------------------------------------------------------
  const engines = [...new Set(cases.map((c) => c.engine))];
  const ms = (size: string, z: number, engine: string) =>
    median(times.get(cases.find((c) => c.size === size && c.z === z && c.engine === engine)!)!);
  const zName = (z: number) => (z === 1 ? "unpruned" : `PaPr z=${z}`);
  const lines: string[] = [];
  lines.push("# Benchmark results", "");
  lines.push(
    `Machine: ${machine()}. Load average at start ${loadStart.map((l) => l.toFixed(2)).join(" ")}, at end ${loadEnd.map((l) => l.toFixed(2)).join(" ")} (the machine is shared: numbers are noisy when the load exceeds the core count).`,
  );
  lines.push(
    `Median of ${ROUNDS} interleaved rounds after one warm-up round; single image 224x224, seeded synthetic weights; PaPr proposer MobileNetV3-${PROPOSER} (included in every PaPr time, for the peers too; the peers get papr-ts's kept indices). ${THREADS}T = ${THREADS} threads.`,
    "",
  );
  lines.push("## Median milliseconds per image", "");
  lines.push(`| model | case | tokens | GMACs | ${engines.join(" | ")} |`);
  lines.push(`|---|---|---|---|${engines.map(() => "---:").join("|")}|`);
  for (const size of SIZES) {
    for (const z of ZS) {
      lines.push(
        `| DeiT-${size} | ${zName(z)} | ${tokens.get(`${size}/${z}`)} | ${(macs.get(`${size}/${z}`)! / 1e9).toFixed(3)} | ${engines.map((e) => ms(size, z, e).toFixed(1)).join(" | ")} |`,
      );
    }
  }
  lines.push(
    "",
    "## papr-ts GFLOP/s (2 x MACs / time) and speed ratio to each peer (peer ms / papr-ts ms; > 1 = papr-ts faster)",
    "",
  );
  const peers = engines.filter((e) => !e.startsWith("papr-ts"));
  lines.push(`| model | case | GFLOP/s 1T | GFLOP/s ${THREADS}T | ${peers.map((p) => `vs ${p}`).join(" | ")} |`);
  lines.push(`|---|---|---:|---:|${peers.map(() => "---:").join("|")}|`);
  for (const size of SIZES) {
    for (const z of ZS) {
      const flops = 2 * macs.get(`${size}/${z}`)!;
      const one = ms(size, z, "papr-ts 1T"),
        many = ms(size, z, `papr-ts ${THREADS}T`);
      // compare like with like: multi-threaded peers against papr-ts on the same thread count
      const ratio = (p: string) =>
        (ms(size, z, p) / (p.endsWith(`${THREADS}T`) && THREADS > 1 ? many : one)).toFixed(2);
      lines.push(
        `| DeiT-${size} | ${zName(z)} | ${(flops / one / 1e6).toFixed(2)} | ${(flops / many / 1e6).toFixed(2)} | ${peers.map(ratio).join(" | ")} |`,
      );
    }
  }
  lines.push(
    "",
    `## GEMM on DeiT-Small's linear shapes (197 tokens: qkv 384->1152, proj 384->384, fc1 384->1536, fc2 1536->384)`,
    "",
  );
  lines.push("| threads | ms (all four) | GFLOP/s |", "|---:|---:|---:|");
  for (const g of gemm) lines.push(`| ${g.threads} | ${g.ms.toFixed(1)} | ${g.gflops.toFixed(2)} |`);
  lines.push("", "## Memory", "");
  lines.push(
    `DeiT-Small inference in a fresh process: peak RSS ${rss.peakMb.toFixed(0)} MB; weights ${rss.weightsMb.toFixed(0)} MB; limit 2 x weights + 100 MB = ${(2 * rss.weightsMb + 100).toFixed(0)} MB.`,
  );
  lines.push("", "## Agreement (same weights, same kept tokens)", "", ...agreement.map((a) => `- ${a}`));

  // ---- targets ----------------------------------------------------------------------------------
  const small = SIZES.includes("small") ? "small" : SIZES[0];
  const gemm1 = gemm.find((g) => g.threads === 1)!.gflops;
  const gemmN = gemm.find((g) => g.threads === THREADS)?.gflops ?? NaN;
  const model1 = (2 * macs.get(`${small}/1`)!) / ms(small, 1, "papr-ts 1T") / 1e6;
  const vsTfCpu = ms(small, 1, "TF.js cpu") / ms(small, 1, "papr-ts 1T");
  const paprFast = ms(small, 0.3, `papr-ts ${THREADS}T`);
  const ortWebUnpruned = ms(small, 1, "ORT-web 1T");
  const target = (ok: boolean, text: string) => `- [${ok ? "x" : " "}] ${text}`;
  lines.push("", `## Targets (DeiT-${small})`, "");
  lines.push(target(gemm1 >= 6, `GEMM single-threaded >= 6 GFLOP/s: ${gemm1.toFixed(2)}`));
  lines.push(target(gemmN >= 1.8 * gemm1, `GEMM on ${THREADS} threads >= 1.8x single: ${(gemmN / gemm1).toFixed(2)}x`));
  lines.push(
    target(
      model1 >= 0.8 * gemm1,
      `whole forward >= 80% of the GEMM rate: ${model1.toFixed(2)} GFLOP/s = ${((100 * model1) / gemm1).toFixed(0)}%`,
    ),
  );
  lines.push(target(vsTfCpu >= 5, `>= 5x faster than TF.js cpu unpruned: ${vsTfCpu.toFixed(2)}x`));
  lines.push(
    target(
      paprFast < ortWebUnpruned,
      `PaPr z=0.3 on ${THREADS} threads (${paprFast.toFixed(1)} ms) faster than ORT-web 1T unpruned (${ortWebUnpruned.toFixed(1)} ms)`,
    ),
  );
  lines.push(
    target(
      rss.peakMb < 2 * rss.weightsMb + 100,
      `peak RSS ${rss.peakMb.toFixed(0)} MB < 2 x weights + 100 MB = ${(2 * rss.weightsMb + 100).toFixed(0)} MB`,
    ),
  );

  const ortScaling = ms(small, 1, "ORT-node 1T") / ms(small, 1, `ORT-node ${THREADS}T`);
  lines.push(
    "",
    `For scale on this machine: ONNX Runtime Node runs DeiT-${small} ${ortScaling.toFixed(2)}x faster on ${THREADS} threads than on 1.`,
  );
  const text = lines.join("\n") + "\n";
  writeFileSync(join(HERE, "RESULTS.md"), text);
  console.log("\n" + text);
  process.exit(0); // ORT / TF.js keep handles open
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

/** DeiT-Small's four linear shapes at 197 tokens through linear(), interleaved over 1 and THREADS threads. */
async function gemmRates(): Promise<{ threads: number; ms: number; gflops: number }[]> {
  const shapes = [
    [384, 1152],
    [384, 384],
    [384, 1536],
    [1536, 384],
  ];
  const layers = shapes.map(([inF, outF], i) => ({
    x: syntheticTensor(`gemm.x${i}`, [197, inF], 1),
    w: syntheticTensor(`gemm.w${i}`, [outF, inF], 0.05),
    b: syntheticTensor(`gemm.b${i}`, [outF], 0.05),
  }));
  const flops = 2 * 197 * shapes.reduce((s, [i, o]) => s + i * o, 0);
  const counts = [...new Set([1, THREADS])];
  const samples = new Map<number, number[]>(counts.map((t) => [t, []]));
  for (let round = 0; round <= 3 * ROUNDS; round++) {
    for (const threads of counts) {
      await setThreads(threads);
      const t0 = performance.now();
      for (const l of layers) linear(l.x, l.w, l.b);
      if (round > 0) samples.get(threads)!.push(performance.now() - t0);
    }
  }
  return counts.map((threads) => {
    const ms = median(samples.get(threads)!);
    return { threads, ms, gflops: flops / ms / 1e6 };
  });
}

/** Peak RSS of a DeiT-Small inference in a fresh process (bench/rss.ts). */
function peakRss(): { peakMb: number; weightsMb: number } {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(HERE, "rss.ts"), String(THREADS)], {
    encoding: "utf8",
    cwd: HERE,
  });
  const match = /peakRssMb=([\d.]+) weightsMb=([\d.]+)/.exec(run.stdout);
  if (!match) throw new Error(`bench/rss.ts failed: ${run.stdout}\n${run.stderr}`);
  return { peakMb: Number(match[1]), weightsMb: Number(match[2]) };
}

await main();
