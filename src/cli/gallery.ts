// papr gallery [--proposer DIR] [--images DIR...] [--z 0.5] [--grid 14] [--out out/gallery] [--limit N]
// Significance maps and masks of a real ImageNet-pretrained proposer on real photos: one explain
// picture per photo ([photo | significance | kept patches]) plus a contact sheet (gallery.png).
// Defaults: TFLite's MobileNetV2 (else MobileNetV1-0.25) converted from ../shared/weights on
// ../shared/data's photos; output to
// the git-ignored out/ folder (these photos and their derivatives are never committed).
import { existsSync, readdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { decodeImage } from "../image/decode.ts";
import { encodePng } from "../image/encode.ts";
import type { RgbImage } from "../image/image.ts";
import { preprocess, tensorToRgb } from "../image/preprocess.ts";
import { readCheckpointFile } from "../models/load/node.ts";
import { convertCheckpoint } from "../models/registry.ts";
import { explainPicture } from "../papr/explain.ts";
import { proposalMap } from "../papr/proposal.ts";
import { keepCount, keepMask, keptPatches, rankPatches } from "../papr/ranking.ts";
import { patchSignificance } from "../papr/significance.ts";
import {
  IMAGE_LIMIT_OPTIONS,
  UserError,
  loadModelDir,
  parseImageLimits,
  parseNumber,
  parsePositiveInteger,
  readImageFile,
  refuseOverwrite,
  saveModelDir,
  writeOutputFile,
} from "./files.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "..", "shared");
const IMAGE_FILE = /\.(jpe?g|png|bmp)$/i;

export function gallery(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      proposer: { type: "string" },
      images: { type: "string", multiple: true },
      z: { type: "string", default: "0.5" },
      grid: { type: "string", default: "14" },
      out: { type: "string", default: join("out", "gallery") },
      limit: { type: "string", default: "24" },
      ...IMAGE_LIMIT_OPTIONS,
    },
  });
  const proposerDir = values.proposer ?? defaultProposer();
  const proposer = loadModelDir(proposerDir, "proposer (--proposer)");
  if (proposer.family === "vit") throw new UserError("--proposer must be a ConvNet");
  const folders = values.images ?? [join(SHARED, "data", "coral-photos"), join(SHARED, "data", "imagenet-samples")];
  const z = parseNumber("--z", values.z);
  const grid = parsePositiveInteger("--grid", values.grid);
  const limit = parsePositiveInteger("--limit", values.limit);
  const limits = parseImageLimits(values);
  const files = folders
    .flatMap((folder) => {
      if (!existsSync(folder)) throw new UserError(`gallery: image folder '${folder}' does not exist`);
      return readdirSync(folder)
        .filter((f) => IMAGE_FILE.test(f))
        .sort()
        .map((f) => join(folder, f));
    })
    .slice(0, limit);
  const outputOf = (path: string) => join(values.out, `${basename(path, extname(path))}.png`);
  for (const path of files) refuseOverwrite("--out", outputOf(path), files);

  const pictures: RgbImage[] = [];
  for (const path of files) {
    const x = preprocess(decodeImage(readImageFile(path), path, limits), proposer.file.preprocess);
    const significance = patchSignificance(proposalMap(proposer.convnet.features(x)), [grid, grid]);
    const kept = keptPatches(rankPatches(significance), keepCount(z, grid * grid, 1));
    const picture = explainPicture(
      tensorToRgb(x, proposer.file.preprocess.mean, proposer.file.preprocess.std),
      significance,
      keepMask(kept, grid * grid),
    );
    const out = outputOf(path);
    writeOutputFile(out, encodePng(picture.data, picture.width, picture.height));
    pictures.push(picture);
    console.log(`${out}: kept ${kept.length} of ${grid * grid} patches`);
  }
  const sheet = contactSheet(pictures, 2);
  const sheetPath = join(values.out, "gallery.png");
  writeOutputFile(sheetPath, encodePng(sheet.data, sheet.width, sheet.height));
  console.log(`contact sheet: ${sheetPath} (${pictures.length} photos, proposer ${proposer.file.arch}, z = ${z})`);
}

/**
 * The strongest real proposer in ../shared, converted once into the ignored converted/ folder:
 * TFLite's quantized MobileNetV2 (float path) when present, else MobileNetV1-0.25 (TF.js).
 * (--proposer FILE.tflite runs the MobileNetV2 in TFLite's integer arithmetic instead.)
 */
function defaultProposer(): string {
  const tflite = join(SHARED, "weights", "mobilenet_v2_1.0_224_quant_tflite", "mobilenet_v2_1.0_224_quant.tflite");
  if (existsSync(tflite)) return convertedOnce("mobilenet_v2_1.0_224_quant", tflite);
  const source = join(SHARED, "weights", "mobilenet_v1_0.25_224_tfjs", "mobilenet_model.json");
  if (!existsSync(source)) throw new UserError(`gallery: no --proposer given and ${source} is absent`);
  return convertedOnce("mobilenet_v1_0.25_224", source);
}

function convertedOnce(arch: string, source: string): string {
  const dir = join(ROOT, "converted", arch);
  if (existsSync(join(dir, "model.safetensors"))) return dir;
  const checkpoint = readCheckpointFile(source);
  const { file, weights } = convertCheckpoint(
    { tensors: checkpoint.tensors, tfjs: checkpoint.tfjs, tflite: checkpoint.tflite, source: basename(source) },
    arch,
  );
  saveModelDir(dir, file, weights);
  console.log(`converted ${source} -> ${dir}`);
  return dir;
}

/** Pictures of equal size stacked in `columns` columns, 8 px apart. */
function contactSheet(pictures: RgbImage[], columns: number): RgbImage {
  const gap = 8;
  const { width: w, height: h } = pictures[0] ?? { width: 1, height: 1 };
  const rows = Math.max(1, Math.ceil(pictures.length / columns));
  const width = columns * w + (columns - 1) * gap;
  const height = rows * h + (rows - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  pictures.forEach((p, i) => {
    const x0 = (i % columns) * (w + gap);
    const y0 = Math.floor(i / columns) * (h + gap);
    for (let y = 0; y < h; y++) data.set(p.data.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * width + x0) * 3);
  });
  return { width, height, data };
}
