// Bytes -> 8-bit RGB, with the colour conversions of PIL's `Image.open(f).convert("RGB")`
// (what timm's loader does), so that preprocessing sees the same pixels:
//   alpha is dropped, not composited; palette indices are looked up (tRNS ignored);
//   16-bit RGB(A) / gray+alpha keep the high byte; 16-bit grayscale (PIL mode "I") is
//   clipped to 0..255, not scaled; 1/2/4-bit grayscale is scaled to 0..255.
// PNG via fast-png, JPEG via jpeg-js (baseline and progressive, gray, Adobe CMYK),
// BMP (uncompressed 24/32-bit) by hand. The format comes from the magic bytes.
// Sizes are checked from the header before any pixel buffer is allocated.
import { decode as decodePngLib } from "fast-png";
import jpeg from "jpeg-js";
import { ImageError, checkDimensions, type RgbImage } from "./image.ts";

export type ImageFormat = "png" | "jpeg" | "bmp";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function detectFormat(bytes: Uint8Array): ImageFormat | null {
  const starts = (magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(PNG_SIGNATURE)) return "png";
  if (starts([0xff, 0xd8, 0xff])) return "jpeg";
  if (starts([0x42, 0x4d])) return "bmp"; // "BM"
  return null;
}

/** Decodes a PNG, JPEG or BMP file to RGB; errors name `source`. */
export function decodeImage(bytes: Uint8Array, source = "<buffer>"): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new ImageError(source, "image bytes must be a Uint8Array");
  switch (detectFormat(bytes)) {
    case "png":
      return decodePng(bytes, source);
    case "jpeg":
      return decodeJpeg(bytes, source);
    case "bmp":
      return decodeBmp(bytes, source);
    default:
      throw new ImageError(source, "not a PNG, JPEG or BMP image");
  }
}

// ---- PNG ----------------------------------------------------------------------

const PNG_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Reads IHDR and walks the chunk list to IEND, so truncation is reported before decoding. */
function readPngHeader(bytes: Uint8Array, source: string) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkType = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 33) throw new ImageError(source, `truncated PNG: ${bytes.length} bytes, the header needs 33`);
  if (chunkType(12) !== "IHDR")
    throw new ImageError(source, `corrupt PNG: first chunk is '${chunkType(12)}', expected IHDR`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const colorType = bytes[25];
  const interlaced = bytes[28] === 1;
  if (!PNG_DEPTHS[colorType]?.includes(depth)) {
    throw new ImageError(source, `corrupt PNG: colour type ${colorType} with bit depth ${depth} is not allowed`);
  }
  checkDimensions(source, width, height);
  let at = 8;
  for (;;) {
    if (at + 8 > bytes.length)
      throw new ImageError(source, `truncated PNG: file ends at byte ${bytes.length} before the IEND chunk`);
    const length = view.getUint32(at);
    const type = chunkType(at + 4);
    if (at + 12 + length > bytes.length) {
      throw new ImageError(
        source,
        `truncated PNG: chunk ${type} at byte ${at} needs ${12 + length} bytes, the file ends at ${bytes.length}`,
      );
    }
    if (type === "IEND") break;
    at += 12 + length;
  }
  return { width, height, depth, colorType, interlaced };
}

function decodePng(bytes: Uint8Array, source: string): RgbImage {
  const header = readPngHeader(bytes, source);
  if (header.interlaced && header.depth < 8) {
    throw new ImageError(
      source,
      `unsupported PNG: interlaced with bit depth ${header.depth} (only 8 and 16 bit can be interlaced)`,
    );
  }
  let png;
  try {
    png = decodePngLib(bytes);
  } catch (e) {
    throw new ImageError(source, `corrupt PNG (${(e as Error).message})`);
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
function eightBitRule(depth: number, channels: number): (v: number) => number {
  if (depth === 16) return channels === 1 ? (v) => Math.min(v, 255) : (v) => v >> 8;
  if (depth < 8) {
    const scale = 255 / ((1 << depth) - 1); // 1 bit: x255, 2 bit: x85, 4 bit: x17
    return (v) => v * scale;
  }
  return (v) => v;
}

/** Packed 1/2/4-bit rows (each row starts on a byte) -> one value per pixel. */
function unpackSamples(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
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

/** Walks the marker segments to the frame header and checks the scan data ends with EOI. */
function readJpegHeader(bytes: Uint8Array, source: string) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (where: string) =>
    new ImageError(source, `truncated JPEG: file ends at byte ${bytes.length} ${where}`);
  let frame: { width: number; height: number; components: number; sof: number } | null = null;
  let at = 2;
  for (;;) {
    if (at + 4 > bytes.length) throw truncated(frame ? "before the scan data" : "before the frame header");
    if (bytes[at] !== 0xff)
      throw new ImageError(source, `corrupt JPEG: expected a marker at byte ${at}, found 0x${bytes[at].toString(16)}`);
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    } // fill byte
    const length = view.getUint16(at + 2);
    if (marker in SOF_NAMES) {
      if (at + 10 > bytes.length) throw truncated("inside the frame header");
      frame = { height: view.getUint16(at + 5), width: view.getUint16(at + 7), components: bytes[at + 9], sof: marker };
    }
    if (marker === 0xda) break; // start of scan: entropy-coded data follows
    at += 2 + length;
  }
  if (!frame) throw new ImageError(source, "corrupt JPEG: scan data before any frame header (SOF)");
  if (frame.sof > 0xc2)
    throw new ImageError(
      source,
      `unsupported JPEG: ${SOF_NAMES[frame.sof]} coding (only baseline, extended and progressive Huffman)`,
    );
  checkDimensions(source, frame.width, frame.height);
  // FF D9 cannot occur inside entropy-coded data (FF is stuffed as FF 00), so its absence means truncation.
  let end = bytes.length - 2;
  while (end > at && !(bytes[end] === 0xff && bytes[end + 1] === 0xd9)) end--;
  if (end <= at) throw truncated("before the end-of-image marker (FFD9)");
  return frame;
}

function decodeJpeg(bytes: Uint8Array, source: string): RgbImage {
  const frame = readJpegHeader(bytes, source);
  if (frame.components !== 1 && frame.components !== 3 && frame.components !== 4) {
    throw new ImageError(source, `unsupported JPEG: ${frame.components} colour components (1, 3 or 4 are read)`);
  }
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: 100,
      maxMemoryUsageInMB: 2048,
    });
  } catch (e) {
    throw new ImageError(source, `corrupt or unsupported JPEG (${(e as Error).message})`);
  }
  return { width: decoded.width, height: decoded.height, data: decoded.data };
}

// ---- BMP ----------------------------------------------------------------------

/** Uncompressed 24-bit (BGR) and 32-bit (BGRX, or byte-aligned BITFIELDS masks) Windows bitmaps. */
function decodeBmp(bytes: Uint8Array, source: string): RgbImage {
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
  checkDimensions(source, width, height);

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
