// The image type every function in src/image passes around: 8-bit RGB,
// 3 bytes per pixel, rows top to bottom. No Node built-ins (runs in a browser).

export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // [height, width, 3]
}

export class ImageError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = "ImageError";
  }
}

/** Largest side and pixel count we agree to decode (checked from the header, before allocating). */
export const MAX_SIDE = 16384;
export const MAX_PIXELS = 100_000_000;

/** Throws an ImageError naming `source` unless width x height is a sane image size. */
export function checkDimensions(source: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(source, `image has zero or invalid size ${width}x${height}`);
  }
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ImageError(
      source,
      `image size ${width}x${height} is too large (limit ${MAX_SIDE} per side and ${MAX_PIXELS / 1e6} megapixels)`,
    );
  }
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
