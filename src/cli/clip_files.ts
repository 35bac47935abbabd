// Node adapter for clips (src/image/clip.ts): a folder of frame images, or an animated PNG file.
//
// A frame folder: its entries named *.png, *.jpg, *.jpeg or *.bmp (any case; other names, and names
// starting with ".", are not frames), in natural order (digit runs compare as numbers: frame2 < frame10),
// each decoded by decodeImage; all must have the first frame's size. Confinement, as for model files
// (src/models/load/node.ts): a frame must be a regular file (no FIFO, device, or folder), and a symlink
// must resolve inside the folder's real path; each file is opened non-blocking and its size checked
// (fstat on the open file) before it is read. The frame count is checked against limits.maxFrames
// before any frame is read, and frames x the first frame's pixels against limits.maxClipPixels before
// the rest are decoded.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { decodeApng } from "../image/apng.ts";
import { checkClipSize, clipFromFrames, type RgbClip } from "../image/clip.ts";
import { decodeImage } from "../image/decode.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, type ImageLimits, type RgbImage } from "../image/image.ts";

/** A frame or APNG file larger than this is refused before reading (a 16384^2 RGBA PNG stored raw is 1 GiB). */
export const MAX_CLIP_FILE_BYTES = 1 << 30;

const FRAME_NAME = /\.(png|jpe?g|bmp)$/i;

/** Reads a clip: `path` is a folder of frame images or an (animated) PNG file. */
export function readClip(path: string, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): RgbClip {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory(); // the path the user named may be a link
  } catch (e) {
    throw new ImageError(path, `cannot read (${errorCode(e)})`);
  }
  if (isFolder) return readFrameFolder(path, limits);
  return decodeApng(readBoundedFile(path, path), path, limits);
}

/** Compares names with digit runs as numbers ("f2" < "f10"), then by code units. */
export function naturalCompare(a: string, b: string): number {
  const runs = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const [ra, rb] = [runs(a), runs(b)];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const [x, y] = [ra[i], rb[i]];
    if (x === y) continue;
    const digits = /^\d/.test(x) && /^\d/.test(y);
    if (digits) {
      const [nx, ny] = [x.replace(/^0+(?=\d)/, ""), y.replace(/^0+(?=\d)/, "")];
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue; // same number, different zero padding: the code-unit tie-break below decides
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The frame file names of a folder, in natural order. */
export function frameNames(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (e) {
    throw new ImageError(folder, `cannot list the frame folder (${errorCode(e)})`);
  }
  return names.filter((n) => !n.startsWith(".") && FRAME_NAME.test(n)).sort(naturalCompare);
}

/** A folder of frame images -> a clip (see the top of this file for the rules). */
export function readFrameFolder(folder: string, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): RgbClip {
  const names = frameNames(folder);
  if (names.length === 0) throw new ImageError(folder, "frame folder has no .png, .jpg, .jpeg or .bmp files");
  if (names.length > limits.maxFrames) {
    throw new ImageError(folder, `frame folder has ${names.length} frames (limit maxFrames ${limits.maxFrames})`);
  }
  let real: string;
  try {
    real = realpathSync(folder);
  } catch (e) {
    throw new ImageError(folder, `cannot resolve the frame folder (${errorCode(e)})`);
  }
  const frames: RgbImage[] = [];
  for (const name of names) {
    const path = join(folder, name);
    const image = decodeImage(readBoundedFile(insideFolder(path, real), path), path, limits);
    if (frames.length === 0) checkClipSize(folder, names.length, image.width, image.height, limits);
    else if (image.width !== frames[0].width || image.height !== frames[0].height) {
      throw new ImageError(
        folder,
        `frame '${name}' is ${image.width}x${image.height}, frame '${names[0]}' is ` +
          `${frames[0].width}x${frames[0].height} (all frames of a clip must have one size)`,
      );
    }
    frames.push(image);
  }
  return clipFromFrames(frames, folder, names);
}

/** `path`'s real path, if it lies inside the folder's real path `real`. */
function insideFolder(path: string, real: string): string {
  let target: string;
  try {
    target = realpathSync(path);
  } catch (e) {
    throw new ImageError(path, `cannot read (${errorCode(e)})`);
  }
  if (!target.startsWith(real.endsWith(sep) ? real : real + sep)) {
    throw new ImageError(path, "is a symlink to a file outside the frame folder; frames must lie inside it");
  }
  return target;
}

/** The bytes of a regular file of at most MAX_CLIP_FILE_BYTES, opened non-blocking and checked before reading. */
function readBoundedFile(path: string, shown: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ImageError(shown, `cannot read (${errorCode(e)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ImageError(shown, "is not a regular file (a folder, FIFO, device or socket)");
    if (stat.size > MAX_CLIP_FILE_BYTES)
      throw new ImageError(shown, `has ${stat.size} bytes (limit ${MAX_CLIP_FILE_BYTES})`);
    const out = new Uint8Array(stat.size);
    for (let at = 0; at < stat.size;) {
      const n = readSync(fd, out, at, stat.size - at, null);
      if (n === 0) throw new ImageError(shown, `shrank while being read (${at} of ${stat.size} bytes)`);
      at += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String((e as Error).message).slice(0, 80);
}
