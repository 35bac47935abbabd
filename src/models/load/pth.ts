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
//
// Hostile files: the unpickler's own work is linear in the pickle's bytes (pickle.ts), but the
// object it builds may share one dict through the memo many times over, nest deeply or contain
// itself, and a view may declare far more elements than its storage holds (stride 0). So the walk
// over the state dict counts every visit and its depth and refuses a cycle, every view is checked
// against its storage's bounds before anything is gathered, and every float32 array made (decoded
// storages and gathered copies) is charged to a budget that grows with the file's size.
//
// Limits (override through the options argument):
//   maxVisits       250_000     values visited while flattening the state dict: real state dicts
//                               have a few thousand, shared references may not multiply them
//   maxDepth        64          dict / list nesting; state dicts nest 2-4 levels
//   maxTensors      100_000     tensors in the state dict (about 50x the largest real ones)
//   maxTensorBytes  8 x file size + 64 MiB
//                               float32 bytes made: an int8 storage widens 4x and its gathered
//                               copy 4x more, so 8x covers any view that reads each stored element
//                               once; the 64 MiB lets small files hold shared or expanded views

import { Tensor } from "../../tensor/tensor.ts";
import { halfToFloat } from "../../tensor/safetensors.ts";
import { escapePath, listSome, quote } from "../../tensor/quote.ts";
import { withLimits } from "../../tensor/limits.ts";
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

export interface PthLimits {
  maxVisits: number;
  maxDepth: number;
  maxTensors: number;
  /** Float32 bytes the reader may allocate; default: see pthTensorByteBudget. */
  maxTensorBytes: number;
}

export interface PthOptions extends Partial<PthLimits> {
  /** Dotted path of the nested dict to read, overriding the automatic unwrapping. */
  key?: string;
}

export const PTH_LIMITS: Readonly<Omit<PthLimits, "maxTensorBytes">> = {
  maxVisits: 250_000,
  maxDepth: 64,
  maxTensors: 100_000,
};
/** maxTensorBytes = MATERIALISED_PER_FILE_BYTE x file size + MATERIALISED_SLACK (why: see the table above). */
const MATERIALISED_PER_FILE_BYTE = 8;
const MATERIALISED_SLACK = 64 * 2 ** 20;

/** The default float32 byte budget for a checkpoint of `fileBytes` bytes. */
export function pthTensorByteBudget(fileBytes: number): number {
  return MATERIALISED_PER_FILE_BYTE * fileBytes + MATERIALISED_SLACK;
}

export class PthError extends Error {
  constructor(source: string, message: string) {
    super(`pth ${escapePath(source)}: ${message}`);
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
    if (order !== "little")
      fail(`storages are ${quote(order, 20)}-endian; only little-endian checkpoints are supported`);
  }
  const top = unpickle(zip.read(`${root}data.pkl`), `${source}:${root}data.pkl`);
  const { dict, prefix } = selectStateDict(top, options.key, fail);
  const limits = withLimits<PthLimits>({ ...PTH_LIMITS, maxTensorBytes: pthTensorByteBudget(bytes.length) }, options);
  let bytesLeft = limits.maxTensorBytes;
  const charge = (what: string, elements: number) => {
    if (4 * elements > bytesLeft) {
      fail(
        `${what} would need ${4 * elements} more float32 bytes, over the budget of ${limits.maxTensorBytes} for this ` +
          `${bytes.length}-byte file (views declaring more elements than the file stores?)`,
      );
    }
    bytesLeft -= 4 * elements;
  };

  const out: PthCheckpoint = { tensors: new Map(), integerTensors: new Map(), dtypes: new Map(), prefix, skipped: [] };
  const storages = new Map<string, Float32Array>();
  const storageOf = (name: string, storage: TorchStorage): Float32Array => {
    const cacheKey = `${storage.key}:${storage.dtype}`;
    let values = storages.get(cacheKey);
    if (!values) {
      const entry = `${root}data/${storage.key}`;
      if (!zip.entries.has(entry))
        fail(
          `tensor ${quote(name)} refers to storage ${quote(storage.key)} but the archive has no entry ${quote(entry)}`,
        );
      const raw = zip.read(entry);
      if (raw.length % ITEM_BYTES[storage.dtype] !== 0) {
        fail(`storage ${quote(storage.key)} has ${raw.length} bytes, not a whole number of ${storage.dtype} elements`);
      }
      if (!decodesToView(raw, storage.dtype))
        charge(`storage ${quote(storage.key)}`, raw.length / ITEM_BYTES[storage.dtype]);
      values = decodeStorage(raw, storage.dtype);
      storages.set(cacheKey, values);
    }
    return values;
  };

  let tensorCount = 0;
  for (const [name, value] of flatten(dict, new StateDictWalk(limits, fail))) {
    if (!(value instanceof TorchTensor)) {
      if (out.skipped.length < limits.maxTensors) out.skipped.push(name);
      continue;
    }
    if (++tensorCount > limits.maxTensors) fail(`the state dict holds more than ${limits.maxTensors} tensors`);
    const storage = storageOf(name, value.storage);
    const failView = (message: string) => fail(`tensor ${quote(name)}: ${message}`);
    const size = checkViewBounds(value, storage.length, failView);
    charge(`tensor ${quote(name)}`, size);
    const data = gatherView(storage, value, failView);
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
    fail(`zip archive has no data.pkl, so it is not a torch.save checkpoint (entries: ${listSome(names, 5)})`);
  }
  if (pickles.length > 1) fail(`zip archive has several data.pkl entries (${listSome(pickles, 4)})`);
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
          `no dict at ${quote([...path, part].join("."))} (found ${next === undefined ? "nothing" : describe(next)}; ` +
            `keys there: ${listSome([...dict.keys()].map(String), 12)})`,
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

/** Counts the walk over the state dict (visits, depth) and remembers which containers hold tensors. */
class StateDictWalk {
  private visits = 0;
  private readonly holds = new Map<object, boolean>();
  private readonly ancestors = new Set<object>();
  constructor(
    private readonly limits: PthLimits,
    readonly fail: (message: string) => never,
  ) {}

  /** Counts one visited value (leaf or container) at `name`. */
  visit(name: string, depth: number): void {
    if (++this.visits > this.limits.maxVisits) {
      this.fail(
        `flattening the state dict visits more than ${this.limits.maxVisits} entries (dicts shared through the pickle memo many times?)`,
      );
    }
    if (depth > this.limits.maxDepth)
      this.fail(`the state dict nests deeper than ${this.limits.maxDepth} levels (at ${quote(name, 60)})`);
  }

  /** Called on entering a container at `name`; the matching leave() pops it. */
  enter(container: object, name: string): void {
    if (this.ancestors.has(container)) this.fail(`the entry at ${quote(name)} contains itself`);
    this.ancestors.add(container);
  }

  leave(container: object): void {
    this.ancestors.delete(container);
  }

  /** Whether a list / tuple / dict holds a tensor at any depth (each container examined once). */
  holdsTensor(value: PyValue, depth: number): boolean {
    if (value instanceof TorchTensor) return true;
    const items =
      value instanceof Map
        ? [...value.values()]
        : Array.isArray(value)
          ? value
          : value instanceof PyTuple
            ? value.items
            : undefined;
    if (!items) return false;
    const known = this.holds.get(value as object);
    if (known !== undefined) return known;
    if (depth > this.limits.maxDepth) this.fail(`the state dict nests deeper than ${this.limits.maxDepth} levels`);
    this.holds.set(value as object, false); // a container reached again through itself adds nothing
    const result = items.some((item) => this.holdsTensor(item, depth + 1));
    this.holds.set(value as object, result);
    return result;
  }
}

/** (name, leaf) pairs: dicts and tensor-holding lists/tuples are walked, other values are leaves. */
function* flatten(value: PyValue, walk: StateDictWalk, name = "", depth = 0): Generator<[string, PyValue]> {
  walk.visit(name, depth);
  const join = (key: PyValue) => (name ? `${name}.` : "") + keyString(key);
  const isList = Array.isArray(value) || value instanceof PyTuple;
  if (!(value instanceof Map) && !(isList && walk.holdsTensor(value, depth))) {
    yield [name, value];
    return;
  }
  walk.enter(value as object, name);
  if (value instanceof Map) {
    for (const [key, item] of value) yield* flatten(item, walk, join(key), depth + 1);
  } else {
    const items = Array.isArray(value) ? value : (value as PyTuple).items;
    for (let i = 0; i < items.length; i++) yield* flatten(items[i], walk, join(i), depth + 1);
  }
  walk.leave(value as object);
}

/** Tuple keys ("a", 1) -> "a.1"; nested tuples are cut at a few levels (keys are plain strings in practice). */
function keyString(key: PyValue, depth = 0): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "boolean") return String(key);
  if (key instanceof PyTuple && depth < 4) return key.items.map((k) => keyString(k, depth + 1)).join(".");
  return describe(key);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float32 storages on a little-endian host are read in place, without a copy. */
function decodesToView(raw: Uint8Array, dtype: TorchDType): boolean {
  return dtype === "float32" && littleEndianHost && raw.byteOffset % 4 === 0;
}

/** A whole storage as float32 values. */
export function decodeStorage(raw: Uint8Array, dtype: TorchDType): Float32Array {
  const count = raw.length / ITEM_BYTES[dtype];
  if (decodesToView(raw, dtype)) {
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

/**
 * The element count of a view, after checking (in safe integers, before anything is allocated)
 * that every element it addresses lies inside its storage of `storageLength` elements.
 */
export function checkViewBounds(view: TorchTensor, storageLength: number, fail: (message: string) => never): number {
  const { shape, stride, storageOffset: offset } = view;
  const describeView = () => `view [${listSome(shape, 8)}] with strides [${listSome(stride, 8)}] at offset ${offset}`;
  if (shape.length !== stride.length) fail(`${describeView()}: shape and strides differ in length`);
  let size = 1;
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    size *= shape[d];
    if (shape[d] > 0) last += (shape[d] - 1) * stride[d];
  }
  if (size === 0) return 0;
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(last)) fail(`${describeView()} is too large`);
  if (last >= storageLength) {
    fail(
      `${describeView()} reaches element ${last}, but storage ${quote(view.storage.key)} has ${storageLength} elements (truncated or corrupt)`,
    );
  }
  return size;
}

/** The elements of a strided view, copied into a new contiguous array (row-major). Checks its bounds first. */
export function gatherView(storage: Float32Array, view: TorchTensor, fail: (message: string) => never): Float32Array {
  const { shape, stride, storageOffset: offset } = view;
  const size = checkViewBounds(view, storage.length, fail);
  const out = new Float32Array(size);
  if (size === 0) return out;
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
