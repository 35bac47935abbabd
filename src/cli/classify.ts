// papr classify: PaPr on image files, printing the top-k, the tokens kept, MACs and time, with an
// optional explain picture and trace. Every output path is checked against the inputs (images and
// model files) before anything runs: an output never replaces a file being read.
import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../image/decode.ts";
import { printable } from "../image/image.ts";
import { encodePng } from "../image/encode.ts";
import { preprocess, tensorToRgb } from "../image/preprocess.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../models/default_weights_node.ts";
import type { LoadedModel } from "../models/registry.ts";
import { adaptivePruningForBudget, droppedAtBlock, type AdaptiveThresholds } from "../papr/adaptive_pruning.ts";
import { attentionPruning } from "../papr/attention_pruning.ts";
import { explainPicture, explainPictureWithGroups, explainPictureWithStages } from "../papr/explain.ts";
import { paprTomeSchedule, tome } from "../papr/tome.ts";
import { blockRecordsJson, type TokenReducer } from "../papr/token_reduction.ts";
import { NonFiniteError, Papr, type PaprResult } from "../papr/papr.ts";
import { checkKeepRatio, type KeepConvention } from "../papr/ranking.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { softmax } from "../tensor/softmax.ts";
import { topk } from "../tensor/sort.ts";
import { MAX_FORCED_THREADS, availableThreads } from "../tensor/parallel.ts";
import { setBackend, setThreads, threadsUnavailableReason, type BackendName } from "../tensor/backend.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  IMAGE_LIMIT_OPTIONS,
  UserError,
  loadModelDir,
  modelFiles,
  oneOf,
  parseImageLimits,
  parseNumber,
  parsePositiveInteger,
  readImageFile,
  refuseOverwrite,
  writeOutputFile,
} from "./files.ts";
import { USAGE } from "./usage.ts";
import { loadAdaptiveThresholds } from "./adaptive_thresholds_node.ts";
import { classifyHierarchical } from "./classify_hierarchical.ts";
import { pruningSummary } from "./prune.ts";
import type { PruningReport } from "../prune/prune_model.ts";

export async function classify(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      weights: { type: "string", default: DEFAULT_BACKBONE_DIR },
      proposer: { type: "string", default: DEFAULT_PROPOSER_DIR },
      z: { type: "string" }, // default 0.5 (ViT), 0.65 (hierarchical: PAPR-SPEC.md section 5)
      topk: { type: "string", default: "5" },
      convention: { type: "string", default: "official" },
      order: { type: "string", default: "significance" },
      trace: { type: "string" },
      explain: { type: "string" },
      threads: { type: "string" },
      backend: { type: "string" },
      tome: { type: "string" },
      "attention-keep": { type: "string" },
      adaptive: { type: "string" },
      "force-threads": { type: "boolean", default: false },
      ...IMAGE_LIMIT_OPTIONS,
    },
  });
  if (positionals.length === 0) throw new UserError(`classify: no image given\n${USAGE}`);
  if ([values.tome, values["attention-keep"], values.adaptive].filter((v) => v !== undefined).length > 1)
    throw new UserError("classify: give at most one of --tome, --attention-keep and --adaptive");
  const limits = parseImageLimits(values);
  const z = parseNumber("--z", values.z ?? "0.5");
  try {
    checkKeepRatio(z);
  } catch (e) {
    throw new UserError(`--z: ${(e as Error).message}`);
  }
  const k = parsePositiveInteger("--topk", values.topk);
  const convention = oneOf("--convention", values.convention, ["official", "patches"]) as KeepConvention;
  const order = oneOf("--order", values.order, ["significance", "spatial"]) as "significance" | "spatial";

  const outputs = outputPaths(positionals, values.explain, values.trace);
  const inputs = [...positionals, ...modelFiles(values.weights), ...modelFiles(values.proposer)];
  for (const { flag, path } of outputs.flatMap((o) => o.files)) refuseOverwrite(flag, path, inputs);
  // The kernels: wasm (SIMD, one thread) where it validates, else js; --backend chooses.
  if (values.backend !== undefined) useBackend(values.backend);
  await startThreads(values.threads, values["force-threads"]);

  const backbone = loadModelDir(values.weights, "backbone (--weights)");
  if (backbone.family !== "vit" && backbone.family !== "convnext" && backbone.family !== "swin")
    throw new UserError(
      `--weights ${values.weights}: a ${backbone.family} is not a ViT or hierarchical backbone (use eval-folder for ConvNet classifiers)`,
    );
  if ("pruning" in backbone.file) {
    // a folder written by `papr prune`: the per-image MACs below count the dense kernels (zeros multiplied)
    console.log(`${values.weights}:\n${pruningSummary((backbone.file as { pruning: PruningReport }).pruning)}`);
  }
  const proposer = loadModelDir(values.proposer, "proposer (--proposer)");
  if (proposer.family === "vit")
    throw new UserError(`--proposer ${values.proposer}: a ViT cannot be the proposer; give a ConvNet`);
  if (backbone.family === "convnext" || backbone.family === "swin") {
    // hierarchical PaPr (PAPR-SPEC.md section 5): masks per stage instead of pruned tokens
    if (values.tome !== undefined || values["attention-keep"] !== undefined)
      throw new UserError("classify: --tome and --attention-keep need a ViT backbone");
    checkSameInputSize(backbone, proposer, values.weights, values.proposer);
    classifyHierarchical(positionals, backbone, proposer, { z: values.z === undefined ? 0.65 : z, k, limits, outputs });
    return;
  }
  checkSameInputSize(backbone, proposer, values.weights, values.proposer);
  const papr = new Papr(backbone.vit, proposer.convnet);
  const adaptive = values.adaptive !== undefined ? loadAdaptiveThresholds(values.weights) : undefined;
  const reducer = tokenReducer(
    values.tome,
    values["attention-keep"],
    z,
    backbone.vit.numBlocks,
    adaptive && { file: adaptive, budget: values.adaptive! },
  );
  const labels = backbone.file.labels;
  const wantPictures = values.trace !== undefined || values.explain !== undefined;

  for (const [i, path] of positionals.entries()) {
    const x = preprocess(decodeImage(readImageFile(path), path, limits), backbone.file.preprocess);
    const result = predictNamed(path, () => papr.predict(x, { z, convention, order, trace: wantPictures, reducer }));
    printResult(path, result, labels, Math.min(k, result.logits.size), z);
    const { explain: explainOut, trace: traceOut } = outputs[i];
    if (explainOut) {
      writeExplain(explainOut, x, result, backbone, adaptive?.blocks);
      console.log(`  explain picture: ${explainOut}`);
    }
    if (traceOut) {
      writeTrace(traceOut.json, traceOut.tensors, path, result, backbone, z, convention, order, labels);
      console.log(`  trace: ${traceOut.json} (+ ${traceOut.tensors})`);
    }
  }
}

function checkSameInputSize(backbone: LoadedModel, proposer: LoadedModel, weights: string, proposerDir: string): void {
  const backboneSize = backbone.file.preprocess.inputSize;
  const proposerSize = proposer.file.preprocess.inputSize;
  if (backboneSize !== proposerSize) {
    throw new UserError(
      `proposer input size ${proposerSize} (${proposerDir}) differs from backbone input size ${backboneSize} (${weights}): both must see the same tensor`,
    );
  }
}

/** The explain picture: the input, the significance map, the kept (and merged / dropped) patches. */
function writeExplain(
  out: string,
  x: Tensor,
  result: PaprResult,
  backbone: LoadedModel & { family: "vit" },
  adaptiveBlocks?: number[],
): void {
  const image = tensorToRgb(x, backbone.file.preprocess.mean, backbone.file.preprocess.std);
  const { significance, mask } = result.trace!;
  const P = backbone.vit.config.numPrefixTokens;
  const picture = adaptiveBlocks
    ? explainPictureWithStages(
        image,
        significance,
        mask,
        droppedAtBlock(result.reduction.groupsPerBlock, result.kept, P),
        adaptiveBlocks,
      )
    : result.method !== "none"
      ? explainPictureWithGroups(
          image,
          significance,
          mask,
          result.reduction.groupOf.subarray(backbone.vit.config.numPrefixTokens),
        )
      : explainPicture(image, significance, mask);
  writeOutputFile(out, encodePng(picture.data, picture.width, picture.height));
}

/** The in-block method of --tome / --attention-keep / --adaptive, or undefined for PaPr alone. */
function tokenReducer(
  tomeR: string | undefined,
  attentionKeep: string | undefined,
  z: number,
  depth: number,
  adaptive?: { file: AdaptiveThresholds; budget: string },
): TokenReducer | undefined {
  try {
    if (adaptive) return adaptivePruningForBudget(adaptive.file, parseNumber("--adaptive", adaptive.budget));
    if (tomeR !== undefined) return tome({ schedule: paprTomeSchedule(depth, parseNumber("--tome", tomeR), z) });
    if (attentionKeep !== undefined)
      return attentionPruning({ stages: [{ block: 0, keepRate: parseNumber("--attention-keep", attentionKeep) }] });
  } catch (e) {
    throw e instanceof UserError ? e : new UserError((e as Error).message);
  }
  return undefined;
}

function printResult(path: string, r: PaprResult, labels: string[] | undefined, k: number, z: number): void {
  console.log(printable(path));
  if (r.method !== "none") {
    console.log(
      `  z = ${z}: kept ${r.keptCount} of ${r.numPatches} patches, then ${r.method}: tokens per block ${r.tokensPerBlock.join(" ")} -> ${r.tokensAfterBlock.at(-1)}`,
    );
  } else {
    console.log(`  z = ${z}: kept ${r.keptCount} of ${r.numPatches} patches (${r.tokensPerBlock[0]} tokens per block)`);
  }
  printPrediction(r, labels, k);
}

/** What `classify` and `classify-video` print after the kept-count line: top-k, MACs against unpruned, times. */
export function printPrediction(
  r: Pick<PaprResult, "logits" | "macs" | "unprunedMacs" | "timeMs">,
  labels: string[] | undefined,
  k: number,
): void {
  const best = topk(softmax(r.logits), k);
  best.indices.forEach((cls, i) => {
    const name = labels?.[cls] ?? `class ${cls}`;
    console.log(`  ${String(i + 1).padStart(2)}. ${name.padEnd(28)} ${(100 * best.values[i]).toFixed(2).padStart(6)}%`);
  });
  const g = (macs: number) => (macs / 1e9).toFixed(3);
  const blocks = r.macs.blocks.reduce((a, b) => a + b, 0);
  console.log(
    `  MACs: ${g(r.macs.total)} G (proposer ${g(r.macs.proposer)} + patch embed ${g(r.macs.patchEmbed)} + blocks ${g(blocks)} + head ${g(r.macs.head)})` +
      ` vs ${g(r.unprunedMacs.total)} G unpruned = ${((100 * r.macs.total) / r.unprunedMacs.total).toFixed(1)}%`,
  );
  const t = r.timeMs;
  console.log(
    `  time: ${t.total.toFixed(1)} ms (proposer ${t.proposer.toFixed(1)}, ranking ${t.ranking.toFixed(1)}, embed ${t.embed.toFixed(1)}, blocks ${t.blocks.reduce((a, b) => a + b, 0).toFixed(1)}, head ${t.head.toFixed(1)})`,
  );
}

/** The trace as JSON (numbers and small arrays) plus the big arrays as safetensors beside it. */
function writeTrace(
  out: string,
  tensorsPath: string,
  image: string,
  r: PaprResult,
  backbone: LoadedModel,
  z: number,
  convention: string,
  order: string,
  labels?: string[],
): void {
  const t = r.trace!;
  const asTensor = (a: ArrayLike<number>, shape: number[]) => new Tensor(Float32Array.from(a), shape);
  const grid = t.significance.shape;
  writeOutputFile(
    tensorsPath,
    writeSafetensors({
      input: t.input,
      features: t.features,
      proposal: t.proposal,
      significance: t.significance,
      ranking: asTensor(t.ranking, [t.ranking.length]),
      mask: asTensor(t.mask, grid),
      kept: asTensor(r.kept, [r.kept.length]),
      logits: r.logits,
    }),
  );
  const stats = (x: Tensor) => {
    let min = Infinity,
      max = -Infinity,
      sum = 0;
    for (const v of x.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    return { shape: x.shape, min, max, mean: sum / x.size };
  };
  const probabilities = softmax(r.logits);
  const best = topk(probabilities, Math.min(5, r.logits.size));
  const trace = {
    image,
    backbone: backbone.file.arch,
    z,
    convention,
    order,
    numPatches: r.numPatches,
    keptCount: r.keptCount,
    kept: [...r.kept],
    mask: Array.from({ length: grid[0] }, (_, y) => [...t.mask.subarray(y * grid[1], (y + 1) * grid[1])].join("")),
    tokensPerBlock: r.tokensPerBlock,
    ...(r.method !== "none" ? { method: r.method, blocks: blockRecordsJson(r.reduction.blocks) } : {}),
    top5: [...best.indices].map((cls, i) => ({ class: cls, label: labels?.[cls], probability: best.values[i] })),
    macs: r.macs,
    unprunedMacs: r.unprunedMacs,
    timeMs: r.timeMs,
    arrays: {
      input: stats(t.input),
      features: stats(t.features),
      proposal: stats(t.proposal),
      significance: stats(t.significance),
    },
    significance: Array.from({ length: grid[0] }, (_, y) =>
      [...t.significance.data.subarray(y * grid[1], (y + 1) * grid[1])].map((v) => +v.toPrecision(5)),
    ),
    tensors: basename(tensorsPath),
  };
  writeOutputFile(out, JSON.stringify(trace, null, 1) + "\n");
}

export function useBackend(name: string): void {
  const backend = oneOf("--backend", name, ["js", "wasm"]) as BackendName;
  try {
    setBackend(backend);
  } catch (e) {
    throw new UserError(`--backend: ${(e as Error).message}`);
  }
}

/**
 * Worker threads split GEMM rows and attention heads (same results); default = available cores. Where the
 * backend cannot use threads here, one thread, with a note on stderr when --threads asked for more.
 */
export async function startThreads(text: string | undefined, force: boolean): Promise<void> {
  if (text === undefined) {
    await setThreads();
    return;
  }
  const threads = parsePositiveInteger("--threads", text);
  const cores = await availableThreads();
  if (threads > cores && !force) {
    throw new UserError(
      `--threads: ${threads} is more than the ${cores} available cores (add --force-threads to start them anyway)`,
    );
  }
  if (threads > MAX_FORCED_THREADS)
    throw new UserError(`--threads: ${threads} is more than the limit of ${MAX_FORCED_THREADS}`);
  const started = await setThreads(threads, { force });
  if (started < threads)
    process.stderr.write(`papr: --threads ${threads}: running on 1 thread: ${threadsUnavailableReason()}\n`);
}

/** A non-finite stage of the forward, reported with the image it came from. */
function predictNamed<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof NonFiniteError) throw new UserError(`${path}: ${e.message}`);
    throw e;
  }
}

interface ImageOutputs {
  explain?: string;
  trace?: { json: string; tensors: string };
  files: { flag: string; path: string }[];
}

/** The explain / trace files of each image (suffixed with the image's name when there are several). */
function outputPaths(images: string[], explain: string | undefined, trace: string | undefined): ImageOutputs[] {
  return images.map((path) => {
    const suffix = images.length > 1 ? `-${basename(path, extname(path))}` : "";
    const out: ImageOutputs = { files: [] };
    if (explain) {
      out.explain = withSuffix(explain, suffix);
      out.files.push({ flag: "--explain", path: out.explain });
    }
    if (trace) {
      const json = withSuffix(trace, suffix);
      out.trace = { json, tensors: json.replace(/\.json$/, "") + ".safetensors" };
      out.files.push({ flag: "--trace", path: json }, { flag: "--trace", path: out.trace.tensors });
    }
    return out;
  });
}

function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return path.slice(0, path.length - ext.length) + suffix + ext;
}
