// Shared by the image tests: fixture pictures and pixel comparisons.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../src/tensor/tensor.ts";
import type { RgbImage } from "../../src/image/image.ts";
import { crc32 } from "../../src/image/checksums.ts";

const IMAGES = fileURLToPath(new URL("../fixtures/images/", import.meta.url));

/** The bytes of test/fixtures/images/<name>. */
export function imageBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(IMAGES + name));
}

export interface PixelDiff {
  max: number;
  mean: number;
}

/** Max and mean |a - b| over two equally long arrays (throws naming `what` on a length mismatch). */
export function pixelDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): PixelDiff {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} values, expected ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
    sum += d;
  }
  return { max, mean: sum / Math.max(a.length, 1) };
}

/** Throws unless `image` has the [H, W, 3] shape of `expected` and the same bytes. */
export function assertSameImage(image: RgbImage, expected: Tensor, what: string): void {
  const [h, w, c] = expected.shape;
  if (image.height !== h || image.width !== w || c !== 3) {
    throw new Error(`${what}: got ${image.width}x${image.height}, expected ${w}x${h} (shape [${expected.shape}])`);
  }
  const { max } = pixelDiff(image.data, expected.data, what);
  if (max !== 0) throw new Error(`${what}: pixels differ by up to ${max} levels`);
}

/** Replaces the bytes of `bytes` at `at` (a patched copy). */
export function patched(bytes: Uint8Array, at: number, values: number[]): Uint8Array {
  const copy = bytes.slice();
  copy.set(values, at);
  return copy;
}

/** A PNG with every chunk's CRC recomputed (after patching a field, so the field's own check is reached). */
export function withPngCrcs(png: Uint8Array): Uint8Array {
  const copy = png.slice();
  const view = new DataView(copy.buffer);
  for (let at = 8; at + 12 <= copy.length;) {
    const length = view.getUint32(at);
    if (at + 12 + length > copy.length) break;
    view.setUint32(at + 8 + length, crc32(copy.subarray(at + 4, at + 8 + length)));
    at += 12 + length;
  }
  return copy;
}

/** `patched`, then the PNG's CRCs recomputed. */
export function patchedPng(png: Uint8Array, at: number, values: number[]): Uint8Array {
  return withPngCrcs(patched(png, at, values));
}
