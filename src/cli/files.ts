// Node adapters for the CLI: converted model directories (config.json + model.safetensors),
// label files, image files, and argument parsing errors.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { buildModel, type LoadedModel, type ModelFile } from "../models/registry.ts";
import { readSafetensors, writeSafetensors } from "../tensor/safetensors.ts";
import type { Tensor } from "../tensor/tensor.ts";

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

export function loadModelDir(dir: string, role = "model"): LoadedModel {
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
  try {
    file = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (e) {
    throw new UserError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== "papr-ts/1")
    throw new UserError(`${configPath}: format '${String(file.format)}' is not 'papr-ts/1'`);
  const weights = readSafetensors(readFileSync(weightsPath), weightsPath).tensors;
  try {
    return buildModel(file, weights);
  } catch (e) {
    throw new UserError(`${dir}: ${(e as Error).message}`);
  }
}

export function saveModelDir(dir: string, file: ModelFile, weights: Map<string, Tensor>): void {
  writeOutputFile(join(dir, "model.safetensors"), writeSafetensors(weights, { format: "papr-ts/1", arch: file.arch }));
  writeOutputFile(join(dir, "config.json"), JSON.stringify(file, null, 2) + "\n");
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
