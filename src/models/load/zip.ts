// A zip reader for PyTorch checkpoints (.pth / .pt written by torch.save >= 1.6).
// Pure TS, no Node built-ins: it takes the whole file as a Uint8Array.
//
// torch.save writes every entry STORED (method 0, never compressed), with a
// data descriptor (flag bit 3, so the local header's sizes are zero) and a
// central directory; zip64 records appear once entries or offsets pass 4 GiB.
// So: entries are located through the central directory (zip64 aware), and a
// compressed or encrypted entry is rejected with a clear error instead of
// shipping an inflater that torch files never need.
//
// Layout (all little-endian):
//   local header   PK\3\4  ... name, extra, then the entry's bytes
//   central dir    PK\1\2  per entry: method, sizes, local header offset (zip64 extra id 0x0001)
//   [zip64 end record PK\6\6, zip64 locator PK\6\7]
//   end record     PK\5\6  entry count, central dir size and offset, comment

import { escapePath, listSome, quote } from "../../tensor/quote.ts";

export class ZipError extends Error {
  constructor(source: string, message: string) {
    super(`zip ${escapePath(source)}: ${message}`);
    this.name = "ZipError";
  }
}

export interface ZipEntry {
  name: string;
  method: number; // 0 = stored
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  flags: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The entry's bytes (a view into the archive, no copy). Throws naming a missing entry. */
  read(name: string): Uint8Array;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_RECORD = 0x06054b50;
const ZIP64_END_RECORD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END_RECORD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** True when `bytes` starts like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export function readZip(bytes: Uint8Array, source = "<buffer>"): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (message: string): never => {
    throw new ZipError(source, message);
  };
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`zip64 field at byte ${at} is too large (${value})`);
    return Number(value);
  };

  const end = findEndRecord(view);
  if (end < 0) {
    fail(
      isZip(bytes)
        ? `no end-of-central-directory record in ${bytes.length} bytes: the file is truncated`
        : `not a zip archive (no end-of-central-directory record in ${bytes.length} bytes)`,
    );
  }
  let count = u16(end + 10);
  let directorySize = u32(end + 12);
  let directoryOffset = u32(end + 16);
  const locator = end - 20;
  const hasLocator = locator >= 0 && u32(locator) === ZIP64_LOCATOR;
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff || hasLocator) {
    if (!hasLocator) fail("end record asks for zip64 but there is no zip64 locator");
    const record = u64(locator + 8);
    if (record + 56 > bytes.length || u32(record) !== ZIP64_END_RECORD) fail(`no zip64 end record at byte ${record}`);
    count = u64(record + 32);
    directorySize = u64(record + 40);
    directoryOffset = u64(record + 48);
  }
  if (directoryOffset + directorySize > bytes.length) {
    fail(
      `central directory (bytes ${directoryOffset}..${directoryOffset + directorySize}) lies past the end of the ${bytes.length}-byte file: truncated`,
    );
  }

  const entries = new Map<string, ZipEntry>();
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directoryOffset + directorySize || u32(at) !== CENTRAL_HEADER)
      fail(`central directory entry ${i} of ${count} is missing or corrupt (byte ${at})`);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    if (at + 46 + nameLength + extraLength + commentLength > directoryOffset + directorySize)
      fail(`central directory entry ${i} runs past the directory's end`);
    const entry: ZipEntry = {
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      flags: u16(at + 8),
      method: u16(at + 10),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      localHeaderOffset: u32(at + 42),
    };
    readZip64Extra(entry, view, at + 46 + nameLength, extraLength, u64, fail);
    entries.set(entry.name, entry);
    at += 46 + nameLength + extraLength + commentLength;
  }

  const read = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (!entry) fail(`no entry ${quote(name)} (entries: ${listSome(entries.keys(), 8)})`);
    const e = entry!;
    if (e.flags & 1) fail(`entry ${quote(name)} is encrypted`);
    if (e.method !== 0) {
      fail(
        `entry ${quote(name)} uses compression method ${e.method}${e.method === 8 ? " (deflate)" : ""}; torch.save never compresses entries, ` +
          "so this archive was re-packed by another tool: re-save it with torch.save or unzip and re-zip it with -0 (stored)",
      );
    }
    const header = e.localHeaderOffset;
    if (header + 30 > bytes.length || u32(header) !== LOCAL_HEADER)
      fail(`entry ${quote(name)}: no local header at byte ${header} (truncated or corrupt)`);
    const start = header + 30 + u16(header + 26) + u16(header + 28);
    if (start + e.size > bytes.length)
      fail(
        `entry ${quote(name)} (${e.size} bytes at ${start}) runs past the end of the ${bytes.length}-byte file: truncated`,
      );
    return bytes.subarray(start, start + e.size);
  };
  return { entries, read };
}

/** The offset of the end-of-central-directory record, searching back over a possible comment; -1 if none. */
function findEndRecord(view: DataView): number {
  const last = view.byteLength - END_RECORD_SIZE;
  for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
    if (
      view.getUint32(at, true) === END_RECORD &&
      at + END_RECORD_SIZE + view.getUint16(at + 20, true) === view.byteLength
    )
      return at;
  }
  return -1;
}

/** Zip64 extended information (extra id 0x0001): 8-byte values for the fields saturated at 0xffffffff, in this order. */
function readZip64Extra(
  entry: ZipEntry,
  view: DataView,
  start: number,
  length: number,
  u64: (at: number) => number,
  fail: (message: string) => never,
): void {
  for (let at = start; at + 4 <= start + length;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const next = () => {
        if (field + 8 > at + 4 + size) fail(`entry ${quote(entry.name)}: zip64 extra field is too short`);
        const value = u64(field);
        field += 8;
        return value;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + size;
  }
}
