// Hand-built APNG files for the clip tests: chunk by chunk (test/fuzz/image_inputs.ts's chunk(), with its
// own bitwise CRC), so the tests control every field, including lying ones.
import { deflateSync } from "node:zlib";
import { SIGNATURE, chunk, concat, ihdr } from "../fuzz/image_inputs.ts";

const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const u16 = (v: number) => [(v >>> 8) & 255, v & 255];

export interface HandFrame {
  width: number;
  height: number;
  x?: number;
  y?: number;
  dispose?: number; // 0 none, 1 background, 2 previous
  blend?: number; // 0 source, 1 over
  rgba: number[]; // one colour [r, g, b, a] filling the region
}

/** Filtered scanlines (filter 0) of a w x h region of one RGBA colour. */
export function solidRows(width: number, height: number, rgba: number[]): Uint8Array {
  const rows = new Uint8Array(height * (1 + 4 * width));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.set(rgba, y * (1 + 4 * width) + 1 + 4 * x);
  return rows;
}

export function fctl(sequence: number, f: HandFrame): Uint8Array {
  return chunk("fcTL", [
    ...u32(sequence),
    ...u32(f.width),
    ...u32(f.height),
    ...u32(f.x ?? 0),
    ...u32(f.y ?? 0),
    ...u16(1),
    ...u16(10),
    f.dispose ?? 0,
    f.blend ?? 0,
  ]);
}

export function actl(frames: number, plays = 0): Uint8Array {
  return chunk("acTL", [...u32(frames), ...u32(plays)]);
}

/** An RGBA 8-bit APNG of `frames`, frame 0 in IDAT (its region must be the whole canvas). */
export function handApng(width: number, height: number, frames: HandFrame[], declared = frames.length): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(SIGNATURE), ihdr(width, height, 8, 6), actl(declared)];
  let sequence = 0;
  frames.forEach((f, t) => {
    parts.push(fctl(sequence++, f));
    const zlib = deflateSync(solidRows(f.width, f.height, f.rgba));
    parts.push(t === 0 ? chunk("IDAT", zlib) : chunk("fdAT", concat([u32(sequence++), zlib])));
  });
  parts.push(chunk("IEND"));
  return concat(parts);
}

export { u32 };
