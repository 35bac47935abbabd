// The clip type of the video path (PAPR-SPEC.md section 6): T frames of 8-bit RGB of one size, stored
// frame after frame, and what turns it into a video model's input:
//   clip [T, H, W, 3] uint8 --sampleFrameIndices / sampleClip--> T' frames
//        --clipToTensor (per frame: resize (+ centre crop), ToTensor, Normalize)--> [1, 3, T', S, S] float32
// No Node built-ins (runs in a browser); the Node readers (frame folders, APNG files) are src/cli/clip_files.ts.
import { Tensor } from "../tensor/tensor.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, checkDimensions, type ImageLimits, type RgbImage } from "./image.ts";
import {
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
  centerCrop,
  normalizeToTensor,
  resizeShorterSide,
  type Rgb,
} from "./preprocess.ts";
import { resizeRgb, type ResizeFilter } from "./resize.ts";

export interface RgbClip {
  frames: number;
  width: number;
  height: number;
  data: Uint8Array; // [frames, height, width, 3]
}

/**
 * Throws an ImageError naming `source` unless a clip of `frames` frames of width x height fits `limits`
 * (each frame's size as for an image, the frame count, frames x pixels). Called before allocating.
 */
export function checkClipSize(
  source: string,
  frames: number,
  width: number,
  height: number,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): void {
  for (const key of ["maxFrames", "maxClipPixels"] as const) {
    if (!(limits?.[key] > 0))
      throw new ImageError(source, `limits.${key} must be a positive number, got ${limits?.[key]}`);
  }
  if (!Number.isInteger(frames) || frames <= 0) throw new ImageError(source, `clip has ${frames} frames`);
  if (frames > limits.maxFrames)
    throw new ImageError(source, `clip has ${frames} frames (limit maxFrames ${limits.maxFrames})`);
  checkDimensions(source, width, height, limits);
  if (frames * width * height > limits.maxClipPixels) {
    throw new ImageError(
      source,
      `clip of ${frames} frames of ${width}x${height} is ${(frames * width * height) / 1e6} megapixels ` +
        `(limit maxClipPixels ${limits.maxClipPixels / 1e6})`,
    );
  }
}

/** Throws an ImageError naming `op` unless `clip` is a well-formed RgbClip. */
export function checkRgbClip(op: string, clip: RgbClip): void {
  if (!clip || !(clip.data instanceof Uint8Array)) throw new ImageError(op, "clip data must be a Uint8Array");
  const { frames, width, height, data } = clip;
  for (const [name, v] of [
    ["frames", frames],
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ImageError(op, `clip ${name} must be a positive integer, got ${v}`);
  }
  if (data.length !== frames * width * height * 3) {
    throw new ImageError(
      op,
      `RGB clip of ${frames} frames of ${width}x${height} needs ${frames * width * height * 3} bytes, got ${data.length}`,
    );
  }
}

/** Frame t of the clip as an image (a view on the clip's bytes, not a copy). */
export function clipFrame(clip: RgbClip, t: number): RgbImage {
  if (!Number.isInteger(t) || t < 0 || t >= clip.frames)
    throw new ImageError("clipFrame", `frame ${t} is outside 0..${clip.frames - 1}`);
  const bytes = clip.width * clip.height * 3;
  return { width: clip.width, height: clip.height, data: clip.data.subarray(t * bytes, (t + 1) * bytes) };
}

/**
 * Stacks images of one size into a clip. `names[i]` (file names, say) is what an error calls frame i:
 * the first frame whose size differs from frame 0's is named.
 */
export function clipFromFrames(images: RgbImage[], source = "clipFromFrames", names?: string[]): RgbClip {
  if (images.length === 0) throw new ImageError(source, "a clip needs at least one frame");
  const name = (i: number) => (names?.[i] !== undefined ? `'${names[i]}'` : `${i}`);
  const { width, height } = images[0];
  const bad = images.findIndex((im) => im.width !== width || im.height !== height);
  if (bad >= 0) {
    throw new ImageError(
      source,
      `frame ${name(bad)} is ${images[bad].width}x${images[bad].height}, ` +
        `frame ${name(0)} is ${width}x${height} (all frames of a clip must have one size)`,
    );
  }
  const bytes = width * height * 3;
  const data = new Uint8Array(images.length * bytes);
  images.forEach((im, t) => {
    if (im.data.length !== bytes) throw new ImageError(source, `frame ${name(t)} has ${im.data.length} bytes`);
    data.set(im.data, t * bytes);
  });
  return { frames: images.length, width, height, data };
}

/**
 * `count` frame indices spread uniformly over a clip of `total` frames: the middle frame of each of
 * `count` equal segments, index i = floor((i + 1/2) * total / count) for i = 0..count-1 (computed in
 * integers as floor(((2i + 1) * total) / (2 * count))). Increasing; every frame once when count = total;
 * when count > total, frames repeat (each about count / total times), so a short clip still fills T frames.
 * (VideoMAE's test-time sampler differs: a fixed stride from a chosen start; this one covers the whole clip.)
 */
export function sampleFrameIndices(total: number, count: number): number[] {
  for (const [name, v] of [
    ["total", total],
    ["count", count],
  ] as const) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new ImageError("sampleFrameIndices", `${name} must be a positive integer, got ${v}`);
  }
  return Array.from({ length: count }, (_, i) => Math.floor(((2 * i + 1) * total) / (2 * count)));
}

/** The clip of frames sampleFrameIndices(clip.frames, count) (a copy). */
export function sampleClip(clip: RgbClip, count: number): RgbClip {
  checkRgbClip("sampleClip", clip);
  const indices = sampleFrameIndices(clip.frames, count);
  const bytes = clip.width * clip.height * 3;
  const data = new Uint8Array(count * bytes);
  indices.forEach((from, t) => data.set(clip.data.subarray(from * bytes, (from + 1) * bytes), t * bytes));
  return { frames: count, width: clip.width, height: clip.height, data };
}

export interface ClipTransform {
  size: number; // output frames are size x size
  /**
   * "resize": each frame stretched to size x size (synthetic clips already square: no change of content);
   * "shorter-side-crop": the shorter side resized to `size` (aspect kept), then the centre size x size crop
   * (VideoMAE's evaluation transform, as torchvision's Resize(size) + CenterCrop(size) on each frame).
   */
  mode: "resize" | "shorter-side-crop";
  mean: Rgb;
  std: Rgb;
  interpolation: ResizeFilter;
}

/** VideoMAE (ImageNet mean / std), 224, shorter side + centre crop, bilinear. */
export const VIDEOMAE_EVAL: ClipTransform = {
  size: 224,
  mode: "shorter-side-crop",
  mean: IMAGENET_DEFAULT_MEAN,
  std: IMAGENET_DEFAULT_STD,
  interpolation: "bilinear",
};

/** A clip -> the video model's input [1, 3, T, size, size] float32 (each frame as preprocess.ts does an image). */
export function clipToTensor(clip: RgbClip, transform: ClipTransform = VIDEOMAE_EVAL): Tensor {
  checkRgbClip("clipToTensor", clip);
  const { size, mode, mean, std, interpolation } = transform;
  if (!Number.isInteger(size) || size <= 0 || size > 2048)
    throw new ImageError("clipToTensor", `size must be an integer in 1..2048, got ${size}`);
  if (mode !== "resize" && mode !== "shorter-side-crop")
    throw new ImageError("clipToTensor", `mode must be "resize" or "shorter-side-crop", got '${mode}'`);
  const T = clip.frames;
  const plane = size * size;
  const out = new Float32Array(3 * T * plane); // [3, T, size, size]
  for (let t = 0; t < T; t++) {
    const frame = clipFrame(clip, t);
    const square =
      mode === "resize"
        ? frame.width === size && frame.height === size
          ? frame
          : resizeRgb(frame, size, size, interpolation)
        : centerCrop(resizeShorterSide(frame, size, interpolation), size);
    const x = normalizeToTensor(square, mean, std).data; // [3, size, size]
    for (let c = 0; c < 3; c++) out.set(x.subarray(c * plane, (c + 1) * plane), (c * T + t) * plane);
  }
  return new Tensor(out, [1, 3, T, size, size]);
}
