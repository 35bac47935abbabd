// safetensors: an 8-byte little-endian header length, a JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {...} },
// then the raw little-endian tensor bytes. Pure TS, no Node built-ins.
//
// Every tensor is returned as float32 (F16 / BF16 / F64 / integer types are
// converted exactly where float32 can hold them); `dtypes` records the source type.
//
// The file is validated as the format's reference loader does before any tensor is read:
//   - header length <= maxHeaderBytes and within the file; the header is UTF-8 JSON, an object
//   - each entry: dtype known, shape a list of non-negative safe integers, data_offsets two
//     non-negative safe integers with begin <= end, end - begin = product(shape) x dtype size
//   - the tensors, sorted by begin, are contiguous and non-overlapping and cover the data region
//     exactly (no gap, no byte after the last tensor); __metadata__ maps strings to strings
// So every tensor is decoded from the file's own bytes (the input view's byteOffset/byteLength,
// never the rest of its ArrayBuffer), and the float32 output is at most 4x the file's data.
//
// Limits (override through the options argument):
//   maxHeaderBytes  100_000_000  the reference loader's own bound on the JSON header
//   maxTensors      100_000      about 50x the tensor count of the largest real checkpoints
//                                (a few thousand); keeps a hostile header from building
//                                millions of entries and multi-megabyte error lists

import { Tensor } from "./tensor.ts";
import { escapePath, escapeText, quote } from "./quote.ts";
import { withLimits } from "./limits.ts";

export type DType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsLimits {
  maxHeaderBytes: number;
  maxTensors: number;
}

export const SAFETENSORS_LIMITS: Readonly<SafetensorsLimits> = { maxHeaderBytes: 100_000_000, maxTensors: 100_000 };

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  dtypes: Map<string, DType>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`safetensors ${escapePath(source)}: ${message}`);
    this.name = "SafetensorsError";
  }
}

/** One validated header entry: bytes [begin, end) of the data region. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

export function readSafetensors(
  bytes: Uint8Array,
  source = "<buffer>",
  options: Partial<SafetensorsLimits> = {},
): SafetensorsFile {
  const limits = withLimits(SAFETENSORS_LIMITS, options);
  const fail = (message: string): never => {
    throw new SafetensorsError(source, message);
  };
  const { header, dataStart } = readHeader(bytes, limits, fail);
  const out: SafetensorsFile = { tensors: new Map(), dtypes: new Map(), metadata: {} };
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") out.metadata = readMetadata(value, fail);
    else entries.push(readEntry(name, value, fail));
  }
  checkLayout(entries, bytes.length - dataStart, fail);
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    out.tensors.set(
      e.name,
      new Tensor(decode(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), e.dtype, e.count), e.shape),
    );
    out.dtypes.set(e.name, e.dtype);
  }
  return out;
}

function readHeader(
  bytes: Uint8Array,
  limits: SafetensorsLimits,
  fail: (m: string) => never,
): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a header`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(limits.maxHeaderBytes))
    fail(`header length ${declared} is over the limit of ${limits.maxHeaderBytes} bytes (corrupt or not safetensors)`);
  const headerLength = Number(declared);
  if (headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} exceeds file size ${bytes.length} (truncated or not safetensors)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${escapeText((e as Error).message, 80)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    fail(`header is JSON ${jsonKind(header)}, expected an object`);
  const count = Object.keys(header as object).length - (Object.hasOwn(header as object, "__metadata__") ? 1 : 0);
  if (count > limits.maxTensors) fail(`header declares ${count} tensors, over the limit of ${limits.maxTensors}`);
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLength };
}

function readMetadata(value: unknown, fail: (m: string) => never): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(`__metadata__ is ${jsonKind(value)}, expected an object of strings`);
  for (const [key, item] of Object.entries(value as object)) {
    if (typeof item !== "string") fail(`__metadata__ ${quote(key)} is ${jsonKind(item)}, expected a string`);
  }
  return value as Record<string, string>;
}

function readEntry(name: string, value: unknown, fail: (m: string) => never): Entry {
  const what = `tensor ${quote(name)}`;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(`${what} is ${jsonKind(value)}, expected { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(BYTES, dtype))
    fail(`${what} has unsupported dtype ${typeof dtype === "string" ? quote(dtype, 20) : jsonKind(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount))
    fail(`${what}: shape must be a list of non-negative integers, got ${describeJson(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`${what}: data_offsets must be two non-negative integers [begin, end], got ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  const count = (shape as number[]).reduce((n, d) => n * d, 1);
  const size = count * BYTES[dtype as DType];
  if (!Number.isSafeInteger(size)) fail(`${what}: shape [${listShape(shape as number[])}] is too large`);
  if (end - begin !== size) {
    fail(
      `${what} [${listShape(shape as number[])}] ${dtype} needs ${size} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
    );
  }
  return { name, dtype: dtype as DType, shape: shape as number[], count, begin, end };
}

/** Sorted by begin, the tensors must tile [0, dataLength) exactly, as the reference loader requires. */
function checkLayout(entries: Entry[], dataLength: number, fail: (m: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.end > dataLength)
      fail(
        `tensor ${quote(e.name)} ends at data byte ${e.end} but the file holds ${dataLength} data bytes (truncated)`,
      );
    if (e.begin < expected)
      fail(
        `tensor ${quote(e.name)} (data bytes ${e.begin}..${e.end}) overlaps the tensor before it (which ends at ${expected})`,
      );
    if (e.begin > expected)
      fail(`data bytes ${expected}..${e.begin} belong to no tensor (gap before ${quote(e.name)})`);
    expected = e.end;
  }
  if (expected !== dataLength)
    fail(
      `${dataLength - expected} bytes after the last tensor belong to no tensor (data region is ${dataLength} bytes, tensors use ${expected})`,
    );
}

function isCount(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function listShape(shape: number[]): string {
  return shape.length > 8 ? `${shape.slice(0, 8).join(", ")}, ... (${shape.length} dims)` : shape.join(", ");
}

function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A JSON value for an error: short, escaped. */
function describeJson(v: unknown): string {
  const text = typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v));
  return escapeText(text, 60);
}

function decode(raw: DataView, dtype: DType, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = raw.getFloat32(4 * i, true);
      break;
    case "F64":
      for (let i = 0; i < count; i++) out[i] = raw.getFloat64(8 * i, true);
      break;
    case "F16":
      for (let i = 0; i < count; i++) out[i] = halfToFloat(raw.getUint16(2 * i, true));
      break;
    case "BF16": {
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, raw.getUint16(2 * i, true) << 16);
        out[i] = word.getFloat32(0);
      }
      break;
    }
    case "I64":
      for (let i = 0; i < count; i++) out[i] = Number(raw.getBigInt64(8 * i, true));
      break;
    case "I32":
      for (let i = 0; i < count; i++) out[i] = raw.getInt32(4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < count; i++) out[i] = raw.getInt16(2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < count; i++) out[i] = raw.getInt8(i);
      break;
    case "U8":
    case "BOOL":
      for (let i = 0; i < count; i++) out[i] = raw.getUint8(i);
      break;
  }
  return out;
}

/** IEEE 754 binary16 bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Writes float32 tensors (names sorted, as the Python library does). */
export function writeSafetensors(
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * t.size] };
    offset += 4 * t.size;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += " "; // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    for (let i = 0; i < t.size; i++) view.setFloat32(at + 4 * i, t.data[i], true);
    at += 4 * t.size;
  }
  return out;
}
