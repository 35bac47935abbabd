// Node adapter: read a checkpoint file from disk and dispatch by its content
// (not its extension) to the pure readers:
//   u64 header length + "{"               -> safetensors
//   "PK\3\4" (zip)                        -> torch.save checkpoint (pth.ts)
//   PROTO + LONG1 magic (bare pickle)     -> legacy torch format: pth.ts rejects it clearly
//   JSON with modelTopology/weightsManifest -> TF.js layers model, shards beside the model.json
//
// Confinement: files are opened without blocking (a FIFO cannot hang the open), and only regular
// files are read (no FIFO, device, directory or socket), after their size is checked against the
// limit: /dev/zero or /dev/urandom never get read. A TF.js shard path is checked by tfjs.ts
// (relative, no ".."), then resolved with symlinks (realpath) and must still lie inside the
// model.json's real folder, and be no larger than the bytes its group still needs.
//
// Limits:
//   MAX_CHECKPOINT_BYTES  2^31 - 1  Node's largest single file read (readFileSync refuses more);
//                                   ViT-L/16 in float32 is 1.2 GB
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import type { Tensor } from "../../tensor/tensor.ts";
import { readSafetensors, type SafetensorsLimits } from "../../tensor/safetensors.ts";
import { escapePath, escapeText, quote } from "../../tensor/quote.ts";
import { isLegacyTorch, readPthCheckpoint, type PthCheckpoint, type PthOptions } from "./pth.ts";
import { readTfjsLayersModel, type TfjsLayersModel, type TfjsLimits } from "./tfjs.ts";
import { readTflite, type TfliteLimits, type TfliteModel } from "./tflite.ts";
import { isZip } from "./zip.ts";

export type CheckpointFormat = "pth" | "safetensors" | "tfjs" | "tflite";

export interface Checkpoint {
  format: CheckpointFormat;
  /** Float weights by name (float32). */
  tensors: Map<string, Tensor>;
  /** The full torch result (integer buffers, skipped entries, unwrapped prefix) for .pth files. */
  pth?: PthCheckpoint;
  /** The TF.js topology, for model.json files. */
  tfjs?: TfjsLayersModel;
  tflite?: TfliteModel;
}

export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;

/** Per-format limits (see the tables at the top of pth.ts, safetensors.ts and tfjs.ts). */
export type CheckpointOptions = PthOptions & Partial<SafetensorsLimits> & Partial<TfjsLimits> & Partial<TfliteLimits>;

export class CheckpointError extends Error {
  constructor(path: string, message: string) {
    super(`checkpoint ${escapePath(path)}: ${message}`);
    this.name = "CheckpointError";
  }
}

export function readCheckpointFile(path: string, options: CheckpointOptions = {}): Checkpoint {
  const bytes = readRegularFile(path, path, MAX_CHECKPOINT_BYTES);
  if (looksLikeSafetensors(bytes))
    return { format: "safetensors", tensors: readSafetensors(bytes, path, options).tensors };
  if (isZip(bytes) || isLegacyTorch(bytes)) {
    const pth = readPthCheckpoint(bytes, path, options);
    return { format: "pth", tensors: pth.tensors, pth };
  }
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === "TFL3") {
    const tflite = readTflite(bytes, path, options);
    return { format: "tflite", tensors: new Map(), tflite };
  }
  const firstChar = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (firstChar === 0x7b) {
    // "{"
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new CheckpointError(path, `looks like JSON but does not parse (${escapeText((e as Error).message, 80)})`);
    }
    if (!("modelTopology" in json) || !("weightsManifest" in json)) {
      throw new CheckpointError(
        path,
        "JSON file without modelTopology and weightsManifest: not a TF.js layers model.json",
      );
    }
    const folder = realFolder(path);
    const readShard = (shard: string, maxBytes: number) =>
      readShardInside(folder, shard, maxBytes, `${path} (weight shard ${quote(shard)})`);
    const tfjs = readTfjsLayersModel(json, readShard, path, options);
    return { format: "tfjs", tensors: tfjs.weights, tfjs };
  }
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new CheckpointError(
    path,
    `unrecognised format (first bytes: ${head || "none, empty file"}); ` +
      "expected a torch.save zip (.pth/.pt), a .safetensors file, a TF.js model.json or a .tflite file",
  );
}

function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return headerLength >= 2n && headerLength <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

function realFolder(modelJson: string): string {
  try {
    return realpathSync(dirname(modelJson));
  } catch (e) {
    throw new CheckpointError(modelJson, `cannot resolve its folder (${errorCode(e)})`);
  }
}

/** A shard's bytes, if its real path (symlinks resolved) lies inside `folder` and it is a regular file of at most `maxBytes`. */
function readShardInside(folder: string, shard: string, maxBytes: number, what: string): Uint8Array {
  let real: string;
  try {
    real = realpathSync(resolve(folder, shard));
  } catch (e) {
    throw new CheckpointError(what, `cannot read ${escapePath(resolve(folder, shard))} (${errorCode(e)})`);
  }
  if (!real.startsWith(folder.endsWith(sep) ? folder : folder + sep)) {
    throw new CheckpointError(
      what,
      "resolves (through a symlink) to a file outside the model.json's folder; shards must lie inside it",
    );
  }
  return readRegularFile(real, what, maxBytes, "its group's weights need only");
}

/**
 * The bytes of a regular file of at most `maxBytes`. Opened non-blocking, so a FIFO cannot hang the
 * open, and checked (fstat on the open file, so it cannot be swapped in between) before reading.
 */
export function readRegularFile(
  path: string,
  what: string,
  maxBytes: number,
  limitReason = "the limit is",
): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new CheckpointError(what, `cannot read ${escapePath(path)} (${errorCode(e)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CheckpointError(what, `${escapePath(path)} is ${fileKind(stat)}, not a regular file`);
    if (stat.size > maxBytes)
      throw new CheckpointError(what, `${escapePath(path)} has ${stat.size} bytes; ${limitReason} ${maxBytes}`);
    return readExactly(fd, stat.size, path, what);
  } finally {
    closeSync(fd);
  }
}

function readExactly(fd: number, size: number, path: string, what: string): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const n = readSync(fd, out, at, size - at, null);
    if (n === 0)
      throw new CheckpointError(what, `${escapePath(path)} shrank while being read (${at} of ${size} bytes)`);
    at += n;
  }
  return out;
}

function fileKind(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO (named pipe)";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? escapeText((e as Error).message, 80);
}
