// The PNG container, read strictly before any pixel is decoded (PNG spec, 3rd ed., sections 5 and 11):
//   signature; chunks of [length u32][type: 4 ASCII letters][data][CRC-32 of type + data];
//   IHDR first and once; PLTE at most once, before the image data (required for colour type 3,
//   forbidden for gray); IDAT chunks consecutive; IEND last (bytes after it are ignored, as PIL does);
//   an unknown critical chunk (upper-case first letter) is refused, unknown ancillary ones skipped.
// The IDAT data, concatenated, is one zlib stream (RFC 1950): it is inflated in small steps into a
// buffer of exactly the size IHDR implies, so a stream that inflates to more is refused as soon as
// it passes that size (a 1 MB file cannot make us allocate 1 GiB), and its Adler-32 is verified.
import { Inflate } from "fflate";
import { Adler32, crc32 } from "./checksums.ts";
import { ImageError, checkDimensions, type ImageLimits } from "./image.ts";
import { concatBytes } from "../tensor/bytes.ts";

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Allowed bit depths per colour type, and the samples per pixel of each. */
const PNG_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
/** Chunk lengths above 2^31 - 1 are invalid (spec 5.3). */
const MAX_CHUNK_LENGTH = 0x7fffffff;
/**
 * Compressed bytes handed to the inflater per step. Deflate expands at most ~1032:1, so one step
 * produces at most ~4 MB before the size check runs again.
 */
const INFLATE_STEP = 4096;

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

/** A chunk type for a message: the four letters, or hex when they are not letters. */
function typeName(bytes: Uint8Array, at: number): string {
  const type = bytes.subarray(at, at + 4);
  const letters = type.length === 4 && type.every((b) => (b >= 65 && b <= 90) || (b >= 97 && b <= 122));
  return letters ? String.fromCharCode(...type) : `0x${[...type].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const hex32 = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;

/** IHDR's fields, checked (sizes against `limits`) before anything else is read. */
function readIhdr(bytes: Uint8Array, view: DataView, source: string, limits: ImageLimits): PngHeader {
  if (bytes.length < 33) throw new ImageError(source, `truncated PNG: ${bytes.length} bytes, the header needs 33`);
  if (typeName(bytes, 12) !== "IHDR")
    throw new ImageError(source, `corrupt PNG: first chunk is '${typeName(bytes, 12)}', expected IHDR`);
  if (view.getUint32(8) !== 13)
    throw new ImageError(source, `corrupt PNG: IHDR length is ${view.getUint32(8)}, expected 13`);
  checkCrc(bytes, view, 8, 13, "IHDR", source); // before its fields are trusted
  const header = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    depth: bytes[24],
    colorType: bytes[25],
    interlaced: bytes[28] === 1,
  };
  if (!PNG_DEPTHS[header.colorType]?.includes(header.depth)) {
    throw new ImageError(
      source,
      `corrupt PNG: colour type ${header.colorType} with bit depth ${header.depth} is not allowed`,
    );
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) {
    throw new ImageError(
      source,
      `corrupt PNG: IHDR compression ${bytes[26]}, filter ${bytes[27]}, interlace ${bytes[28]} (expected 0, 0, 0 or 1)`,
    );
  }
  checkDimensions(source, header.width, header.height, limits);
  return header;
}

/** Bytes of the filtered scanlines IHDR implies (one filter byte per row, per Adam7 pass when interlaced). */
export function inflatedSize(h: PngHeader): number {
  const bitsPerPixel = h.depth * PNG_CHANNELS[h.colorType];
  const rowBytes = (width: number) => 1 + Math.ceil((width * bitsPerPixel) / 8);
  if (!h.interlaced) return h.height * rowBytes(h.width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const passWidth = Math.ceil((h.width - x0) / dx);
    const passHeight = Math.ceil((h.height - y0) / dy);
    if (passWidth > 0 && passHeight > 0) total += passHeight * rowBytes(passWidth);
  }
  return total;
}

/** Tracks the chunk sequence and throws on a chunk out of place. */
class ChunkOrder {
  private seen = new Set<string>();
  private idatEnded = false;
  private last = "IHDR";

  constructor(
    private readonly source: string,
    private readonly colorType: number,
  ) {}

  next(type: string, at: number): void {
    const fail = (why: string) => new ImageError(this.source, `corrupt PNG: chunk ${type} at byte ${at} ${why}`);
    if (type === "IHDR") throw fail("is a second IHDR");
    if (type === "PLTE") {
      if (this.seen.has("PLTE")) throw fail("is a second palette");
      if (this.seen.has("IDAT")) throw fail("comes after the image data");
      if (this.colorType === 0 || this.colorType === 4)
        throw fail(`is not allowed in a gray image (colour type ${this.colorType})`);
    }
    if (type === "IDAT") {
      if (this.idatEnded) throw fail("is not next to the other IDAT chunks");
      if (this.colorType === 3 && !this.seen.has("PLTE"))
        throw fail("comes before the palette (PLTE) an indexed image needs");
    } else if (this.last === "IDAT") this.idatEnded = true;
    if (type === "IEND" && !this.seen.has("IDAT")) throw fail("ends the file before any image data (IDAT)");
    const critical = type.charCodeAt(0) < 97;
    if (critical && !["PLTE", "IDAT", "IEND"].includes(type)) throw fail("is an unknown critical chunk");
    this.seen.add(type);
    this.last = type;
  }
}

/**
 * Walks and checks every chunk (CRCs, order, lengths) and returns the header and the concatenated
 * IDAT data (the zlib stream).
 */
export function readPngChunks(
  bytes: Uint8Array,
  source: string,
  limits: ImageLimits,
): { header: PngHeader; zlib: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = readIhdr(bytes, view, source, limits);
  const order = new ChunkOrder(source, header.colorType);
  const idat: Uint8Array[] = [];
  for (let at = 8, first = true; ; first = false) {
    if (at + 8 > bytes.length)
      throw new ImageError(source, `truncated PNG: file ends at byte ${bytes.length} before the IEND chunk`);
    const length = view.getUint32(at);
    const type = typeName(bytes, at + 4);
    if (type.startsWith("0x"))
      throw new ImageError(source, `corrupt PNG: chunk at byte ${at} has type ${type}, not four letters`);
    if (length > MAX_CHUNK_LENGTH)
      throw new ImageError(source, `corrupt PNG: chunk ${type} at byte ${at} has length ${length} (limit 2^31 - 1)`);
    if (at + 12 + length > bytes.length) {
      throw new ImageError(
        source,
        `truncated PNG: chunk ${type} at byte ${at} needs ${12 + length} bytes, the file ends at ${bytes.length}`,
      );
    }
    checkCrc(bytes, view, at, length, type, source);
    if (!first) order.next(type, at);
    if (type === "IDAT") idat.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === "IEND") break;
    at += 12 + length;
  }
  return { header, zlib: concatBytes(idat) };
}

/** Throws unless the chunk at `at` (of data `length`) carries the CRC-32 of its type and data. */
function checkCrc(bytes: Uint8Array, view: DataView, at: number, length: number, type: string, source: string): void {
  const stored = view.getUint32(at + 8 + length);
  const computed = crc32(bytes.subarray(at + 4, at + 8 + length));
  if (stored !== computed) {
    throw new ImageError(
      source,
      `corrupt PNG: chunk ${type} at byte ${at} fails its CRC (stored ${hex32(stored)}, computed ${hex32(computed)})`,
    );
  }
}

/**
 * Inflates the IDAT zlib stream without keeping it, checking that it gives exactly `expected` bytes:
 * refuses a stream that would inflate to more (checked after each small step, before it can grow
 * far), one that ends early, a bad zlib header, and a wrong Adler-32. Holds at most one step's output.
 */
export function checkImageData(zlib: Uint8Array, expected: number, source: string): void {
  const corrupt = (why: string) => new ImageError(source, `corrupt PNG: image data ${why}`);
  if (zlib.length < 6) throw corrupt(`is ${zlib.length} bytes, too short for a zlib stream`);
  const [cmf, flg] = zlib;
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) {
    throw corrupt(`has an invalid zlib header (0x${cmf.toString(16)} 0x${flg.toString(16)})`);
  }
  const adler = new Adler32();
  let inflated = 0;
  const inflater = new Inflate((chunk) => {
    inflated += chunk.length;
    if (inflated > expected) throw corrupt(`inflates to more than the ${expected} bytes its IHDR size needs`);
    adler.update(chunk);
  });
  const deflate = zlib.subarray(2, zlib.length - 4);
  try {
    for (let at = 0; at < deflate.length; at += INFLATE_STEP) {
      inflater.push(deflate.subarray(at, at + INFLATE_STEP), at + INFLATE_STEP >= deflate.length);
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw corrupt(`is not a valid deflate stream (${String((e as Error)?.message ?? e)})`);
  }
  if (inflated !== expected) throw corrupt(`inflates to ${inflated} bytes, IHDR's size needs ${expected}`);
  const stored = new DataView(zlib.buffer, zlib.byteOffset + zlib.length - 4, 4).getUint32(0);
  if (stored !== adler.value)
    throw corrupt(`fails its Adler-32 check (stored ${hex32(stored)}, computed ${hex32(adler.value)})`);
}

/** A chunk: length, type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
