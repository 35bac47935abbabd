// Hostile animated PNGs (src/image/apng.ts), built at test time: lying acTL / fcTL fields, frames that
// leave the canvas or inflate past their region, chunks out of order, every truncation of a small APNG,
// and seeded mutations (CRCs recomputed, so they reach the APNG fields and zlib) of the PIL-written
// goldens. Every case must end in a clean ImageError naming the file, or (mutations) a clip within the
// limits, each within 2 s of CPU time.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { deflateSync } from "node:zlib";
import { decodeApng } from "../../src/image/apng.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError } from "../../src/image/image.ts";
import { imageBytes, withPngCrcs } from "../image/helpers.ts";
import { actl, fctl, handApng, solidRows, u32 } from "../image/apng_inputs.ts";
import { SIGNATURE, chunk, concat, ihdr, mutate, random } from "./image_inputs.ts";

const CASE_SECONDS = 2;

function outcome(bytes: Uint8Array, source: string): Error | null {
  const start = process.cpuUsage(); // CPU time, not wall time: the CI machine may be busy
  let error: Error | null = null;
  try {
    const clip = decodeApng(bytes, source);
    assert.ok(clip.frames <= DEFAULT_IMAGE_LIMITS.maxFrames);
    assert.is(clip.data.length, clip.frames * clip.width * clip.height * 3);
  } catch (e) {
    error = e as Error;
  }
  const used = process.cpuUsage(start);
  const seconds = (used.user + used.system) / 1e6;
  assert.ok(seconds < CASE_SECONDS, `${source}: took ${seconds.toFixed(1)} s of CPU`);
  if (error) {
    assert.instance(error, ImageError, `${source}: ${error.name}: ${error.message}`);
    assert.ok(error.message.startsWith(`${source}`), `does not name the file: ${error.message}`);
    assert.not.match(error.message, /[\x00-\x1f\x7f-\x9f]/, "raw control bytes in the message");
    assert.ok(error.message.length < 220, `message too long: ${error.message}`);
  }
  return error;
}

function refuses(bytes: Uint8Array, source: string, pattern: RegExp): void {
  const error = outcome(bytes, source);
  if (!error) assert.unreachable(`${source}: decoded, expected ${pattern}`);
  assert.match(error!.message, pattern);
}

const red = { width: 4, height: 3, rgba: [200, 0, 0, 255] };
const zlib = (w: number, h: number) => deflateSync(solidRows(w, h, [1, 2, 3, 255]));

test("acTL lying about the frame count: refused from the header, before any frame is allocated", () => {
  refuses(handApng(4, 3, [red], 2 ** 31), "huge.png", /huge.png: clip has 2147483648 frames \(limit maxFrames 4096\)/);
  refuses(
    concat([
      new Uint8Array(SIGNATURE),
      ihdr(4000, 4000, 8, 6),
      actl(100),
      fctl(0, { width: 4000, height: 4000, rgba: [] }),
      chunk("IDAT", zlib(1, 1)), // never inflated: the acTL check comes first
      chunk("IEND"),
    ]),
    "pixels.png",
    /clip of 100 frames of 4000x4000 is 1600 megapixels \(limit maxClipPixels 100\)/,
  );
  refuses(handApng(4, 3, [red, red], 3), "fewer.png", /acTL declares 3 frames, the file has 2/);
  refuses(handApng(4, 3, [red, red], 1), "more.png", /chunk fcTL at byte \d+ starts frame 2, acTL declares 1/);
  refuses(handApng(4, 3, [red], 0), "zero.png", /declares 0 frames/);
});

test("fcTL fields: regions leaving the canvas, bad ops, the default image's frame not the whole canvas", () => {
  refuses(
    handApng(4, 3, [red, { width: 3, height: 1, x: 2, y: 0, rgba: [1, 1, 1, 255] }]),
    "wide.png",
    /region 3x1 at \(2, 0\) is empty or leaves the 4x3 canvas/,
  );
  refuses(
    handApng(4, 3, [red, { width: 2, height: 1, x: 2 ** 32 - 1, y: 0, rgba: [1, 1, 1, 255] }]),
    "wrap.png",
    /leaves the 4x3 canvas/,
  );
  refuses(handApng(4, 3, [red, { width: 0, height: 1, rgba: [] }]), "empty.png", /region 0x1 at \(0, 0\) is empty/);
  refuses(
    handApng(4, 3, [red, { width: 1, height: 1, dispose: 3, rgba: [1, 1, 1, 255] }]),
    "dispose.png",
    /dispose_op 3/,
  );
  refuses(handApng(4, 3, [red, { width: 1, height: 1, blend: 2, rgba: [1, 1, 1, 255] }]), "blend.png", /blend_op 2/);
  refuses(
    handApng(4, 3, [{ width: 2, height: 3, rgba: [1, 1, 1, 255] }]),
    "partial.png",
    /must cover the whole 4x3 canvas/,
  );
});

test("frame data: more or less than its region needs, bad sequence numbers, chunks out of order", () => {
  const frame1 = { width: 2, height: 2, x: 1, y: 1, rgba: [] };
  const base = [
    new Uint8Array(SIGNATURE),
    ihdr(4, 3, 8, 6),
    actl(2),
    fctl(0, red),
    chunk("IDAT", zlib(4, 3)),
    fctl(1, frame1),
  ];
  const end = chunk("IEND");
  refuses(
    concat([...base, chunk("fdAT", concat([u32(2), zlib(2, 3)])), end]),
    "long.png",
    /\(frame 1\): corrupt PNG: image data inflates to more than the 18 bytes/,
  );
  refuses(
    concat([...base, chunk("fdAT", concat([u32(2), zlib(2, 1)])), end]),
    "short.png",
    /\(frame 1\): corrupt PNG: image data inflates to 9 bytes, IHDR's size needs 18/,
  );
  refuses(
    concat([...base, chunk("fdAT", concat([u32(7), zlib(2, 2)])), end]),
    "sequence.png",
    /chunk fdAT at byte \d+ has sequence number 7, expected 2/,
  );
  refuses(concat([...base, chunk("fdAT", [0, 0, 0]), end]), "tiny.png", /too short for a sequence number/);
  refuses(concat([...base, end]), "nodata.png", /frame 1 has no image data \(fdAT\)/);
  refuses(
    concat([new Uint8Array(SIGNATURE), ihdr(4, 3, 8, 6), fctl(0, red), actl(1), chunk("IDAT", zlib(4, 3)), end]),
    "order.png",
    /chunk fcTL at byte \d+ comes before the acTL chunk/,
  );
  refuses(
    concat([new Uint8Array(SIGNATURE), ihdr(4, 3, 8, 6), chunk("IDAT", zlib(4, 3)), actl(1), end]),
    "late.png",
    /acTL at byte \d+ comes after the image data/,
  );
  refuses(
    concat([
      new Uint8Array(SIGNATURE),
      ihdr(4, 3, 8, 6),
      actl(1),
      fctl(0, red),
      chunk("IDAT", zlib(4, 3)),
      chunk("fdAT", concat([u32(1), zlib(4, 3)])),
      end,
    ]),
    "extra.png",
    /chunk fdAT at byte \d+ has no fcTL of its own before it/,
  );
});

test("every truncation of a small APNG is a clean error", () => {
  const bytes = handApng(4, 3, [red, { width: 2, height: 2, x: 1, y: 1, dispose: 2, blend: 1, rgba: [0, 9, 0, 128] }]);
  assert.ok(outcome(bytes, "whole.png") === null);
  for (let length = 0; length < bytes.length; length++) {
    refuses(bytes.subarray(0, length), `cut${length}.png`, /./);
  }
});

test("seeded mutations of the PIL-written APNGs (CRCs recomputed): a clip or a clean error", () => {
  const rand = random(2121);
  let decoded = 0;
  let refused = 0;
  for (const name of ["rgb_none_source", "rgba_previous_over", "palette_none_source"]) {
    const original = imageBytes(`apng/${name}.png`);
    for (let i = 0; i < 80; i++) {
      const bytes = withPngCrcs(mutate(original, rand));
      if (outcome(bytes, `${name}#${i}`)) refused++;
      else decoded++;
    }
  }
  console.log(`  apng mutations: ${decoded} decoded, ${refused} refused cleanly`);
  assert.ok(refused > 0 && decoded > 0);
});

test.run();
