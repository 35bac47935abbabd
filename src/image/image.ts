// The image type every function in src/image passes around: 8-bit RGB,
// 3 bytes per pixel, rows top to bottom. No Node built-ins (runs in a browser).

export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // [height, width, 3]
}

export class ImageError extends Error {
  constructor(source: string, message: string) {
    super(`${printable(source)}: ${printable(message)}`);
    this.name = "ImageError";
  }
}

// Resource limits, checked from the header before any pixel buffer is allocated (and again on the
// decoded size). Hostile files are small: a 465-byte PNG can declare 16384x1 pixels, a 2 KB JPEG
// 16384x6103, a 1 MB PNG can inflate to 1 GiB. Every default can be raised by a caller who needs it
// (decodeImage's `limits`, the CLI's --max-megapixels / --max-aspect).
//
//   limit          default   why this value
//   maxPixels      40 Mpx    a 40 Mpx camera photo decodes in ~0.5 GB (16-bit RGBA PNG: 320 MB
//                            inflated + 120 MB RGB); the models see 224x224, so larger is waste
//   maxSide        16384     the largest side any common encoder writes by default (libwebp, GIMP)
//   maxAspect      16        long side / short side: the preprocessing resizes the short side to
//                            ~256 first, so the resized image is at most 16 x 256 = 4096 wide (3 MB);
//                            panoramas rarely pass 10:1. At 16384:1 it was 4 M px wide (3.2 GB)
//   maxJpegScans   256       libjpeg's progressive script has 10 scans, mozjpeg's searched scripts
//                            fewer than 70; each scan is a pass over every block (20000 scans: 39 s)
//   PNG data       exact     the inflated IDAT size follows from IHDR: more is refused mid-inflate
// Clips (src/image/clip.ts: an APNG, or a folder of frame images) also pass, before their frames are
// allocated:
//   maxFrames      4096      frames of one clip: a 465-byte APNG can declare 2^31 frames; video models
//                            sample 8..32 frames, 4096 is 2 min 16 s at 30 fps
//   maxClipPixels  100 Mpx   frames x width x height: the decoded clip is 3 bytes per pixel (300 MB);
//                            64 frames of 1080p are 133 Mpx, 16 frames of 1080p 33 Mpx
export interface ImageLimits {
  maxPixels: number;
  maxSide: number;
  maxAspect: number;
  maxJpegScans: number;
  maxFrames: number;
  maxClipPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 40_000_000,
  maxSide: 16384,
  maxAspect: 16,
  maxJpegScans: 256,
  maxFrames: 4096,
  maxClipPixels: 100_000_000,
});

/** Throws an ImageError naming `source` unless width x height is a sane image size within `limits`. */
export function checkDimensions(
  source: string,
  width: number,
  height: number,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(source, `image has zero or invalid size ${width}x${height}`);
  }
  const { maxSide, maxPixels, maxAspect } = limits;
  if (width > maxSide || height > maxSide || width * height > maxPixels) {
    throw new ImageError(
      source,
      `image size ${width}x${height} is too large (limit ${maxSide} per side and ${maxPixels / 1e6} megapixels)`,
    );
  }
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (aspect > maxAspect) {
    throw new ImageError(
      source,
      `image size ${width}x${height} is too elongated (aspect ${aspect.toFixed(1)}:1, limit ${maxAspect}:1)`,
    );
  }
}

/** Throws an ImageError naming `source` unless every limit is a positive number. */
export function checkLimits(source: string, limits: ImageLimits): void {
  for (const key of ["maxPixels", "maxSide", "maxAspect", "maxJpegScans"] as const) {
    if (!(limits?.[key] > 0))
      throw new ImageError(source, `limits.${key} must be a positive number, got ${limits?.[key]}`);
  }
}

/** Text safe for a terminal: control characters (C0, DEL, C1) shown as \xNN, the rest kept. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Throws an ImageError naming `op` unless `image` is a well-formed RgbImage. */
export function checkRgbImage(op: string, image: RgbImage): void {
  if (!image || !(image.data instanceof Uint8Array)) throw new ImageError(op, "image data must be a Uint8Array");
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(op, `image has invalid size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new ImageError(op, `RGB image ${width}x${height} needs ${width * height * 3} bytes, got ${data.length}`);
  }
}
