// Node adapters for the CLI: converted model directories (config.json + model.safetensors),
// label files, image files, and argument parsing errors.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from "../image/image.ts";
import {
  VIDEO_FAMILIES,
  buildModel,
  buildVideoModel,
  buildVideoProposer,
  type LoadedModel,
  type ModelFile,
} from "../models/registry.ts";
import type { VideoConvNetModel } from "../models/model_spec.ts";
import type { VideoVit } from "../models/video_vit.ts";
import type { QuantizedModelFile } from "../quant/model_file.ts";
import { buildQuantizedModel } from "../quant/quantized_model.ts";
import { MAX_CHECKPOINT_BYTES, readRegularFile } from "../models/load/node.ts";
import { readSafetensors, writeSafetensors } from "../tensor/safetensors.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { loadTfliteFile } from "./tflite_node.ts";

/** A model folder's config.json is a few kB; more is not a config. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

export function loadModelDir(dir: string, role = "model"): LoadedModel {
  if (dir.endsWith(".tflite")) {
    // a TFLite file runs in TFLite's integer arithmetic (tflite_node.ts)
    try {
      return loadTfliteFile(dir);
    } catch (e) {
      throw new UserError(`${role} ${dir}: ${(e as Error).message}`);
    }
  }
  const { file, weights } = readModelDir(dir, role);
  try {
    // a folder written by `papr quantize` (src/quant/model_file.ts)
    if ("quantization" in file) return buildQuantizedModel(file as QuantizedModelFile, weights);
    return buildModel(file, weights);
  } catch (e) {
    throw new UserError(`${dir}: ${(e as Error).message}`);
  }
}

/** A video model folder: a VideoMAE classifier (family videomae) or a 3-D ConvNet proposer (x3d, r3d). */
export type LoadedVideoModel =
  | { family: "videomae"; file: ModelFile; vit: VideoVit }
  | { family: "x3d" | "r3d"; file: ModelFile; convnet: VideoConvNetModel<unknown> };

export function loadVideoModelDir(dir: string, role = "model"): LoadedVideoModel {
  const { file, weights } = readModelDir(dir, role);
  if (!VIDEO_FAMILIES.includes(file.family))
    throw new UserError(`${role} ${dir}: a ${String(file.family)} (${file.arch}) is an image model, not a video model`);
  try {
    if (file.family === "videomae") return { family: "videomae", file, vit: buildVideoModel(file, weights) };
    return { family: file.family as "x3d" | "r3d", file, convnet: buildVideoProposer(file, weights) };
  } catch (e) {
    throw new UserError(`${dir}: ${(e as Error).message}`);
  }
}

/** config.json (checked: JSON, format papr-ts/1) and model.safetensors of a converted model folder. */
function readModelDir(dir: string, role: string): { file: ModelFile; weights: Map<string, Tensor> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `${role} directory '${dir}' does not exist (convert a checkpoint with 'papr convert', or see README)`,
    );
  }
  const configPath = join(dir, "config.json");
  const weightsPath = join(dir, "model.safetensors");
  for (const path of [configPath, weightsPath])
    if (!existsSync(path)) throw new UserError(`${role} directory '${dir}' has no ${path.slice(dir.length + 1)}`);
  let file: ModelFile;
  const configText = new TextDecoder().decode(readRegularFile(configPath, configPath, MAX_CONFIG_BYTES));
  try {
    file = JSON.parse(configText);
  } catch (e) {
    throw new UserError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== "papr-ts/1")
    throw new UserError(`${configPath}: format '${String(file.format)}' is not 'papr-ts/1'`);
  // regular files only (a FIFO or device would hang the read), sizes checked before reading
  const weights = readSafetensors(readRegularFile(weightsPath, weightsPath, MAX_CHECKPOINT_BYTES), weightsPath).tensors;
  return { file, weights };
}

/** The files of a converted model folder. */
export function modelFiles(dir: string): string[] {
  return [join(dir, "config.json"), join(dir, "model.safetensors")];
}

/**
 * Writes a model folder atomically: both files go into a temporary folder beside `dir`, which is
 * renamed into place only once complete, so a failure leaves `dir` as it was (a half-written folder
 * could load and classify with wrong weights). An existing non-empty `dir` is replaced only with `force`.
 */
export function saveModelDir(
  dir: string,
  file: ModelFile,
  weights: Map<string, Tensor>,
  options: { force?: boolean } = {},
): void {
  const target = resolve(dir);
  checkOutFolder(dir, options.force ?? false);
  const parent = dirname(target);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw new UserError(
      `cannot create folder '${parent}' for ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const temporary = join(parent, `.${basename(target)}.${process.pid}.tmp`);
  rmSync(temporary, { recursive: true, force: true });
  try {
    const config = JSON.stringify(file, null, 2) + "\n";
    const tensors = writeSafetensors(weights, { format: "papr-ts/1", arch: file.arch });
    mkdirSync(temporary);
    writeFileSync(join(temporary, "model.safetensors"), tensors);
    writeFileSync(join(temporary, "config.json"), config);
    replaceFolder(temporary, target);
  } catch (e) {
    rmSync(temporary, { recursive: true, force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot write model folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Throws unless `dir` is absent, an empty folder, or (with `force`) any folder. */
export function checkOutFolder(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`--out ${dir}: exists and is not a folder`);
  if (!force && readdirSync(dir).length > 0)
    throw new UserError(`--out ${dir}: folder exists and is not empty (add --force to replace it)`);
}

/** Renames folder `from` to `to`, moving an existing `to` aside first and removing it only after. */
function replaceFolder(from: string, to: string): void {
  if (!existsSync(to)) return renameSync(from, to);
  const old = join(dirname(to), `.${basename(to)}.${process.pid}.old`);
  rmSync(old, { recursive: true, force: true });
  renameSync(to, old);
  try {
    renameSync(from, to);
  } catch (e) {
    renameSync(old, to);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

/** True when `path` is `folder` or inside it. */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(resolve(folder), resolve(path));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Throws when writing `output` (for `flag`) would replace one of the files being read: the same
 * path, or (for an existing file) the same file through a link.
 */
export function refuseOverwrite(flag: string, output: string, inputs: string[]): void {
  const same = (input: string) => {
    if (resolve(input) === resolve(output)) return true;
    if (!existsSync(output) || !existsSync(input)) return false;
    const a = statSync(output);
    const b = statSync(input);
    return a.dev === b.dev && a.ino === b.ino;
  };
  const hit = inputs.find(same);
  if (hit !== undefined)
    throw new UserError(`${flag}: would write ${output}, which is an input (${hit}); choose another path`);
}

/**
 * Writes one output file: creates the missing folders, writes a temporary file beside the target
 * and renames it into place, so a reader never sees a half-written file.
 */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(
      `cannot create folder '${dir}' for ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const temporary = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw new UserError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * A labels file: one label per line, or ImageNet's "index wnid name" lines
 * (../shared/data/imagenet-classes.txt), from which the names are taken.
 */
export function readLabels(path: string): { labels: string[]; wnids?: string[] } {
  if (!existsSync(path)) throw new UserError(`labels file '${path}' does not exist`);
  const lines = readFileSync(path, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
  const indexed = lines.every((l) => /^\d+\s+n\d{8}\s+/.test(l));
  if (!indexed) return { labels: lines.map((l) => l.trim()) };
  return {
    labels: lines.map((l) => l.trim().split(/\s+/).slice(2).join(" ")),
    wnids: lines.map((l) => l.trim().split(/\s+/)[1]),
  };
}

export function readImageFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === "ENOENT"
        ? `${path}: no such file`
        : code === "EISDIR"
          ? `${path}: is a directory, not an image`
          : `${path}: ${(e as Error).message}`,
    );
  }
}

export function parseNumber(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value))
    throw new UserError(`${flag}: '${text}' is not a number`);
  return value;
}

/** A whole number >= 1 written as digits ("1.5", "-1", "1e3" are refused). */
export function parsePositiveInteger(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UserError(`${flag}: '${text}' is not a positive integer`);
  }
  return value;
}

/** --max-megapixels and --max-aspect, for parseArgs. */
export const IMAGE_LIMIT_OPTIONS = {
  "max-megapixels": { type: "string" },
  "max-aspect": { type: "string" },
} as const;

/** The decode limits with --max-megapixels / --max-aspect applied (src/image/image.ts has the defaults). */
export function parseImageLimits(values: { "max-megapixels"?: string; "max-aspect"?: string }): ImageLimits {
  const positive = (flag: string, text: string) => {
    const v = parseNumber(flag, text);
    if (!(v > 0)) throw new UserError(`${flag}: '${text}' must be > 0`);
    return v;
  };
  const limits = { ...DEFAULT_IMAGE_LIMITS };
  if (values["max-megapixels"] !== undefined) {
    limits.maxPixels = Math.floor(positive("--max-megapixels", values["max-megapixels"]) * 1e6);
    limits.maxSide = Math.max(limits.maxSide, 65535); // the pixel count is then the binding limit (JPEG's own maximum side)
  }
  if (values["max-aspect"] !== undefined) limits.maxAspect = positive("--max-aspect", values["max-aspect"]);
  return limits;
}

/** `value` if it is one of `allowed`, else a UserError naming `flag`. */
export function oneOf(flag: string, value: string | undefined, allowed: string[]): string {
  if (value === undefined || !allowed.includes(value))
    throw new UserError(`${flag}: '${value}' is not one of ${allowed.join(", ")}`);
  return value;
}
