// Node adapter: read a checkpoint file from disk and dispatch by its content
// (not its extension) to the pure readers:
//   u64 header length + "{"               -> safetensors
//   "PK\3\4" (zip)                        -> torch.save checkpoint (pth.ts)
//   PROTO + LONG1 magic (bare pickle)     -> legacy torch format: pth.ts rejects it clearly
//   JSON with modelTopology/weightsManifest -> TF.js layers model, shards beside the model.json
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Tensor } from "../../tensor/tensor.ts";
import { readSafetensors } from "../../tensor/safetensors.ts";
import { isLegacyTorch, readPthCheckpoint, type PthCheckpoint, type PthOptions } from "./pth.ts";
import { readTfjsLayersModel, type TfjsLayersModel } from "./tfjs.ts";
import { isZip } from "./zip.ts";

export type CheckpointFormat = "pth" | "safetensors" | "tfjs";

export interface Checkpoint {
  format: CheckpointFormat;
  /** Float weights by name (float32). */
  tensors: Map<string, Tensor>;
  /** The full torch result (integer buffers, skipped entries, unwrapped prefix) for .pth files. */
  pth?: PthCheckpoint;
  /** The TF.js topology, for model.json files. */
  tfjs?: TfjsLayersModel;
}

export class CheckpointError extends Error {
  constructor(path: string, message: string) {
    super(`checkpoint ${path}: ${message}`);
    this.name = "CheckpointError";
  }
}

export function readCheckpointFile(path: string, options: PthOptions = {}): Checkpoint {
  const bytes = readBytes(path, path);
  if (looksLikeSafetensors(bytes)) return { format: "safetensors", tensors: readSafetensors(bytes, path).tensors };
  if (isZip(bytes) || isLegacyTorch(bytes)) {
    const pth = readPthCheckpoint(bytes, path, options);
    return { format: "pth", tensors: pth.tensors, pth };
  }
  const firstChar = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (firstChar === 0x7b) {
    // "{"
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new CheckpointError(path, `looks like JSON but does not parse (${(e as Error).message})`);
    }
    if (!("modelTopology" in json) || !("weightsManifest" in json)) {
      throw new CheckpointError(
        path,
        "JSON file without modelTopology and weightsManifest: not a TF.js layers model.json",
      );
    }
    const folder = dirname(path);
    const tfjs = readTfjsLayersModel(
      json,
      (shard) => readBytes(join(folder, shard), `${path} (weight shard '${shard}')`),
      path,
    );
    return { format: "tfjs", tensors: tfjs.weights, tfjs };
  }
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new CheckpointError(
    path,
    `unrecognised format (first bytes: ${head || "none, empty file"}); ` +
      "expected a torch.save zip (.pth/.pt), a .safetensors file or a TF.js model.json",
  );
}

function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return headerLength >= 2n && headerLength <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CheckpointError(
      what,
      `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}
