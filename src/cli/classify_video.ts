// papr classify-video: video PaPr (src/papr/video_papr.ts, PAPR-SPEC.md section 6) on one clip, a folder of frames
// or an (animated) PNG, printing the top-k, the tokens kept, MACs (proposer included) and time, with an optional
// explain strip (src/plot/mask_strip.ts: one panel per temporal token slice, pruned tokens dimmed) and trace.
//
//   clip --sample T frames uniformly--> --per frame: shorter side to S, centre crop, normalise (backbone's
//   preprocess)--> x [1, 3, T, S, S] --VideoPapr.predict--> logits, kept tokens, mask, significance
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { centerCrop, resizeShorterSide } from "../image/preprocess.ts";
import {
  clipFrame,
  clipFromFrames,
  clipToTensor,
  sampleClip,
  type ClipTransform,
  type RgbClip,
} from "../image/clip.ts";
import { encodePng } from "../image/encode.ts";
import { printable } from "../image/image.ts";
import type { ModelFile } from "../models/registry.ts";
import { drawMaskStrip } from "../plot/mask_strip.ts";
import { NonFiniteError } from "../papr/papr.ts";
import { checkKeepRatio } from "../papr/ranking.ts";
import { VIDEO_PROPOSER_CLIPS, VideoPapr, type Clip3, type VideoPaprResult } from "../papr/video_papr.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { softmax } from "../tensor/softmax.ts";
import { topk } from "../tensor/sort.ts";
import { Tensor } from "../tensor/tensor.ts";
import { printPrediction, startThreads, useBackend } from "./classify.ts";
import { readClip } from "./clip_files.ts";
import {
  IMAGE_LIMIT_OPTIONS,
  UserError,
  isInside,
  loadVideoModelDir,
  modelFiles,
  oneOf,
  parseImageLimits,
  parseNumber,
  parsePositiveInteger,
  refuseOverwrite,
  writeOutputFile,
} from "./files.ts";
import { USAGE } from "./usage.ts";

export async function classifyVideo(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      weights: { type: "string" },
      proposer: { type: "string" },
      z: { type: "string", default: "0.4" },
      frames: { type: "string" },
      "proposer-clip": { type: "string" },
      topk: { type: "string", default: "5" },
      order: { type: "string", default: "significance" },
      explain: { type: "string" },
      trace: { type: "string" },
      threads: { type: "string" },
      backend: { type: "string" },
      "force-threads": { type: "boolean", default: false },
      ...IMAGE_LIMIT_OPTIONS,
    },
  });
  if (positionals.length !== 1)
    throw new UserError(
      `classify-video: give one clip (a folder of frames or a .png), got ${positionals.length}\n${USAGE}`,
    );
  const [clipPath] = positionals;
  if (values.weights === undefined)
    throw new UserError("classify-video: --weights DIR (a video ViT folder) is required");
  const z = parseNumber("--z", values.z);
  try {
    checkKeepRatio(z);
  } catch (e) {
    throw new UserError(`--z: ${(e as Error).message}`);
  }
  if (z < 1 && values.proposer === undefined)
    throw new UserError(`classify-video: --z ${z} prunes tokens, so --proposer DIR (an X3D or R3D folder) is needed`);
  const k = parsePositiveInteger("--topk", values.topk);
  const order = oneOf("--order", values.order, ["significance", "spatial"]) as "significance" | "spatial";
  const limits = parseImageLimits(values);

  const inputs = [clipPath, ...modelFiles(values.weights), ...(values.proposer ? modelFiles(values.proposer) : [])];
  const outputs = [
    ...(values.explain ? [{ flag: "--explain", path: values.explain }] : []),
    ...(values.trace
      ? [
          { flag: "--trace", path: values.trace },
          { flag: "--trace", path: tensorsPath(values.trace) },
        ]
      : []),
  ];
  for (const { flag, path } of outputs) {
    refuseOverwrite(flag, path, inputs);
    if (isInside(path, clipPath))
      throw new UserError(`${flag}: would write ${path} inside the frame folder ${clipPath} (it would become a frame)`);
  }
  if (values.backend !== undefined) useBackend(values.backend);
  await startThreads(values.threads, values["force-threads"]);

  const backbone = loadVideoModelDir(values.weights, "backbone (--weights)");
  if (backbone.family !== "videomae")
    throw new UserError(`--weights ${values.weights}: a ${backbone.family} is not a video ViT (videomae_*)`);
  const proposer = values.proposer ? loadVideoModelDir(values.proposer, "proposer (--proposer)") : null;
  if (proposer && proposer.family === "videomae")
    throw new UserError(`--proposer ${values.proposer}: a video ViT cannot be the proposer; give an X3D or R3D folder`);
  const vit = backbone.vit;
  const proposerClip = parseClip(values["proposer-clip"], proposer?.file, proposer?.convnet.clipSize);
  const frames = values.frames === undefined ? vit.config.numFrames : parsePositiveInteger("--frames", values.frames);
  if (frames !== vit.config.numFrames)
    throw new UserError(
      `--frames ${frames}: the backbone (${values.weights}) takes clips of ${vit.config.numFrames} frames`,
    );

  const transform = clipTransform(backbone.file, values.weights);
  const clip = readClip(clipPath, limits);
  const sampled = sampleClip(clip, frames);
  const x = clipToTensor(sampled, transform);
  const papr = new VideoPapr(vit, proposer?.convnet ?? null, proposerClip);
  let result: VideoPaprResult;
  try {
    result = papr.predict(x, { z, order, trace: values.trace !== undefined || values.explain !== undefined });
  } catch (e) {
    if (e instanceof NonFiniteError) throw new UserError(`${clipPath}: ${e.message}`);
    throw e;
  }
  const labels = backbone.file.labels;
  console.log(`${printable(clipPath)} (${frames} of ${clip.frames} frames, ${clip.width}x${clip.height})`);
  printResult(
    result,
    labels,
    Math.min(k, result.logits.size),
    z,
    proposer ? `${proposer.file.arch} on ${proposerClip.join("x")}` : "",
  );
  if (values.explain) {
    const strip = drawMaskStrip(displayClip(sampled, transform), maskSlices(result), {
      grid: [result.tokenGrid[1], result.tokenGrid[2]],
    });
    writeOutputFile(values.explain, encodePng(strip.data, strip.width, strip.height));
    console.log(`  explain strip: ${values.explain}`);
  }
  if (values.trace) {
    writeTrace(values.trace, clipPath, result, {
      z,
      order,
      proposerClip,
      backbone: backbone.file,
      proposer: proposer?.file,
      labels,
    });
    console.log(`  trace: ${values.trace} (+ ${tensorsPath(values.trace)})`);
  }
}

/** --proposer-clip TxHxW, else VIDEO_PROPOSER_CLIPS[arch], else the clip the proposer was trained on. */
function parseClip(text: string | undefined, file: ModelFile | undefined, trained?: readonly number[]): Clip3 {
  if (text !== undefined) {
    const parts = text.split("x");
    if (parts.length !== 3) throw new UserError(`--proposer-clip: '${text}' is not TxHxW (e.g. 8x160x160)`);
    return parts.map((p) => parsePositiveInteger("--proposer-clip", p)) as unknown as Clip3;
  }
  if (file === undefined) return VIDEO_PROPOSER_CLIPS.x3d_s; // z = 1: no proposer runs
  return VIDEO_PROPOSER_CLIPS[file.arch] ?? (trained as unknown as Clip3);
}

/** The backbone's preprocessing for every frame: the shorter side to inputSize, the centre crop, normalised. */
function clipTransform(file: ModelFile, dir: string): ClipTransform {
  const p = file.preprocess;
  if (p.cropPct !== 1)
    throw new UserError(
      `${dir}: preprocess.cropPct ${p.cropPct}: clips are resized on the shorter side to inputSize and centre-cropped (cropPct 1)`,
    );
  return { size: p.inputSize, mode: "shorter-side-crop", mean: p.mean, std: p.std, interpolation: p.interpolation };
}

/** The frames as the backbone saw them (resized and cropped, before normalisation), for the explain strip. */
function displayClip(clip: RgbClip, t: ClipTransform): RgbClip {
  const frames = Array.from({ length: clip.frames }, (_, i) =>
    centerCrop(resizeShorterSide(clipFrame(clip, i), t.size, t.interpolation), t.size),
  );
  return clipFromFrames(frames, "classify-video");
}

/** The mask [Tt * Ht * Wt] as Tt slices of Ht * Wt. */
function maskSlices(r: VideoPaprResult): Uint8Array[] {
  const [Tt, Ht, Wt] = r.tokenGrid;
  return Array.from({ length: Tt }, (_, s) => r.mask.subarray(s * Ht * Wt, (s + 1) * Ht * Wt));
}

function printResult(r: VideoPaprResult, labels: string[] | undefined, k: number, z: number, proposer: string): void {
  console.log(
    `  z = ${z}: kept ${r.keptCount} of ${r.numTokens} tokens (grid ${r.tokenGrid.join(" x ")})${proposer ? `, proposer ${proposer}` : ""}`,
  );
  printPrediction(r, labels, k);
}

const tensorsPath = (json: string) => json.replace(/\.json$/, "") + ".safetensors";

interface TraceContext {
  z: number;
  order: string;
  proposerClip: Clip3;
  backbone: ModelFile;
  proposer?: ModelFile;
  labels?: string[];
}

/** The trace as JSON (numbers, per-slice mask rows, the significance map) plus the arrays as safetensors beside it. */
function writeTrace(out: string, clip: string, r: VideoPaprResult, c: TraceContext): void {
  const [Tt, Ht, Wt] = r.tokenGrid;
  const asTensor = (a: ArrayLike<number>, shape: number[]) => new Tensor(Float32Array.from(a), shape);
  const tensors: Record<string, Tensor> = {
    mask: asTensor(r.mask, r.tokenGrid),
    kept: asTensor(r.kept, [r.kept.length]),
    logits: r.logits,
  };
  if (r.significance) tensors.significance = r.significance;
  if (r.trace) {
    tensors.proposer_input = r.trace.proposerInput;
    tensors.features = r.trace.features;
    tensors.ranking = asTensor(r.trace.ranking, [r.trace.ranking.length]);
  }
  writeOutputFile(tensorsPath(out), writeSafetensors(tensors));
  const best = topk(softmax(r.logits), Math.min(5, r.logits.size));
  const rows = <T>(values: ArrayLike<T>, f: (row: T[]) => unknown) =>
    Array.from({ length: Tt }, (_, s) =>
      Array.from({ length: Ht }, (_, y) => f(Array.from(values).slice((s * Ht + y) * Wt, (s * Ht + y + 1) * Wt))),
    );
  const trace = {
    clip,
    backbone: c.backbone.arch,
    proposer: c.proposer?.arch ?? null,
    proposerClip: c.proposerClip,
    z: c.z,
    order: c.order,
    numTokens: r.numTokens,
    tokenGrid: r.tokenGrid,
    keptCount: r.keptCount,
    kept: [...r.kept],
    mask: rows(r.mask, (row) => row.join("")), // [Tt][Ht] strings of Wt digits, 1 = kept
    top5: [...best.indices].map((cls, i) => ({ class: cls, label: c.labels?.[cls], probability: best.values[i] })),
    macs: r.macs,
    unprunedMacs: r.unprunedMacs,
    timeMs: r.timeMs,
    significance: r.significance ? rows(r.significance.data, (row) => row.map((v) => +v.toPrecision(5))) : null,
    tensors: basename(tensorsPath(out)),
  };
  writeOutputFile(out, JSON.stringify(trace, null, 1) + "\n");
}
