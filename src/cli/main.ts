// The `papr` command line. Node-only: file I/O lives here, the computation in src/.
//
//   papr classify <image...> [--weights DIR] [--proposer DIR] [--z 0.5] [--topk 5]
//                 [--convention official|patches] [--order significance|spatial]
//                 [--trace out.json] [--explain out.png] [--tome R | --attention-keep F]
//   papr convert <checkpoint> --arch NAME --out DIR [--naming auto|timm|torchvision|hf] [--labels FILE]
//   papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] [--proposer DIR --z Z]
//   papr archs
import { basename, extname, join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { decodeImage } from "../image/decode.ts";
import { encodePng } from "../image/encode.ts";
import { preprocess, tensorToRgb } from "../image/preprocess.ts";
import { readCheckpointFile } from "../models/load/node.ts";
import { PRESETS, convertCheckpoint, type LoadedModel, type Naming } from "../models/registry.ts";
import { attentionPruning } from "../papr/attention_pruning.ts";
import { explainPicture, explainPictureWithGroups } from "../papr/explain.ts";
import { paprTomeSchedule, tome } from "../papr/tome.ts";
import { blockRecordsJson, type ReducedResult, type TokenReducer } from "../papr/token_reduction.ts";
import { Papr, type PaprResult } from "../papr/papr.ts";
import { checkKeepRatio, type KeepConvention } from "../papr/ranking.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { softmax } from "../tensor/softmax.ts";
import { topk } from "../tensor/sort.ts";
import { setThreads, stopThreads } from "../tensor/workers/pool.ts";
import { Tensor } from "../tensor/tensor.ts";
import { evalFolder } from "./eval_folder.ts";
import { gallery } from "./gallery.ts";
import {
  UserError,
  loadModelDir,
  parseNumber,
  readImageFile,
  readLabels,
  saveModelDir,
  writeOutputFile,
} from "./files.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEFAULT_BACKBONE = join(ROOT, "weights", "vit-scenes");
export const DEFAULT_PROPOSER = join(ROOT, "weights", "mobilenetv3-scenes");

const USAGE = `usage:
  papr classify <image...> [--weights DIR] [--proposer DIR] [--z 0.5] [--topk 5]
                [--convention official|patches] [--order significance|spatial]
                [--trace out.json] [--explain out.png] [--threads N]
                [--tome R | --attention-keep F]
  papr convert <checkpoint> --arch NAME --out DIR [--naming auto|timm|torchvision|hf] [--labels FILE] [--heads N]
               [--preprocess '{"cropPct":1,"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]}']
  papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] [--proposer DIR --z Z]
  papr gallery [--proposer DIR] [--images DIR...] [--z 0.5] [--out out/gallery] [--limit 24]
  papr archs

classify --tome R merges R tokens per block with ToMe after PaPr (in the second half of the blocks when
z < 1, in every block at z = 1); --attention-keep F keeps the fraction F of the patch tokens by class-token
attention inside block 0 (after its attention). The explain picture then adds the merged / dropped tokens.

convert reads a ViT's width, depth, patch and image size from the checkpoint (--arch gives the family
and the preprocessing; --heads overrides the preset's head count).`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "classify":
      return classify(rest);
    case "convert":
      return convert(rest);
    case "eval-folder":
      return evalFolder(rest);
    case "gallery":
      return gallery(rest);
    case "archs":
      return console.log(
        Object.entries(PRESETS)
          .map(([name, p]) => `${name.padEnd(34)} ${p.family}`)
          .join("\n"),
      );
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return console.log(USAGE);
    default:
      throw new UserError(`unknown command '${command}'\n${USAGE}`);
  }
}

// ---- classify -------------------------------------------------------------------------------

async function classify(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      weights: { type: "string", default: DEFAULT_BACKBONE },
      proposer: { type: "string", default: DEFAULT_PROPOSER },
      z: { type: "string", default: "0.5" },
      topk: { type: "string", default: "5" },
      convention: { type: "string", default: "official" },
      order: { type: "string", default: "significance" },
      trace: { type: "string" },
      explain: { type: "string" },
      threads: { type: "string" },
      tome: { type: "string" },
      "attention-keep": { type: "string" },
    },
  });
  if (positionals.length === 0) throw new UserError(`classify: no image given\n${USAGE}`);
  if (values.tome !== undefined && values["attention-keep"] !== undefined)
    throw new UserError("classify: give --tome or --attention-keep, not both");
  // Worker threads split GEMM rows and attention heads (same results); default = available cores.
  await setThreads(values.threads === undefined ? undefined : parseNumber("--threads", values.threads));
  const z = parseNumber("--z", values.z);
  try {
    checkKeepRatio(z);
  } catch (e) {
    throw new UserError(`--z: ${(e as Error).message}`);
  }
  const k = parseNumber("--topk", values.topk);
  const convention = oneOf("--convention", values.convention, ["official", "patches"]) as KeepConvention;
  const order = oneOf("--order", values.order, ["significance", "spatial"]) as "significance" | "spatial";

  const backbone = loadModelDir(values.weights, "backbone (--weights)");
  if (backbone.family !== "vit")
    throw new UserError(
      `--weights ${values.weights}: a ${backbone.family} is not a ViT backbone (use eval-folder for ConvNet classifiers)`,
    );
  const proposer = loadModelDir(values.proposer, "proposer (--proposer)");
  if (proposer.family === "vit")
    throw new UserError(`--proposer ${values.proposer}: a ViT cannot be the proposer; give a ConvNet`);
  const backboneSize = backbone.file.preprocess.inputSize;
  const proposerSize = proposer.file.preprocess.inputSize;
  if (backboneSize !== proposerSize) {
    throw new UserError(
      `proposer input size ${proposerSize} (${values.proposer}) differs from backbone input size ${backboneSize} (${values.weights}): both must see the same tensor`,
    );
  }
  const papr = new Papr(backbone.vit, proposer.convnet);
  const reducer = tokenReducer(values.tome, values["attention-keep"], z, backbone.vit.numBlocks);
  const labels = backbone.file.labels;
  const wantPictures = values.trace !== undefined || values.explain !== undefined;

  for (const path of positionals) {
    const x = preprocess(decodeImage(readImageFile(path), path), backbone.file.preprocess);
    const result = papr.predict(x, { z, convention, order, trace: wantPictures, reducer });
    printResult(path, result, labels, Math.min(k, result.logits.size), z);
    const suffix = positionals.length > 1 ? `-${basename(path, extname(path))}` : "";
    if (values.explain) {
      const out = withSuffix(values.explain, suffix);
      const image = tensorToRgb(x, backbone.file.preprocess.mean, backbone.file.preprocess.std);
      const { significance, mask } = result.trace!;
      const reduction = "reduction" in result ? (result as ReducedResult).reduction : null;
      const picture = reduction
        ? explainPictureWithGroups(
            image,
            significance,
            mask,
            reduction.groupOf.subarray(backbone.vit.config.numPrefixTokens),
          )
        : explainPicture(image, significance, mask);
      writeOutputFile(out, encodePng(picture.data, picture.width, picture.height));
      console.log(`  explain picture: ${out}`);
    }
    if (values.trace) {
      const out = withSuffix(values.trace, suffix);
      writeTrace(out, path, result, backbone, z, convention, order, labels);
      console.log(`  trace: ${out} (+ ${out.replace(/\.json$/, "")}.safetensors)`);
    }
  }
}

/** The in-block method of --tome / --attention-keep, or undefined for PaPr alone. */
function tokenReducer(
  tomeR: string | undefined,
  attentionKeep: string | undefined,
  z: number,
  depth: number,
): TokenReducer | undefined {
  try {
    if (tomeR !== undefined) return tome({ schedule: paprTomeSchedule(depth, parseNumber("--tome", tomeR), z) });
    if (attentionKeep !== undefined)
      return attentionPruning({ stages: [{ block: 0, keepRate: parseNumber("--attention-keep", attentionKeep) }] });
  } catch (e) {
    throw e instanceof UserError ? e : new UserError((e as Error).message);
  }
  return undefined;
}

function printResult(path: string, r: PaprResult, labels: string[] | undefined, k: number, z: number): void {
  const probabilities = softmax(r.logits);
  const best = topk(probabilities, k);
  console.log(path);
  if ("reduction" in r) {
    const reduced = r as ReducedResult;
    console.log(
      `  z = ${z}: kept ${r.keptCount} of ${r.numPatches} patches, then ${reduced.method}: tokens per block ${r.tokensPerBlock.join(" ")} -> ${reduced.tokensAfterBlock.at(-1)}`,
    );
  } else {
    console.log(`  z = ${z}: kept ${r.keptCount} of ${r.numPatches} patches (${r.tokensPerBlock[0]} tokens per block)`);
  }
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
  image: string,
  r: PaprResult,
  backbone: LoadedModel,
  z: number,
  convention: string,
  order: string,
  labels?: string[],
): void {
  const t = r.trace!;
  const tensorsPath = out.replace(/\.json$/, "") + ".safetensors";
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
    ...("reduction" in r
      ? { method: (r as ReducedResult).method, blocks: blockRecordsJson((r as ReducedResult).reduction.blocks) }
      : {}),
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

// ---- convert --------------------------------------------------------------------------------

function convert(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      arch: { type: "string" },
      out: { type: "string" },
      naming: { type: "string", default: "auto" },
      labels: { type: "string" },
      heads: { type: "string" },
      preprocess: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UserError(`convert: give exactly one checkpoint\n${USAGE}`);
  if (!values.arch) throw new UserError(`convert: --arch is required (see 'papr archs')`);
  if (!values.out) throw new UserError("convert: --out DIR is required");
  if (!(values.arch in PRESETS)) throw new UserError(`convert: unknown --arch '${values.arch}' (see 'papr archs')`);
  const naming = oneOf("--naming", values.naming, ["auto", "canonical", "timm", "torchvision", "hf"]);
  const checkpoint = readCheckpointFile(positionals[0]);
  const labels = values.labels ? readLabels(values.labels).labels : undefined;
  const { file, weights } = convertCheckpoint(
    { tensors: checkpoint.tensors, tfjs: checkpoint.tfjs, source: basename(positionals[0]) },
    values.arch,
    {
      naming: naming === "auto" ? undefined : (naming as Naming),
      labels,
      numHeads: values.heads ? parseNumber("--heads", values.heads) : undefined,
    },
  );
  if (labels && labels.length !== file.model.numClasses) {
    throw new UserError(
      `--labels ${values.labels}: ${labels.length} labels for a ${String(file.model.numClasses)}-class head`,
    );
  }
  if (values.preprocess) {
    try {
      file.preprocess = { ...file.preprocess, ...JSON.parse(values.preprocess) };
    } catch (e) {
      throw new UserError(`--preprocess: not valid JSON (${(e as Error).message})`);
    }
  }
  saveModelDir(values.out, file, weights);
  const count = [...weights.values()].reduce((n, t) => n + t.size, 0);
  console.log(
    `converted ${positionals[0]} (${checkpoint.format}) as ${values.arch}: ${weights.size} tensors, ${(count / 1e6).toFixed(2)} M parameters -> ${values.out}`,
  );
}

// ---- helpers --------------------------------------------------------------------------------

function oneOf(flag: string, value: string | undefined, allowed: string[]): string {
  if (value === undefined || !allowed.includes(value))
    throw new UserError(`${flag}: '${value}' is not one of ${allowed.join(", ")}`);
  return value;
}

function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return path.slice(0, path.length - ext.length) + suffix + ext;
}

// Output piped into a reader that stops early (`papr classify ... | head`): stop quietly, as Unix tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  stopThreads();
  process.exit(0);
});

try {
  await main(process.argv.slice(2));
} catch (e) {
  // Every failure is reported as one line naming the problem; PAPR_DEBUG=1 adds the stack.
  const error = e as Error & { code?: string };
  const usage = error instanceof UserError && /usage:/.test(error.message);
  const badFlag = typeof error.code === "string" && error.code.startsWith("ERR_PARSE_ARGS");
  console.error(`papr: ${process.env.PAPR_DEBUG ? error.stack : error.message}${badFlag ? `\n${USAGE}` : ""}`);
  process.exitCode = usage || badFlag ? 2 : 1;
} finally {
  stopThreads();
}
