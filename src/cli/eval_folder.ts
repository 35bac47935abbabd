// papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] [--proposer DIR [--z Z]]
// Top-1 / top-5 of a converted classifier (ConvNet or ViT; a ViT with --proposer runs PaPr)
// on an ImageNet-val-style folder: file names start with the class's wnid (n01440764_...).
// An image that cannot be read or decoded is reported with its full path and skipped (counted and
// listed at the end); a model that is wrong for the labels, or computes NaN, stops the run.
import { readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../image/decode.ts";
import { ImageError, printable, type ImageLimits } from "../image/image.ts";
import { preprocess } from "../image/preprocess.ts";
import type { LoadedModel } from "../models/registry.ts";
import { NonFiniteError, Papr, checkFinite } from "../papr/papr.ts";
import { checkKeepRatio } from "../papr/ranking.ts";
import { topk } from "../tensor/sort.ts";
import { Tensor as TensorClass, type Tensor } from "../tensor/tensor.ts";
import {
  IMAGE_LIMIT_OPTIONS,
  UserError,
  loadModelDir,
  parseImageLimits,
  parseNumber,
  parsePositiveInteger,
  readImageFile,
  readLabels,
} from "./files.ts";

const IMAGE_FILE = /\.(jpe?g|png|bmp)$/i;

export function evalFolder(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      weights: { type: "string" },
      classes: { type: "string" },
      limit: { type: "string" },
      proposer: { type: "string" },
      z: { type: "string" },
      ...IMAGE_LIMIT_OPTIONS,
    },
  });
  if (positionals.length !== 1) throw new UserError("eval-folder: give exactly one folder");
  if (!values.weights) throw new UserError("eval-folder: --weights DIR is required");
  if (values.z !== undefined && values.proposer === undefined)
    throw new UserError("eval-folder: --z needs --proposer (without a proposer no patch is pruned)");
  const limit = values.limit === undefined ? undefined : parsePositiveInteger("--limit", values.limit);
  const z = values.z === undefined ? 1 : parseNumber("--z", values.z);
  try {
    checkKeepRatio(z);
  } catch (e) {
    throw new UserError(`--z: ${(e as Error).message}`);
  }
  const limits = parseImageLimits(values);
  const folder = positionals[0];
  if (!existsSync(folder)) throw new UserError(`eval-folder: folder '${folder}' does not exist`);
  const classesPath = values.classes ?? join(dirname(folder.replace(/\/+$/, "")), "imagenet-classes.txt");
  const { wnids } = readLabels(classesPath);
  if (!wnids) throw new UserError(`${classesPath}: expected "index wnid name" lines (like imagenet-classes.txt)`);
  const classOf = new Map(wnids.map((w, i) => [w, i]));

  const model = loadModelDir(values.weights, "classifier (--weights)");
  checkClassCount(model, values.weights, wnids.length, classesPath);
  const classifyTensor = classifier(model, values.weights, values.proposer, z);

  let files = readdirSync(folder)
    .filter((f) => IMAGE_FILE.test(f))
    .sort();
  if (limit !== undefined) files = files.slice(0, limit);
  let top1 = 0;
  let top5 = 0;
  let counted = 0;
  const skipped: string[] = [];
  const start = performance.now();
  for (const [i, file] of files.entries()) {
    const label = classOf.get(file.split("_")[0]);
    if (label === undefined) continue; // not named by a known wnid
    const path = join(folder, file);
    const x = readImage(path, model, limits);
    if (x === null) {
      skipped.push(path);
      continue;
    }
    let logits = classifyTensor(x);
    if (logits.size === wnids.length + 1) logits = dropBackground(logits);
    if (logits.size !== wnids.length)
      throw new UserError(
        `${values.weights}: the classifier gives ${logits.size} classes, ${classesPath} lists ${wnids.length}`,
      );
    const best = topk(logits.reshape([-1]), 5).indices;
    counted++;
    if (best[0] === label) top1++;
    if (best.includes(label)) top5++;
    if ((i + 1) % 50 === 0)
      process.stderr.write(`  ${i + 1}/${files.length} images, top-1 so far ${((100 * top1) / counted).toFixed(1)}%\n`);
  }
  if (counted === 0) {
    throw new UserError(
      skipped.length > 0
        ? `eval-folder: none of the ${skipped.length} images in '${folder}' could be read`
        : `eval-folder: no image in '${folder}' is named by a wnid of ${classesPath}`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${model.file.arch} on ${folder}: ${counted} images, top-1 ${((100 * top1) / counted).toFixed(1)}% (${top1}), top-5 ${((100 * top5) / counted).toFixed(1)}% (${top5}), ${seconds.toFixed(1)} s`,
  );
  if (skipped.length > 0)
    console.log(
      `skipped ${skipped.length} unreadable image${skipped.length > 1 ? "s" : ""} (not counted):\n${skipped.map((p) => `  ${printable(p)}`).join("\n")}`,
    );
}

/** The model's class count must be the labels file's: a 10-class head scored against 1000 wnids is meaningless. */
function checkClassCount(model: LoadedModel, dir: string, classes: number, classesPath: string): void {
  const numClasses = model.file.model.numClasses;
  if (typeof numClasses === "number" && numClasses !== classes && numClasses !== classes + 1) {
    throw new UserError(
      `${dir}: the classifier has ${numClasses} classes, ${classesPath} lists ${classes} (give --classes with the model's own labels)`,
    );
  }
}

/** TF-slim's 1001-class heads (the TFLite models): logit 0 is "background", 1..1000 the classes in wnid order. */
function dropBackground(logits: Tensor): Tensor {
  return new TensorClass(logits.data.slice(1), [1, logits.size - 1]);
}

/** x -> logits for the model (PaPr when a proposer is given); NaN / infinite logits stop the run. */
function classifier(
  model: LoadedModel,
  weightsDir: string,
  proposerDir: string | undefined,
  z: number,
): (x: Tensor) => Tensor {
  const models =
    proposerDir === undefined ? `--weights ${weightsDir}` : `--weights ${weightsDir} with --proposer ${proposerDir}`;
  const named = (run: (x: Tensor) => Tensor) => (x: Tensor) => {
    try {
      return run(x);
    } catch (e) {
      if (e instanceof NonFiniteError) throw new UserError(`${models}: ${e.message}`);
      throw e;
    }
  };
  if (model.family === "vit") {
    if (proposerDir === undefined) return named((x) => checkFinite("logits (backbone head)", model.vit.forward(x)));
    const proposer = loadModelDir(proposerDir, "proposer (--proposer)");
    if (proposer.family === "vit") throw new UserError("--proposer must be a ConvNet");
    const papr = new Papr(model.vit, proposer.convnet);
    return named((x) => papr.predict(x, { z }).logits);
  }
  if (proposerDir !== undefined) throw new UserError("--proposer needs a ViT in --weights");
  return named((x) => checkFinite("logits (classifier head)", model.convnet.forward(x)));
}

/** The preprocessed image, or null (reported on stderr) when the file cannot be read or decoded. */
function readImage(path: string, model: LoadedModel, limits: ImageLimits): Tensor | null {
  try {
    return preprocess(decodeImage(readImageFile(path), path, limits), model.file.preprocess);
  } catch (e) {
    if (!(e instanceof ImageError || e instanceof UserError)) throw e;
    const message = printable(e.message);
    process.stderr.write(
      `  skipped ${message.startsWith(printable(path)) ? message : `${printable(path)}: ${message}`}\n`,
    );
    return null;
  }
}
