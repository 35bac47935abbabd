// 8-bit RGB or RGBA pixels -> PNG file bytes (fast-png), for the explain pictures; RGB clips -> animated PNG.
import { encode as encodePngLib } from "fast-png";
import { concatBytes } from "../tensor/bytes.ts";
import { checkRgbClip, clipFrame, type RgbClip } from "./clip.ts";
import { ImageError } from "./image.ts";
import { PNG_SIGNATURE, pngChunk } from "./png.ts";

/** Encodes row-major 8-bit pixels; 3 bytes per pixel = RGB, 4 = RGBA (decided by data.length). */
export function encodePng(data: Uint8Array, width: number, height: number): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new ImageError("encodePng", "pixel data must be a Uint8Array");
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError("encodePng", `image size must be positive integers, got ${width}x${height}`);
  }
  const pixels = width * height;
  const channels = data.length / pixels;
  if (channels !== 3 && channels !== 4) {
    throw new ImageError(
      "encodePng",
      `${width}x${height} needs ${pixels * 3} (RGB) or ${pixels * 4} (RGBA) bytes, got ${data.length}`,
    );
  }
  return encodePngLib({ width, height, data, channels, depth: 8 });
}

/** The concatenated IDAT data (one zlib stream) of a PNG that fast-png wrote. */
function idatOf(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 8; at + 12 <= png.length; at += 12 + view.getUint32(at)) {
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (type === "IDAT") parts.push(png.subarray(at + 8, at + 8 + view.getUint32(at)));
  }
  return concatBytes(parts);
}

/**
 * An RGB clip -> an animated PNG (APNG 1.0, src/image/apng.ts reads it): 8-bit RGB, every frame a full
 * canvas (fcTL region = the whole image, dispose none, blend source), frame 0 is the IDAT default image.
 * `delayMs` per frame (stored as delayMs / 1000 s), `plays` 0 = loop forever. Viewers without APNG
 * support show frame 0.
 */
export function encodeApng(clip: RgbClip, options: { delayMs?: number; plays?: number } = {}): Uint8Array {
  checkRgbClip("encodeApng", clip);
  const { delayMs = 100, plays = 0 } = options;
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 65535)
    throw new ImageError("encodeApng", `delayMs must be an integer in 0..65535, got ${delayMs}`);
  if (!Number.isInteger(plays) || plays < 0 || plays > 0x7fffffff)
    throw new ImageError("encodeApng", `plays must be a non-negative integer, got ${plays}`);
  const { frames, width, height } = clip;
  const u32 = (...values: number[]) => {
    const out = new Uint8Array(4 * values.length);
    values.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v));
    return out;
  };
  const ihdr = concatBytes([u32(width, height), new Uint8Array([8, 2, 0, 0, 0])]);
  const parts = [new Uint8Array(PNG_SIGNATURE), pngChunk("IHDR", ihdr), pngChunk("acTL", u32(frames, plays))];
  let sequence = 0;
  for (let t = 0; t < frames; t++) {
    const fctl = new Uint8Array(26);
    const view = new DataView(fctl.buffer);
    [sequence++, width, height, 0, 0].forEach((v, i) => view.setUint32(4 * i, v));
    view.setUint16(20, delayMs);
    view.setUint16(22, 1000);
    parts.push(pngChunk("fcTL", fctl)); // dispose_op 0 (none), blend_op 0 (source)
    const zlib = idatOf(encodePng(clipFrame(clip, t).data.slice(), width, height));
    parts.push(t === 0 ? pngChunk("IDAT", zlib) : pngChunk("fdAT", concatBytes([u32(sequence++), zlib])));
  }
  parts.push(pngChunk("IEND", new Uint8Array(0)));
  return concatBytes(parts);
}
