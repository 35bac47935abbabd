// safetensors: an 8-byte little-endian header length, a JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {...} },
// then the raw little-endian tensor bytes. Pure TS, no Node built-ins.
//
// Every tensor is returned as float32 (F16 / BF16 / F64 / integer types are
// converted exactly where float32 can hold them); `dtypes` records the source type.

import { Tensor, sizeOf } from "./tensor.ts";

export type DType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  dtypes: Map<string, DType>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`safetensors ${source}: ${message}`);
    this.name = "SafetensorsError";
  }
}

export function readSafetensors(bytes: Uint8Array, source = "<buffer>"): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError(source, `file is ${bytes.length} bytes, too short for a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(
      source,
      `header length ${headerLength} exceeds file size ${bytes.length} (truncated or not safetensors)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new SafetensorsError(source, `header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const out: SafetensorsFile = { tensors: new Map(), dtypes: new Map(), metadata: {} };
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      out.metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new SafetensorsError(source, `tensor '${name}' has unsupported dtype ${dtype}`);
    const [begin, end] = data_offsets;
    const count = sizeOf(shape);
    if (end - begin !== count * BYTES[dtype]) {
      throw new SafetensorsError(
        source,
        `tensor '${name}' [${shape.join(", ")}] ${dtype} needs ${count * BYTES[dtype]} bytes, offsets give ${end - begin}`,
      );
    }
    if (dataStart + end > bytes.length) {
      throw new SafetensorsError(
        source,
        `tensor '${name}' ends at byte ${dataStart + end} but the file has ${bytes.length} (truncated)`,
      );
    }
    const raw = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    out.tensors.set(name, new Tensor(decode(raw, dtype, count), shape));
    out.dtypes.set(name, dtype);
  }
  return out;
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
