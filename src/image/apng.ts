// Animated PNG (APNG 1.0, also PNG spec 3rd ed. section 11.3.6) -> RgbClip.
//   acTL  once, before the image data: num_frames, num_plays
//   fcTL  one per frame: sequence number, the frame's region (width, height, x, y) inside the canvas,
//         delay, dispose_op (0 none, 1 background, 2 previous), blend_op (0 source, 1 over)
//   IDAT  the default image; it is frame 0 when an fcTL comes before it, else a still fallback that is
//         no frame of the animation (and is skipped here)
//   fdAT  the data of the later frames: sequence number + the frame's own zlib stream
// Sequence numbers of fcTL and fdAT chunks together count 0, 1, 2, ... in file order.
//
// Compositing, as PIL's reader does it (the reference for every decoder here; the APNG spec's
// "output buffer" with PIL's arithmetic): an RGBA canvas of IHDR's size; frame 0 is shown as decoded (it
// covers the canvas), each later frame's region is drawn with blend_op: source replaces the region's RGBA;
// over blends every channel, alpha included, by the frame pixel's alpha a: c = round((c_canvas (255 - a)
// + c_frame a) / 255) (PIL's paste with an alpha mask; the spec's formula differs where the canvas is
// partly transparent, and where it is fully transparent keeps no colour, PIL keeps the stored one). After
// a frame is output, its region is disposed: none keeps it, background clears it to transparent black,
// previous restores the canvas as it was before the frame (dispose previous on frame 0 acts as
// background, as the spec says). The clip's frames are the output canvases with alpha dropped (as
// decodeImage drops it: PIL's convert("RGB")).
// Where PIL differs: with an IDAT default image that is not a frame (no fcTL before IDAT), PIL counts it
// as frame 0 and draws the animation over it; here, as in the spec, the animation starts on an empty
// canvas without it. PIL blends palette indices for blend over of a palette image; here colours.
//
// Hostile input: the container is checked as a PNG first (readPngChunks: CRCs, chunk order, IHDR against
// the limits, the IDAT stream's inflated size), then acTL's frame count and frames x canvas pixels
// against maxFrames / maxClipPixels before the clip is allocated, every fcTL's region inside the canvas,
// the sequence numbers, and each frame's zlib stream against the exact size its region needs (so no
// frame inflates to more). Pixels are unfiltered by fast-png (its decoder on the frame's own stream),
// colours brought to 8 bits as decode.ts does for stills.
import { decode as decodePngLib } from "fast-png";
import { checkClipSize, type RgbClip } from "./clip.ts";
import { eightBitRule, unpackSamples } from "./decode.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, checkLimits, type ImageLimits } from "./image.ts";
import { PNG_SIGNATURE, checkImageData, inflatedSize, pngChunk, readPngChunks, type PngHeader } from "./png.ts";
import { concatBytes } from "../tensor/bytes.ts";

const DISPOSE = ["none", "background", "previous"] as const;
const BLEND = ["source", "over"] as const;

export interface ApngFrameControl {
  sequence: number;
  width: number;
  height: number;
  x: number;
  y: number;
  delayNum: number;
  delayDen: number;
  dispose: (typeof DISPOSE)[number];
  blend: (typeof BLEND)[number];
}

interface ApngFrame {
  control: ApngFrameControl;
  zlib: Uint8Array; // the frame's zlib stream (IDAT data, or fdAT data without the sequence numbers)
}

interface ApngContainer {
  header: PngHeader;
  plays: number;
  frames: ApngFrame[];
  palette: Uint8Array | null; // [entries, 3]
  trns: Uint8Array | null; // tRNS chunk data
}

/** True when the PNG bytes carry an acTL chunk before the image data (an animated PNG). */
export function isApng(bytes: Uint8Array): boolean {
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return false;
  for (const c of walkChunks(bytes)) {
    if (c.type === "acTL") return true;
    if (c.type === "IDAT" || c.type === "IEND") return false;
  }
  return false;
}

/** A chunk's type, data and offset; the chunks were already checked by readPngChunks (lengths, CRCs). */
function* walkChunks(bytes: Uint8Array): Generator<{ type: string; data: Uint8Array; at: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) return;
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    yield { type, data: bytes.subarray(at + 8, at + 8 + length), at };
    if (type === "IEND") return;
    at += 12 + length;
  }
}

const u32 = (data: Uint8Array, at: number) => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(at);
const u16 = (data: Uint8Array, at: number) => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(at);

function readFrameControl(data: Uint8Array, at: number, header: PngHeader, source: string): ApngFrameControl {
  const fail = (why: string) => new ImageError(source, `corrupt APNG: fcTL at byte ${at} ${why}`);
  if (data.length !== 26) throw fail(`is ${data.length} bytes, expected 26`);
  const control = {
    sequence: u32(data, 0),
    width: u32(data, 4),
    height: u32(data, 8),
    x: u32(data, 12),
    y: u32(data, 16),
    delayNum: u16(data, 20),
    delayDen: u16(data, 22),
    dispose: DISPOSE[data[24]],
    blend: BLEND[data[25]],
  };
  if (!control.dispose) throw fail(`has dispose_op ${data[24]} (0, 1 or 2)`);
  if (!control.blend) throw fail(`has blend_op ${data[25]} (0 or 1)`);
  const { width, height, x, y } = control;
  if (width === 0 || height === 0 || x + width > header.width || y + height > header.height) {
    throw fail(
      `region ${width}x${height} at (${x}, ${y}) is empty or leaves the ${header.width}x${header.height} canvas`,
    );
  }
  return control;
}

/** Walks the APNG chunks: acTL, then per frame its fcTL and data, checking counts and sequence numbers. */
function readApngContainer(bytes: Uint8Array, source: string, limits: ImageLimits): ApngContainer {
  const { header } = readPngChunks(bytes, source, limits);
  let declared = -1;
  let plays = 0;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const frames: { control: ApngFrameControl; parts: Uint8Array[] }[] = [];
  let sequence = 0;
  let seenIdat = false;
  const idat: Uint8Array[] = [];
  let idatIsFrame = false;
  for (const { type, data, at } of walkChunks(bytes)) {
    const fail = (why: string) => new ImageError(source, `corrupt APNG: chunk ${type} at byte ${at} ${why}`);
    if (type === "PLTE") palette = data;
    else if (type === "tRNS") trns = data;
    else if (type === "acTL") {
      if (declared >= 0) throw fail("is a second acTL");
      if (seenIdat) throw fail("comes after the image data (it must come before IDAT)");
      if (data.length !== 8) throw fail(`is ${data.length} bytes, expected 8`);
      declared = u32(data, 0);
      plays = u32(data, 4);
      if (declared === 0) throw fail("declares 0 frames");
      checkClipSize(source, declared, header.width, header.height, limits); // before any frame is kept
    } else if (type === "fcTL" || type === "fdAT") {
      if (declared < 0) throw fail("comes before the acTL chunk");
      if (data.length < 4) throw fail(`is ${data.length} bytes, too short for a sequence number`);
      if (u32(data, 0) !== sequence) throw fail(`has sequence number ${u32(data, 0)}, expected ${sequence}`);
      sequence++;
      if (type === "fcTL") {
        if (frames.length === declared) throw fail(`starts frame ${frames.length + 1}, acTL declares ${declared}`);
        if (!seenIdat && frames.length > 0) throw fail("is a second fcTL before the image data (IDAT)");
        const control = readFrameControl(data, at, header, source);
        if (
          !seenIdat &&
          (control.x !== 0 || control.y !== 0 || control.width !== header.width || control.height !== header.height)
        ) {
          throw fail(`(the default image's frame) must cover the whole ${header.width}x${header.height} canvas`);
        }
        if (!seenIdat) idatIsFrame = true;
        frames.push({ control, parts: idatIsFrame && !seenIdat ? idat : [] });
      } else {
        const frame = frames[frames.length - 1];
        if (!seenIdat || !frame || (idatIsFrame && frame.parts === idat))
          throw fail("has no fcTL of its own before it");
        frame.parts.push(data.subarray(4));
      }
    } else if (type === "IDAT") {
      seenIdat = true;
      idat.push(data);
    }
  }
  if (declared < 0) {
    // a still PNG: its image as a one-frame clip
    const control = { sequence: 0, width: header.width, height: header.height, x: 0, y: 0, delayNum: 0, delayDen: 0 };
    return {
      header,
      plays: 0,
      palette,
      trns,
      frames: [{ control: { ...control, dispose: "none", blend: "source" }, zlib: concatBytes(idat) }],
    };
  }
  if (frames.length !== declared)
    throw new ImageError(source, `corrupt APNG: acTL declares ${declared} frames, the file has ${frames.length}`);
  const missing = frames.findIndex((f) => f.parts.length === 0);
  if (missing >= 0) throw new ImageError(source, `corrupt APNG: frame ${missing} has no image data (fdAT)`);
  return {
    header,
    plays,
    palette,
    trns,
    frames: frames.map((f) => ({ control: f.control, zlib: concatBytes(f.parts) })),
  };
}

// ---- one frame's pixels --------------------------------------------------------------------------

/** The frame region's pixels as RGBA 8-bit [height, width, 4]: its zlib stream as a PNG of the region's size. */
function framePixels(container: ApngContainer, frame: ApngFrame, source: string): Uint8Array {
  const { header, palette, trns } = container;
  const { width, height } = frame.control;
  const regionHeader = { ...header, width, height };
  checkImageData(frame.zlib, inflatedSize(regionHeader), source);
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([header.depth, header.colorType, 0, 0, header.interlaced ? 1 : 0], 8);
  const png = concatBytes([
    new Uint8Array(PNG_SIGNATURE),
    pngChunk("IHDR", ihdr),
    ...(palette ? [pngChunk("PLTE", palette)] : []),
    pngChunk("IDAT", frame.zlib),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
  let decoded;
  try {
    decoded = decodePngLib(png);
  } catch (e) {
    throw new ImageError(source, `corrupt APNG frame (${String((e as Error)?.message ?? e).slice(0, 100)})`);
  }
  return toRgba(decoded.data, width, height, header, palette, trns);
}

/** Decoded samples -> RGBA8, with tRNS as alpha (palette entries' alpha, or a gray / RGB colour key). */
function toRgba(
  data: ArrayLike<number>,
  width: number,
  height: number,
  header: PngHeader,
  palette: Uint8Array | null,
  trns: Uint8Array | null,
): Uint8Array {
  const { depth, colorType } = header;
  const pixels = width * height;
  const rgba = new Uint8Array(pixels * 4);
  if (colorType === 3) {
    const indices = unpackSamples(data as Uint8Array, width, height, depth);
    for (let i = 0; i < pixels; i++) {
      const k = indices[i];
      const inside = palette !== null && 3 * k + 2 < palette.length; // an index past the palette reads black
      for (let c = 0; c < 3; c++) rgba[4 * i + c] = inside ? palette![3 * k + c] : 0;
      rgba[4 * i + 3] = trns && k < trns.length ? trns[k] : 255;
    }
    return rgba;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
  const to8 = eightBitRule(depth, channels);
  const samples = depth < 8 ? unpackSamples(data as Uint8Array, width, height, depth) : data;
  const key = trns && (colorType === 0 ? trns.length >= 2 : colorType === 2 && trns.length >= 6) ? trns : null;
  for (let i = 0; i < pixels; i++) {
    const s = channels * i;
    if (channels <= 2) rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = to8(samples[s]);
    else for (let c = 0; c < 3; c++) rgba[4 * i + c] = to8(samples[s + c]);
    let alpha = 255;
    if (channels === 2 || channels === 4)
      alpha = depth === 16 ? samples[s + channels - 1] >> 8 : samples[s + channels - 1];
    else if (key) {
      const matches =
        colorType === 0 ? samples[s] === u16(key, 0) : [0, 1, 2].every((c) => samples[s + c] === u16(key, 2 * c));
      if (matches) alpha = 0;
    }
    rgba[4 * i + 3] = alpha;
  }
  return rgba;
}

// ---- compositing ---------------------------------------------------------------------------------

/** PIL's rounded x / 255 for x in 0..255 * 255: ((x + 128) + ((x + 128) >> 8)) >> 8. */
const div255 = (x: number) => (x + 128 + ((x + 128) >> 8)) >> 8;

/**
 * Draws region pixels (RGBA [h, w, 4]) onto the canvas (RGBA [H, W, 4]) at (x, y): `source` replaces,
 * `over` blends every channel, alpha included, by the pixel's alpha (PIL's paste with an alpha mask).
 */
function drawRegion(
  canvas: Uint8Array,
  canvasWidth: number,
  region: Uint8Array,
  c: ApngFrameControl,
  over: boolean,
): void {
  for (let v = 0; v < c.height; v++) {
    for (let u = 0; u < c.width; u++) {
      const s = 4 * (v * c.width + u);
      const d = 4 * ((c.y + v) * canvasWidth + c.x + u);
      const a = region[s + 3];
      if (!over || a === 255) canvas.set(region.subarray(s, s + 4), d);
      else for (let k = 0; k < 4; k++) canvas[d + k] = div255(canvas[d + k] * (255 - a) + region[s + k] * a);
    }
  }
}

function copyRegion(from: Uint8Array, to: Uint8Array, canvasWidth: number, c: ApngFrameControl): void {
  for (let v = 0; v < c.height; v++) {
    const at = 4 * ((c.y + v) * canvasWidth + c.x);
    to.set(from.subarray(at, at + 4 * c.width), at);
  }
}

function clearRegion(canvas: Uint8Array, canvasWidth: number, c: ApngFrameControl): void {
  for (let v = 0; v < c.height; v++) {
    const at = 4 * ((c.y + v) * canvasWidth + c.x);
    canvas.fill(0, at, at + 4 * c.width);
  }
}

/**
 * Decodes an animated PNG (or a still PNG, as one frame) to its composited frames, within `limits`;
 * errors name `source`. Frame timing (delays, num_plays) is not kept: a clip is its frames.
 */
export function decodeApng(
  bytes: Uint8Array,
  source = "<buffer>",
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): RgbClip {
  if (!(bytes instanceof Uint8Array)) throw new ImageError(source, "APNG bytes must be a Uint8Array");
  checkLimits(source, limits);
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw new ImageError(source, "not a PNG (no PNG signature)");
  const container = readApngContainer(bytes, source, limits);
  const { header, frames } = container;
  const { width, height } = header;
  if (header.interlaced && header.depth < 8) {
    throw new ImageError(
      source,
      `unsupported PNG: interlaced with bit depth ${header.depth} (only 8 and 16 bit can be interlaced)`,
    );
  }
  checkClipSize(source, frames.length, width, height, limits);
  const canvas = new Uint8Array(width * height * 4);
  // the canvas before a dispose-previous frame (allocated only when a frame needs it)
  const saved = frames.some((f, t) => t > 0 && f.control.dispose === "previous")
    ? new Uint8Array(width * height * 4)
    : canvas;
  const frameBytes = width * height * 3;
  const data = new Uint8Array(frames.length * frameBytes);
  frames.forEach((frame, t) => {
    const c = frame.control;
    const region = framePixels(container, frame, `${source} (frame ${t})`);
    const dispose = t === 0 && c.dispose === "previous" ? "background" : c.dispose;
    if (dispose === "previous") copyRegion(canvas, saved, width, c);
    drawRegion(canvas, width, region, c, t > 0 && c.blend === "over"); // frame 0: as decoded
    for (let p = 0, o = t * frameBytes; p < width * height; p++, o += 3) {
      data[o] = canvas[4 * p];
      data[o + 1] = canvas[4 * p + 1];
      data[o + 2] = canvas[4 * p + 2];
    }
    if (dispose === "background") clearRegion(canvas, width, c);
    else if (dispose === "previous") copyRegion(saved, canvas, width, c);
  });
  return { frames: frames.length, width, height, data };
}
