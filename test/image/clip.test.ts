// Clips (src/image/clip.ts, apng.ts, encode.ts's encodeApng): APNG decoding against PIL's reader
// (tools/golden/gen_apng.py: exact, every dispose / blend op, sub-region frames), hand-built APNGs for
// the cases PIL's writer does not produce, the encoder's round trip, frame sampling and clip -> tensor.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeApng, isApng } from "../../src/image/apng.ts";
import {
  clipFrame,
  clipFromFrames,
  clipToTensor,
  sampleClip,
  sampleFrameIndices,
  type RgbClip,
} from "../../src/image/clip.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { encodeApng, encodePng } from "../../src/image/encode.ts";
import { ImageError } from "../../src/image/image.ts";
import { DEIT_EVAL, preprocess, preprocessAtSize } from "../../src/image/preprocess.ts";
import { fixture } from "../golden.ts";
import { imageBytes, pixelDiff, withPngCrcs } from "./helpers.ts";
import { deflateSync } from "node:zlib";
import { actl, fctl, handApng, solidRows, u32 } from "./apng_inputs.ts";
import { SIGNATURE, chunk, concat, ihdr } from "../fuzz/image_inputs.ts";

const golden = fixture("apng");
const CASES = golden.metadata!.cases.split(",");

/** A seeded clip: frame t is a gradient shifted by t, so every frame differs. */
function syntheticClip(frames: number, width: number, height: number): RgbClip {
  const data = new Uint8Array(frames * width * height * 3);
  for (let t = 0; t < frames; t++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < 3; c++)
          data[((t * height + y) * width + x) * 3 + c] = (x * 5 + y * 3 + t * 17 + c * 60) & 255;
  return { frames, width, height, data };
}

test("APNG: every PIL-written case decodes to PIL's composited frames exactly", () => {
  assert.is(CASES.length, 6);
  for (const name of CASES) {
    const bytes = imageBytes(`apng/${name}.png`);
    assert.ok(isApng(bytes), name);
    const clip = decodeApng(bytes, name);
    const expected = golden.get(name); // [T, H, W, 3]
    assert.equal([clip.frames, clip.height, clip.width, 3], [...expected.shape], name);
    const { max } = pixelDiff(clip.data, expected.data, name);
    assert.is(max, 0, `${name}: differs from PIL by up to ${max} levels`);
  }
});

test("APNG: the goldens can fail (frames swapped, or the blend op ignored, differ from PIL)", () => {
  const clip = decodeApng(imageBytes("apng/rgba_previous_over.png"), "p");
  const expected = golden.get("rgba_previous_over");
  const bytes = clip.width * clip.height * 3;
  const swapped = clip.data.slice();
  swapped.set(clip.data.subarray(2 * bytes, 3 * bytes), bytes);
  assert.ok(pixelDiff(swapped, expected.data, "swapped").max > 0);
  // the same file with blend_op 0 (source) in every fcTL: PIL's over-composited frames no longer match
  const file = imageBytes("apng/rgba_partial_none_over.png");
  const view = new DataView(file.buffer, file.byteOffset);
  for (let at = 8; at + 12 <= file.length; at += 12 + view.getUint32(at)) {
    if (String.fromCharCode(...file.subarray(at + 4, at + 8)) === "fcTL") file[at + 8 + 25] = 0;
  }
  const source = decodeApng(withPngCrcs(file), "source");
  assert.ok(pixelDiff(source.data, golden.get("rgba_partial_none_over").data, "blend source").max > 0);
});

test("APNG: frame 0 equals decodeImage's reading of the same file (the still fallback)", () => {
  for (const name of CASES) {
    const bytes = imageBytes(`apng/${name}.png`);
    const still = decodeImage(bytes, name);
    const frame = clipFrame(decodeApng(bytes, name), 0);
    assert.is(pixelDiff(frame.data, still.data, name).max, 0, name);
  }
});

test("APNG: dispose background / previous and blend over on sub-regions (hand-built, pixels by hand)", () => {
  // 4x3 canvas: frame 0 red; frame 1 a green 2x1 region at (1, 1), disposed to background;
  // frame 2 a half-transparent blue 1x1 over at (0, 0), disposed to previous; frame 3 nothing new (1x1 at (3, 2), alpha 0, over)
  const clip = decodeApng(
    handApng(4, 3, [
      { width: 4, height: 3, rgba: [200, 0, 0, 255] },
      { width: 2, height: 1, x: 1, y: 1, dispose: 1, rgba: [0, 150, 0, 255] },
      { width: 1, height: 1, x: 0, y: 0, dispose: 2, blend: 1, rgba: [0, 0, 255, 128] },
      { width: 1, height: 1, x: 3, y: 2, blend: 1, rgba: [9, 9, 9, 0] },
    ]),
    "hand.png",
  );
  const px = (t: number, x: number, y: number) => [
    ...clipFrame(clip, t).data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3),
  ];
  assert.equal(px(0, 1, 1), [200, 0, 0]);
  assert.equal(px(1, 1, 1), [0, 150, 0]);
  assert.equal(px(1, 0, 1), [200, 0, 0]);
  assert.equal(px(2, 1, 1), [0, 0, 0], "frame 1's region cleared to transparent black");
  // 50% blue over red: round((200 * 127 + 0 * 128) / 255) = 100, round(255 * 128 / 255) = 128
  assert.equal(px(2, 0, 0), [100, 0, 128]);
  assert.equal(px(3, 0, 0), [200, 0, 0], "frame 2's region restored to the canvas before it");
  assert.equal(px(3, 3, 2), [200, 0, 0], "a transparent pixel drawn over leaves the canvas");
  assert.equal(px(3, 1, 1), [0, 0, 0]);
});

test("APNG: an IDAT default image without an fcTL is no frame (the animation starts on an empty canvas)", () => {
  const zlib = (rgba: number[], w: number, h: number) => deflateSync(solidRows(w, h, rgba));
  const bytes = concat([
    new Uint8Array(SIGNATURE),
    ihdr(2, 2, 8, 6),
    actl(2),
    chunk("IDAT", zlib([7, 7, 7, 255], 2, 2)),
    fctl(0, { width: 1, height: 1, x: 1, y: 1, rgba: [] }),
    chunk("fdAT", concat([u32(1), zlib([90, 0, 0, 255], 1, 1)])),
    fctl(2, { width: 2, height: 1, blend: 1, rgba: [] }),
    chunk("fdAT", concat([u32(3), zlib([0, 80, 0, 255], 2, 1)])),
    chunk("IEND"),
  ]);
  const clip = decodeApng(bytes, "default.png");
  assert.is(clip.frames, 2);
  assert.equal([...clip.data], [0, 0, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 80, 0, 0, 80, 0, 0, 0, 0, 90, 0, 0]);
});

test("APNG: a still PNG reads as a one-frame clip", () => {
  const bytes = imageBytes("rgb8_64x48.png");
  assert.not.ok(isApng(bytes));
  const clip = decodeApng(bytes, "still.png");
  assert.is(clip.frames, 1);
  assert.is(pixelDiff(clip.data, decodeImage(bytes).data, "still").max, 0);
});

test("encodeApng: round trip through decodeApng is lossless; frame 0 is the still fallback", () => {
  const clip = syntheticClip(6, 13, 9);
  const bytes = encodeApng(clip, { delayMs: 40 });
  const back = decodeApng(bytes, "roundtrip.png");
  assert.equal([back.frames, back.width, back.height], [6, 13, 9]);
  assert.is(pixelDiff(back.data, clip.data, "round trip").max, 0);
  assert.is(pixelDiff(decodeImage(bytes).data, clipFrame(clip, 0).data, "still").max, 0);
  assert.throws(() => encodeApng({ ...clip, frames: 5 }), /needs 1755 bytes, got 2106/);
  assert.throws(() => encodeApng(clip, { delayMs: 1.5 }), /delayMs/);
});

test("clipFromFrames: stacks frames; names the first frame of another size", () => {
  const a = { width: 2, height: 2, data: new Uint8Array(12).fill(1) };
  const b = { width: 2, height: 2, data: new Uint8Array(12).fill(2) };
  const c = { width: 3, height: 2, data: new Uint8Array(18) };
  const clip = clipFromFrames([a, b]);
  assert.equal([...clip.data], [...a.data, ...b.data]);
  const error = (() => {
    try {
      clipFromFrames([a, b, c, c], "folder", ["a.png", "b.png", "c.png", "d.png"]);
    } catch (e) {
      return e as Error;
    }
  })();
  assert.instance(error, ImageError);
  assert.is(
    error!.message,
    "folder: frame 'c.png' is 3x2, frame 'a.png' is 2x2 (all frames of a clip must have one size)",
  );
});

test("sampleFrameIndices: segment middles, whole clip, repeats when short", () => {
  assert.equal(sampleFrameIndices(32, 8), [2, 6, 10, 14, 18, 22, 26, 30]);
  assert.equal(sampleFrameIndices(16, 16), [...Array(16).keys()]);
  assert.equal(sampleFrameIndices(10, 4), [1, 3, 6, 8]);
  assert.equal(sampleFrameIndices(3, 6), [0, 0, 1, 1, 2, 2]);
  assert.equal(sampleFrameIndices(1, 3), [0, 0, 0]);
  assert.throws(() => sampleFrameIndices(0, 4), /total must be a positive integer, got 0/);
  const clip = syntheticClip(10, 4, 3);
  const sampled = sampleClip(clip, 4);
  assert.is(sampled.frames, 4);
  assert.equal([...clipFrame(sampled, 2).data], [...clipFrame(clip, 6).data]);
});

test("clipToTensor: [1, 3, T, S, S], each time slice = the 2-D preprocessing of that frame", () => {
  const clip = syntheticClip(3, 40, 30);
  const config = { ...DEIT_EVAL, inputSize: 24, cropPct: 1 };
  const x = clipToTensor(clip, {
    size: 24,
    mode: "shorter-side-crop",
    mean: config.mean,
    std: config.std,
    interpolation: "bicubic",
  });
  assert.equal([...x.shape], [1, 3, 3, 24, 24]);
  const plane = 24 * 24;
  for (let t = 0; t < 3; t++) {
    const one = preprocess(clipFrame(clip, t), config).data; // [3, 24, 24]
    for (let c = 0; c < 3; c++) {
      const slice = x.data.subarray((c * 3 + t) * plane, (c * 3 + t + 1) * plane);
      assert.is(pixelDiff(slice, one.subarray(c * plane, (c + 1) * plane), `t ${t} c ${c}`).max, 0);
    }
  }
  // "resize" of a clip already at size: no resampling, just the normalisation
  const square = syntheticClip(2, 24, 24);
  const y = clipToTensor(square, {
    size: 24,
    mode: "resize",
    mean: config.mean,
    std: config.std,
    interpolation: "bilinear",
  });
  const frame1 = preprocessAtSize(clipFrame(square, 1), config).data;
  assert.is(pixelDiff(y.data.subarray(plane, 2 * plane), frame1.subarray(0, plane), "resize").max, 0);
  assert.throws(
    () =>
      clipToTensor(square, { size: 0, mode: "resize", mean: config.mean, std: config.std, interpolation: "bilinear" }),
    /size must be/,
  );
});

test("encodePng still works beside encodeApng (a frame is a PNG)", () => {
  const clip = syntheticClip(2, 5, 4);
  const png = encodePng(clipFrame(clip, 1).data.slice(), 5, 4);
  assert.is(pixelDiff(decodeImage(png).data, clipFrame(clip, 1).data, "frame").max, 0);
});

test.run();
