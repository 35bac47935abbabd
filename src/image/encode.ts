// 8-bit RGB or RGBA pixels -> PNG file bytes (fast-png), for the explain pictures.
import { encode as encodePngLib } from "fast-png";
import { ImageError } from "./image.ts";

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
