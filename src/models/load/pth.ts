// PyTorch checkpoints (torch.save >= 1.6, zip format) -> named float32 tensors.
// Pure TS, no Node built-ins.
//
// Archive layout: <root>/data.pkl (the pickled object), <root>/data/<key> (raw
// little-endian storages), <root>/version, and in newer torch <root>/byteorder.
// Tensors are views (offset, shape, strides in elements) into storages; views
// sharing a storage and non-contiguous views (transposes, expands) are gathered
// into fresh contiguous copies.
//
// Which dict is the state dict (`prefix` in the result says which was taken):
//   1. `options.key` ("state_dict_ema", "model.backbone", ...) picks a nested dict by dotted path.
//   2. Otherwise start at the top-level dict; while it holds no tensor directly and has a
//      dict under one of WRAPPER_KEYS (tried in that order), step into it. So
//      {"model": sd, "optimizer": ..., "epoch": 3} gives sd, and timm's
//      {"state_dict": sd, "state_dict_ema": ema} gives sd (ask for the EMA with key).
//   3. The chosen dict is flattened: nested dicts / lists holding tensors add
//      "<key>." to the names ({"head": {"fc.weight": t}} -> "head.fc.weight").
// Names are kept as saved (a DataParallel "module." prefix is left for the name maps).
//
// Entries that are not tensors (epoch numbers, strings, None, lists of numbers...)
// are skipped and listed in `skipped`. Floating tensors (float32/16, bfloat16,
// float64) go to `tensors` as float32 (float64 rounded to nearest); integer and
// bool tensors (num_batches_tracked, ...) go to `integerTensors`, also as float32
// (exact up to 2^24). Pickled Python objects other than those are refused by pickle.ts.

import { Tensor, sizeOf } from "../../tensor/tensor.ts";
import { halfToFloat } from "../../tensor/safetensors.ts";
import { isZip, readZip, type ZipArchive } from "./zip.ts";
import {
  unpickle,
  describe,
  PyTuple,
  TorchStorage,
  TorchTensor,
  type PyDict,
  type PyValue,
  type TorchDType,
} from "./pickle.ts";

export const WRAPPER_KEYS = ["state_dict", "model", "module", "model_ema", "state_dict_ema", "net"];

export interface PthCheckpoint {
  /** Floating-point tensors as float32. */
  tensors: Map<string, Tensor>;
  /** Integer and bool tensors (e.g. BatchNorm num_batches_tracked), values as float32. */
  integerTensors: Map<string, Tensor>;
  /** The stored dtype of every tensor in either map. */
  dtypes: Map<string, TorchDType>;
  /** Dotted path of the dict that was read ("" = the top level, "model", "state_dict", ...). */
  prefix: string;
  /** Names of non-tensor entries that were left out. */
  skipped: string[];
}

export interface PthOptions {
  /** Dotted path of the nested dict to read, overriding the automatic unwrapping. */
  key?: string;
}

export class PthError extends Error {
  constructor(source: string, message: string) {
    super(`pth ${source}: ${message}`);
    this.name = "PthError";
  }
}

const ITEM_BYTES: Record<TorchDType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
const FLOATING = new Set<TorchDType>(["float32", "float64", "float16", "bfloat16"]);

/** The float tensors of a torch checkpoint (see readPthCheckpoint for the rules). */
export function readPth(bytes: Uint8Array, source = "<buffer>", options: PthOptions = {}): Map<string, Tensor> {
  return readPthCheckpoint(bytes, source, options).tensors;
}

export function readPthCheckpoint(bytes: Uint8Array, source = "<buffer>", options: PthOptions = {}): PthCheckpoint {
  const fail = (message: string): never => {
    throw new PthError(source, message);
  };
  if (!isZip(bytes)) {
    if (isLegacyTorch(bytes)) {
      fail(
        "legacy (non-zip) torch.save format, written by torch < 1.6 or with _use_new_zipfile_serialization=False, " +
          "is not supported: load it with torch and save it again with torch.save (or as safetensors)",
      );
    }
    fail(`not a PyTorch zip checkpoint (${bytes.length} bytes, starts with ${hexBytes(bytes.subarray(0, 4))})`);
  }
  const zip = readZip(bytes, source);
  const root = archiveRoot(zip, fail);
  if (zip.entries.has(`${root}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${root}byteorder`)).trim();
    if (order !== "little") fail(`storages are ${order}-endian; only little-endian checkpoints are supported`);
  }
  const top = unpickle(zip.read(`${root}data.pkl`), `${source}:${root}data.pkl`);
  const { dict, prefix } = selectStateDict(top, options.key, fail);

  const out: PthCheckpoint = { tensors: new Map(), integerTensors: new Map(), dtypes: new Map(), prefix, skipped: [] };
  const storages = new Map<string, Float32Array>();
  const storageOf = (name: string, storage: TorchStorage): Float32Array => {
    const cacheKey = `${storage.key}:${storage.dtype}`;
    let values = storages.get(cacheKey);
    if (!values) {
      const entry = `${root}data/${storage.key}`;
      if (!zip.entries.has(entry))
        fail(`tensor '${name}' refers to storage '${storage.key}' but the archive has no entry '${entry}'`);
      const raw = zip.read(entry);
      if (raw.length % ITEM_BYTES[storage.dtype] !== 0) {
        fail(`storage '${storage.key}' has ${raw.length} bytes, not a whole number of ${storage.dtype} elements`);
      }
      values = decodeStorage(raw, storage.dtype);
      storages.set(cacheKey, values);
    }
    return values;
  };

  for (const [name, value] of flatten(dict, "")) {
    if (!(value instanceof TorchTensor)) {
      out.skipped.push(name);
      continue;
    }
    const storage = storageOf(name, value.storage);
    const data = gatherView(storage, value, (message) => fail(`tensor '${name}': ${message}`));
    const target = FLOATING.has(value.storage.dtype) ? out.tensors : out.integerTensors;
    target.set(name, new Tensor(data, value.shape));
    out.dtypes.set(name, value.storage.dtype);
  }
  return out;
}

/** The pre-1.6 format is a bare pickle stream opening with PROTO and torch's LONG1 magic number. */
export function isLegacyTorch(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x80 && bytes[1] <= 5 && bytes[2] === 0x8a;
}

/** The folder holding data.pkl ("archive/", or the file's stem for torch >= 1.6 files saved under another name). */
function archiveRoot(zip: ZipArchive, fail: (message: string) => never): string {
  const names = [...zip.entries.keys()];
  if (names.some((n) => /^[^/]*\/?constants\.pkl$/.test(n) || /^[^/]*\/code\//.test(n))) {
    fail(
      "this is a TorchScript archive (torch.jit.save), not a state dict: load it with torch.jit.load in Python and torch.save(model.state_dict())",
    );
  }
  const pickles = names.filter((n) => /^[^/]*\/?data\.pkl$/.test(n));
  if (pickles.length === 0) {
    fail(
      `zip archive has no data.pkl, so it is not a torch.save checkpoint (entries: ${names.slice(0, 5).join(", ")})`,
    );
  }
  if (pickles.length > 1) fail(`zip archive has several data.pkl entries (${pickles.join(", ")})`);
  return pickles[0].slice(0, -"data.pkl".length);
}

function selectStateDict(
  top: PyValue,
  key: string | undefined,
  fail: (message: string) => never,
): { dict: PyDict; prefix: string } {
  if (!(top instanceof Map)) fail(`the checkpoint holds a ${describe(top)}, expected a dict of tensors`);
  let dict = top as PyDict;
  const path: string[] = [];
  if (key !== undefined) {
    for (const part of key.split(".")) {
      const next = dict.get(part);
      if (!(next instanceof Map)) {
        fail(
          `no dict at '${[...path, part].join(".")}' (found ${next === undefined ? "nothing" : describe(next)}; ` +
            `keys there: ${[...dict.keys()].map(String).slice(0, 12).join(", ")})`,
        );
      }
      dict = next as PyDict;
      path.push(part);
    }
    return { dict, prefix: path.join(".") };
  }
  for (;;) {
    const holdsTensor = [...dict.values()].some((v) => v instanceof TorchTensor);
    const wrapper = holdsTensor ? undefined : WRAPPER_KEYS.find((k) => dict.get(k) instanceof Map);
    if (wrapper === undefined) return { dict, prefix: path.join(".") };
    dict = dict.get(wrapper) as PyDict;
    path.push(wrapper);
  }
}

/** (name, leaf) pairs: dicts and tensor-holding lists/tuples are walked, other values are leaves. */
function* flatten(value: PyValue, name: string): Generator<[string, PyValue]> {
  const join = (key: PyValue) => (name ? `${name}.` : "") + keyString(key);
  if (value instanceof Map) {
    for (const [key, item] of value) yield* flatten(item, join(key));
  } else if ((Array.isArray(value) || value instanceof PyTuple) && holdsTensor(value)) {
    const items = Array.isArray(value) ? value : value.items;
    for (let i = 0; i < items.length; i++) yield* flatten(items[i], join(i));
  } else {
    yield [name, value];
  }
}

function holdsTensor(value: PyValue): boolean {
  if (value instanceof TorchTensor) return true;
  if (value instanceof Map) return [...value.values()].some(holdsTensor);
  if (Array.isArray(value)) return value.some(holdsTensor);
  if (value instanceof PyTuple) return value.items.some(holdsTensor);
  return false;
}

function keyString(key: PyValue): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "boolean") return String(key);
  if (key instanceof PyTuple) return key.items.map(keyString).join(".");
  return describe(key);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A whole storage as float32 values. */
export function decodeStorage(raw: Uint8Array, dtype: TorchDType): Float32Array {
  const count = raw.length / ITEM_BYTES[dtype];
  if (dtype === "float32" && littleEndianHost && raw.byteOffset % 4 === 0) {
    return new Float32Array(raw.buffer, raw.byteOffset, count); // a view; gatherView copies out of it
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case "float32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "float64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "float16":
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case "bfloat16": {
      const word = new Uint32Array(1);
      const asFloat = new Float32Array(word.buffer);
      for (let i = 0; i < count; i++) {
        word[0] = view.getUint16(2 * i, true) << 16;
        out[i] = asFloat[0];
      }
      break;
    }
    case "int64":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case "int32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "int16":
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case "int8":
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case "uint8":
    case "bool":
      for (let i = 0; i < count; i++) out[i] = raw[i];
      break;
  }
  return out;
}

/** The elements of a strided view, copied into a new contiguous array (row-major). */
export function gatherView(storage: Float32Array, view: TorchTensor, fail: (message: string) => never): Float32Array {
  const { shape, stride, storageOffset: offset } = view;
  const size = sizeOf(shape);
  const out = new Float32Array(size);
  if (size === 0) return out;
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (last >= storage.length) {
    fail(
      `view [${shape.join(", ")}] with strides [${stride.join(", ")}] at offset ${offset} reaches element ${last}, ` +
        `but storage '${view.storage.key}' has ${storage.length} elements (truncated or corrupt)`,
    );
  }
  if (isContiguous(shape, stride)) {
    out.set(storage.subarray(offset, offset + size));
    return out;
  }
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  for (let i = 0; i < size; i++) {
    out[i] = storage[at];
    for (let d = rank - 1; d >= 0; d--) {
      // odometer step over the last axis first
      at += stride[d];
      if (++index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function hexBytes(b: Uint8Array): string {
  return [...b].map((x) => "0x" + x.toString(16).padStart(2, "0")).join(" ") || "nothing";
}
