// Bytes -> 8-bit RGB, with the colour conversions of PIL's `Image.open(f).convert("RGB")`
// (what timm's loader does), so that preprocessing sees the same pixels:
//   alpha is dropped, not composited; palette indices are looked up (tRNS ignored);
//   16-bit RGB(A) / gray+alpha keep the high byte; 16-bit grayscale (PIL mode "I") is
//   clipped to 0..255, not scaled; 1/2/4-bit grayscale is scaled to 0..255.
// PNG via fast-png, JPEG via jpeg-js (baseline and progressive, gray, Adobe CMYK),
// BMP (uncompressed 24/32-bit) by hand. The format comes from the magic bytes.
// Before a library decodes anything, the container is read here (src/image/png.ts for PNG, the
// marker walk below for JPEG): sizes against the limits of image.ts, checksums, chunk / marker
// order, PNG's inflated size, JPEG's scan count. Errors name the source and never echo raw bytes.
import { decode as decodePngLib } from "fast-png";
import jpeg from "jpeg-js";
import {
  DEFAULT_IMAGE_LIMITS,
  ImageError,
  checkDimensions,
  checkLimits,
  type ImageLimits,
  type RgbImage,
} from "./image.ts";
import { PNG_SIGNATURE, checkImageData, inflatedSize, readPngChunks } from "./png.ts";

export type ImageFormat = "png" | "jpeg" | "bmp";

export function detectFormat(bytes: Uint8Array): ImageFormat | null {
  const starts = (magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(PNG_SIGNATURE)) return "png";
  if (starts([0xff, 0xd8, 0xff])) return "jpeg";
  if (starts([0x42, 0x4d])) return "bmp"; // "BM"
  return null;
}

/** Decodes a PNG, JPEG or BMP file to RGB within `limits`; errors name `source`. */
export function decodeImage(
  bytes: Uint8Array,
  source = "<buffer>",
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new ImageError(source, "image bytes must be a Uint8Array");
  checkLimits(source, limits);
  const image = decodeFormat(bytes, source, limits);
  checkDimensions(source, image.width, image.height, limits); // the decoded size, whatever the header said
  return image;
}

function decodeFormat(bytes: Uint8Array, source: string, limits: ImageLimits): RgbImage {
  switch (detectFormat(bytes)) {
    case "png":
      return decodePng(bytes, source, limits);
    case "jpeg":
      return decodeJpeg(bytes, source, limits);
    case "bmp":
      return decodeBmp(bytes, source, limits);
    default:
      throw new ImageError(source, "not a PNG, JPEG or BMP image");
  }
}

/** A thrown value's message (jpeg-js and fflate may throw strings), cut to one short line. */
function reason(e: unknown): string {
  const text = String((e as Error)?.message ?? e).split("\n")[0];
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// ---- PNG ----------------------------------------------------------------------

function decodePng(bytes: Uint8Array, source: string, limits: ImageLimits): RgbImage {
  const { header, zlib } = readPngChunks(bytes, source, limits);
  if (header.interlaced && header.depth < 8) {
    throw new ImageError(
      source,
      `unsupported PNG: interlaced with bit depth ${header.depth} (only 8 and 16 bit can be interlaced)`,
    );
  }
  // Checks the size, the deflate stream and its Adler-32 without keeping the data; fast-png then
  // inflates the same, now known-good, stream again to unfilter and de-interlace it.
  checkImageData(zlib, inflatedSize(header), source);
  let png;
  try {
    png = decodePngLib(bytes);
  } catch (e) {
    throw new ImageError(source, `corrupt PNG (${reason(e)})`);
  }
  const { width, height, depth } = header;
  const rgb = new Uint8Array(width * height * 3);
  if (png.palette) {
    const indices = unpackSamples(png.data as Uint8Array, width, height, depth);
    for (let i = 0; i < width * height; i++) {
      const color = png.palette[indices[i]] ?? [0, 0, 0]; // an index past the palette reads black
      rgb[3 * i] = color[0];
      rgb[3 * i + 1] = color[1];
      rgb[3 * i + 2] = color[2];
    }
    return { width, height, data: rgb };
  }
  const channels = png.channels;
  const to8 = eightBitRule(depth, channels);
  const samples = depth < 8 ? unpackSamples(png.data as Uint8Array, width, height, depth) : png.data;
  for (let i = 0; i < width * height; i++) {
    if (channels <= 2) {
      const gray = to8(samples[channels * i]);
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray;
    } else {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = to8(samples[channels * i + c]);
    }
  }
  return { width, height, data: rgb };
}

/** How PIL brings one sample of this depth to 8 bits. */
export function eightBitRule(depth: number, channels: number): (v: number) => number {
  if (depth === 16) return channels === 1 ? (v) => Math.min(v, 255) : (v) => v >> 8;
  if (depth < 8) {
    const scale = 255 / ((1 << depth) - 1); // 1 bit: x255, 2 bit: x85, 4 bit: x17
    return (v) => v * scale;
  }
  return (v) => v;
}

/** Packed 1/2/4-bit rows (each row starts on a byte) -> one value per pixel. */
export function unpackSamples(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return packed;
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

// ---- JPEG ---------------------------------------------------------------------

const SOF_NAMES: Record<number, string> = {
  0xc0: "baseline",
  0xc1: "extended sequential",
  0xc2: "progressive",
  0xc3: "lossless",
  0xc5: "differential sequential",
  0xc6: "differential progressive",
  0xc7: "differential lossless",
  0xc9: "arithmetic sequential",
  0xca: "arithmetic progressive",
  0xcb: "arithmetic lossless",
  0xcd: "differential arithmetic sequential",
  0xce: "differential arithmetic progressive",
  0xcf: "differential arithmetic lossless",
};

/** jpeg-js's memory budget per allowed pixel: 3 components of 64-coefficient int32 blocks (12 B) + output. */
const JPEG_BYTES_PER_PIXEL = 24;

interface JpegFrame {
  width: number;
  height: number;
  components: number;
  sof: number;
}

/**
 * Walks every marker segment and scan to the end-of-image marker: one frame header (checked against
 * the limits when it is read), at most `maxJpegScans` scans, nothing truncated.
 */
function readJpegMarkers(bytes: Uint8Array, source: string, limits: ImageLimits): JpegFrame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (where: string) =>
    new ImageError(source, `truncated JPEG: file ends at byte ${bytes.length} ${where}`);
  let frame: JpegFrame | null = null;
  let scans = 0;
  let at = 2;
  for (;;) {
    if (at + 2 > bytes.length)
      throw truncated(
        scans > 0
          ? "before the end-of-image marker (FFD9)"
          : frame
            ? "before the scan data"
            : "before the frame header",
      );
    if (bytes[at] !== 0xff)
      throw new ImageError(source, `corrupt JPEG: expected a marker at byte ${at}, found 0x${bytes[at].toString(16)}`);
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    } // fill byte
    if (marker === 0xd9) break; // end of image
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    } // TEM, RSTn: no length
    if (at + 4 > bytes.length) throw truncated(frame ? "before the scan data" : "before the frame header");
    const length = view.getUint16(at + 2);
    if (length < 2)
      throw new ImageError(source, `corrupt JPEG: marker 0x${marker.toString(16)} at byte ${at} has length ${length}`);
    if (at + 2 + length > bytes.length)
      throw truncated(`inside the segment of marker 0x${marker.toString(16)} at byte ${at}`);
    if (marker in SOF_NAMES) {
      if (frame) throw new ImageError(source, `corrupt JPEG: a second frame header (SOF) at byte ${at}`);
      if (length < 8)
        throw new ImageError(source, `corrupt JPEG: frame header at byte ${at} is ${length} bytes, needs 8`);
      frame = { height: view.getUint16(at + 5), width: view.getUint16(at + 7), components: bytes[at + 9], sof: marker };
      checkFrame(frame, source, limits);
    }
    if (marker !== 0xda) {
      at += 2 + length;
      continue;
    }
    if (!frame) throw new ImageError(source, "corrupt JPEG: scan data before any frame header (SOF)");
    if (++scans > limits.maxJpegScans)
      throw new ImageError(source, `JPEG has more than ${limits.maxJpegScans} scans (limit maxJpegScans)`);
    at = entropyDataEnd(bytes, at + 2 + length);
  }
  if (!frame) throw new ImageError(source, "corrupt JPEG: no frame header (SOF) before the end-of-image marker");
  if (scans === 0) throw new ImageError(source, "corrupt JPEG: no scan (SOS) before the end-of-image marker");
  return frame;
}

/** The offset of the marker that ends entropy-coded data starting at `at` (FF 00 is a stuffed FF, FF D0..D7 a restart). */
function entropyDataEnd(bytes: Uint8Array, at: number): number {
  for (let i = at; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const next = bytes[i + 1];
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      i++;
      continue;
    }
    if (next !== 0xff) return i;
  }
  return bytes.length;
}

function checkFrame(frame: JpegFrame, source: string, limits: ImageLimits): void {
  if (frame.sof > 0xc2)
    throw new ImageError(
      source,
      `unsupported JPEG: ${SOF_NAMES[frame.sof]} coding (only baseline, extended and progressive Huffman)`,
    );
  checkDimensions(source, frame.width, frame.height, limits);
  if (frame.components !== 1 && frame.components !== 3 && frame.components !== 4) {
    throw new ImageError(source, `unsupported JPEG: ${frame.components} colour components (1, 3 or 4 are read)`);
  }
}

function decodeJpeg(bytes: Uint8Array, source: string, limits: ImageLimits): RgbImage {
  const frame = readJpegMarkers(bytes, source, limits);
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((limits.maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20),
    });
  } catch (e) {
    throw new ImageError(source, `corrupt or unsupported JPEG (${reason(e)})`);
  }
  if (decoded.width !== frame.width || decoded.height !== frame.height) {
    throw new ImageError(
      source,
      `corrupt JPEG: decoded ${decoded.width}x${decoded.height}, the frame header says ${frame.width}x${frame.height}`,
    );
  }
  return { width: decoded.width, height: decoded.height, data: decoded.data };
}

// ---- BMP ----------------------------------------------------------------------

/** Uncompressed 24-bit (BGR) and 32-bit (BGRX, or byte-aligned BITFIELDS masks) Windows bitmaps. */
function decodeBmp(bytes: Uint8Array, source: string, limits: ImageLimits): RgbImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 30)
    throw new ImageError(source, `truncated BMP: ${bytes.length} bytes, the header needs at least 30`);
  const pixelOffset = view.getUint32(10, true);
  const infoSize = view.getUint32(14, true);
  if (infoSize < 40)
    throw new ImageError(source, `unsupported BMP: ${infoSize}-byte info header (OS/2 bitmaps are not read)`);
  if (bytes.length < 14 + infoSize)
    throw new ImageError(source, `truncated BMP: ${bytes.length} bytes, the header needs ${14 + infoSize}`);
  const width = view.getInt32(18, true);
  const signedHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(signedHeight);
  checkDimensions(source, width, height, limits);

  // Byte index of R, G, B inside a pixel (little-endian: the mask 0x00ff0000 is byte 2).
  let order = [2, 1, 0];
  if (!(bitsPerPixel === 24 || bitsPerPixel === 32) || !(compression === 0 || compression === 3)) {
    throw new ImageError(
      source,
      `unsupported BMP: ${bitsPerPixel} bits per pixel, compression ${compression} (only uncompressed 24- and 32-bit are read)`,
    );
  }
  if (compression === 3) {
    // BITFIELDS: R, G, B masks at byte 54 (inside a V2+ info header, or just after a 40-byte one).
    if (bytes.length < 66) throw new ImageError(source, "truncated BMP: colour masks missing");
    const masks = [54, 58, 62].map((at) => view.getUint32(at, true));
    const allZero = masks.every((m) => m === 0); // PIL reads all-zero masks as BGR(A)
    if (!allZero) order = masks.map((m) => [0xff, 0xff00, 0xff0000, 0xff000000].indexOf(m));
    if (order.some((o) => o < 0 || o >= bitsPerPixel / 8)) {
      throw new ImageError(
        source,
        `unsupported BMP: colour masks ${masks.map((m) => "0x" + m.toString(16)).join(", ")} are not whole bytes`,
      );
    }
  }
  const pixelBytes = bitsPerPixel / 8;
  const stride = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) {
    throw new ImageError(
      source,
      `truncated BMP: pixel rows need ${pixelOffset + stride * height} bytes, the file has ${bytes.length}`,
    );
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + stride * (signedHeight > 0 ? height - 1 - y : y); // positive height = bottom-up
    for (let x = 0; x < width; x++) {
      const px = row + x * pixelBytes;
      const out = 3 * (y * width + x);
      rgb[out] = bytes[px + order[0]];
      rgb[out + 1] = bytes[px + order[1]];
      rgb[out + 2] = bytes[px + order[2]];
    }
  }
  return { width, height, data: rgb };
}
