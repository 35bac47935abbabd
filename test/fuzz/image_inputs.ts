// Hostile image files for the fuzz tests, built at test time (nothing committed): PNGs chunk by
// chunk with node:zlib, JPEGs by rewriting the fixtures' marker segments, and a seeded mutator.
// The CRC here is the bitwise definition (no table), independent of src/image/checksums.ts.
import { deflateSync, createDeflate } from "node:zlib";
import { imageBytes } from "../image/helpers.ts";

/** CRC-32 (ISO 3309, reflected), one bit at a time. */
function crc32Bitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

export function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One chunk: length, type (4 bytes, any values), data, CRC (correct unless `badCrc`). */
export function chunk(type: string | number[], data: ArrayLike<number> = [], badCrc = false): Uint8Array {
  const typeBytes = typeof type === "string" ? [...type].map((c) => c.charCodeAt(0)) : type;
  const body = concat([typeBytes, data]);
  return concat([u32(data.length), body, u32(crc32Bitwise(body) ^ (badCrc ? 1 : 0))]);
}

export const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function ihdr(width: number, height: number, depth = 8, colorType = 2, interlace = 0): Uint8Array {
  return chunk("IHDR", [...u32(width), ...u32(height), depth, colorType, 0, 0, interlace]);
}

/** Filtered scanlines of a w x h 8-bit RGB gradient (filter byte 0 per row). */
export function rgbRows(width: number, height: number): Uint8Array {
  const rows = new Uint8Array(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) rows[y * (1 + 3 * width) + 1 + x] = (x * 7 + y * 13) & 255;
  }
  return rows;
}

/** A valid 8-bit RGB PNG of the gradient (extra chunks go between IHDR and IDAT). */
export function rgbPng(width: number, height: number, extra: Uint8Array[] = []): Uint8Array {
  return concat([
    SIGNATURE,
    ihdr(width, height),
    ...extra,
    chunk("IDAT", deflateSync(rgbRows(width, height))),
    chunk("IEND"),
  ]);
}

/** The zlib stream of `size` zero bytes, deflated in 1 MB steps (never holding `size` bytes). */
export async function zerosDeflated(size: number): Promise<Uint8Array> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on("data", (b: Buffer) => parts.push(b));
  const done = new Promise((resolve) => deflate.on("end", resolve));
  const block = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  deflate.end();
  await done;
  return concat(parts);
}

// ---- JPEG ----------------------------------------------------------------------------------

export interface Segment {
  marker: number;
  at: number;
  end: number; // exclusive; for SOS it includes the entropy-coded data
}

/** The marker segments of a well-formed JPEG, SOS segments with their scan data. */
export function jpegSegments(jpg: Uint8Array): Segment[] {
  const segments: Segment[] = [];
  for (let at = 2; at < jpg.length;) {
    const marker = jpg[at + 1];
    if (marker === 0xd9) break;
    let end = at + 2 + ((jpg[at + 2] << 8) | jpg[at + 3]);
    if (marker === 0xda) {
      while (!(jpg[end] === 0xff && jpg[end + 1] !== 0 && !(jpg[end + 1] >= 0xd0 && jpg[end + 1] <= 0xd7))) end++;
    }
    segments.push({ marker, at, end });
    at = end;
  }
  return segments;
}

/** `jpg` with its frame size set to width x height (the data stays that of the original). */
export function jpegWithSize(jpg: Uint8Array, width: number, height: number): Uint8Array {
  const sof = jpegSegments(jpg).find((s) => s.marker === 0xc0 || s.marker === 0xc2)!;
  const copy = jpg.slice();
  copy.set([height >> 8, height & 255, width >> 8, width & 255], sof.at + 5);
  return copy;
}

/** The progressive fixture with one of its scans (a DC refinement) repeated `extra` more times. */
export function progressiveWithScans(extra: number): Uint8Array {
  const jpg = imageBytes("progressive_64x48.jpg");
  const segments = jpegSegments(jpg);
  const smallest = segments.filter((s) => s.marker === 0xda).reduce((a, b) => (b.end - b.at < a.end - a.at ? b : a)); // DC refinement, 32 bytes
  const last = segments.at(-1)!;
  const scan = jpg.subarray(smallest.at, smallest.end);
  return concat([jpg.subarray(0, last.end), ...Array.from({ length: extra }, () => scan), [0xff, 0xd9]]);
}

// ---- mutation ------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** One to four random edits: bit flips, boundary bytes, 16/32-bit 0xff runs, insertions, deletions, truncation. */
export function mutate(bytes: Uint8Array, rand: () => number): Uint8Array {
  let out: Uint8Array = bytes.slice();
  const edits = 1 + Math.floor(rand() * 4);
  const pick = (n: number) => Math.floor(rand() * n);
  for (let e = 0; e < edits; e++) {
    const at = pick(out.length);
    switch (pick(6)) {
      case 0:
        out[at] ^= 1 << pick(8);
        break;
      case 1:
        out[at] = BOUNDARY[pick(BOUNDARY.length)];
        break;
      case 2:
        out.fill(0xff, at, at + 2 + 2 * pick(2));
        break;
      case 3:
        out = concat([out.subarray(0, at), Array.from({ length: 1 + pick(16) }, () => pick(256)), out.subarray(at)]);
        break;
      case 4:
        out = concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + pick(16)))]);
        break;
      default:
        out = out.slice(0, Math.max(1, at));
        break;
    }
  }
  return out;
}
