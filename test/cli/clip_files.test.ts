// Reading clips from disk (src/cli/clip_files.ts): frame folders in natural order, mixed formats, the
// first frame of another size named, files that are no frames ignored, symlinks leaving the folder and
// non-regular files refused, the frame limit checked before reading, APNG files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frameNames, naturalCompare, readClip } from "../../src/cli/clip_files.ts";
import { clipFrame, type RgbClip } from "../../src/image/clip.ts";
import { encodeApng, encodePng } from "../../src/image/encode.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError } from "../../src/image/image.ts";

const root = mkdtempSync(join(tmpdir(), "papr-clip-"));

function solid(width: number, height: number, value: number): Uint8Array {
  return encodePng(new Uint8Array(width * height * 3).fill(value), width, height);
}

function folder(name: string, files: Record<string, Uint8Array | string>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
  return dir;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return assert.unreachable("no error") as never;
}

test("naturalCompare: digit runs as numbers", () => {
  const names = ["f10.png", "f2.png", "f1.png", "F3.png", "f02.png", "g.png", "f1a.png"];
  assert.equal([...names].sort(naturalCompare), [
    "F3.png",
    "f1.png",
    "f1a.png",
    "f02.png",
    "f2.png",
    "f10.png",
    "g.png",
  ]);
});

test("a frame folder: natural order, PNG and BMP/JPEG mixed, other files ignored", () => {
  const dir = folder("ok", {
    "frame_10.png": solid(6, 4, 30),
    "frame_2.png": solid(6, 4, 20),
    "frame_1.png": solid(6, 4, 10),
    "notes.txt": "not a frame",
    ".hidden.png": "not read",
  });
  mkdirSync(join(dir, "sub.png")); // a folder named like a frame: refused
  assert.equal(frameNames(dir), ["frame_1.png", "frame_2.png", "frame_10.png", "sub.png"]);
  assert.match(errorOf(() => readClip(dir)).message, /sub.png: is not a regular file/);
  rmSync(join(dir, "sub.png"), { recursive: true });
  const clip = readClip(dir);
  assert.equal([clip.frames, clip.width, clip.height], [3, 6, 4]);
  assert.equal(
    [0, 1, 2].map((t) => clipFrame(clip, t).data[0]),
    [10, 20, 30],
  );
});

test("frames of another size: the first one is named", () => {
  const dir = folder("sizes", {
    "a1.png": solid(6, 4, 1),
    "a2.png": solid(6, 4, 2),
    "a3.png": solid(5, 4, 3),
    "a4.png": solid(7, 4, 3),
  });
  const error = errorOf(() => readClip(dir));
  assert.instance(error, ImageError);
  assert.is(
    error.message,
    `${dir}: frame 'a3.png' is 5x4, frame 'a1.png' is 6x4 (all frames of a clip must have one size)`,
  );
});

test("confinement: a symlink leaving the folder, a FIFO, an empty folder, too many frames", () => {
  writeFileSync(join(root, "outside.png"), solid(6, 4, 9));
  const linked = folder("linked", { "f1.png": solid(6, 4, 1) });
  symlinkSync(join(root, "outside.png"), join(linked, "f2.png"));
  assert.match(errorOf(() => readClip(linked)).message, /f2.png: is a symlink to a file outside the frame folder/);
  const inside = folder("inside", { "f1.png": solid(6, 4, 1) });
  symlinkSync(join(inside, "f1.png"), join(inside, "f2.png")); // inside the folder: allowed
  assert.is(readClip(inside).frames, 2);
  const fifo = folder("fifo", { "f1.png": solid(6, 4, 1) });
  execFileSync("mkfifo", [join(fifo, "f2.png")]);
  assert.match(errorOf(() => readClip(fifo)).message, /f2.png: is not a regular file/);
  assert.match(
    errorOf(() => readClip(folder("empty", { "a.txt": "x" }))).message,
    /frame folder has no .png, .jpg, .jpeg or .bmp files/,
  );
  const many = folder("many", { "1.png": solid(6, 4, 1), "2.png": "not even an image", "3.png": "x" });
  const limits = { ...DEFAULT_IMAGE_LIMITS, maxFrames: 2 };
  assert.match(errorOf(() => readClip(many, limits)).message, /frame folder has 3 frames \(limit maxFrames 2\)/);
  const pixels = { ...DEFAULT_IMAGE_LIMITS, maxClipPixels: 50 };
  assert.match(
    errorOf(() => readClip(many, pixels)).message,
    /clip of 3 frames of 6x4 is 0.000072 megapixels \(limit maxClipPixels 0.00005\)/,
  );
  assert.match(errorOf(() => readClip(join(root, "missing"))).message, /missing: cannot read \(ENOENT\)/);
});

test("an APNG file reads as its frames", () => {
  const clip: RgbClip = { frames: 3, width: 5, height: 4, data: new Uint8Array(60 * 3).map((_, i) => (i * 7) & 255) };
  writeFileSync(join(root, "clip.png"), encodeApng(clip));
  assert.equal([...readClip(join(root, "clip.png")).data], [...clip.data]);
});

test("cleanup", () => rmSync(root, { recursive: true, force: true }));

test.run();
