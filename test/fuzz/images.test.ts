// Hostile images (issue #14), each built at test time: every case must end in a clean ImageError
// (one line, naming the file and the field, no raw bytes) or in the right pixels, within 5 s and
// ~500 MB. The memory check reads the process's peak RSS, so it is exact when this file runs alone
// (`npm test -- fuzz/images`) and a lower bound after heavier tests raised the peak.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { deflateSync } from "node:zlib";
import jpeg from "jpeg-js";
import { decodeImage } from "../../src/image/decode.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, type RgbImage } from "../../src/image/image.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { imageBytes } from "../image/helpers.ts";
import {
  SIGNATURE,
  chunk,
  concat,
  ihdr,
  jpegWithSize,
  progressiveWithScans,
  rgbPng,
  rgbRows,
  zerosDeflated,
} from "./image_inputs.ts";

const SECONDS = 5;
const MEGABYTES = 500;

/** Runs `fn` and asserts it took under SECONDS and raised the peak RSS by under MEGABYTES. */
function withinBudget<T>(what: string, fn: () => T): T | Error {
  const peakBefore = process.resourceUsage().maxRSS;
  const start = performance.now();
  let outcome: T | Error;
  try {
    outcome = fn();
  } catch (e) {
    outcome = e as Error;
  }
  const seconds = (performance.now() - start) / 1000;
  const grownMB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
  assert.ok(seconds < SECONDS, `${what}: took ${seconds.toFixed(1)} s (budget ${SECONDS} s)`);
  assert.ok(grownMB < MEGABYTES, `${what}: peak memory grew by ${grownMB.toFixed(0)} MB (budget ${MEGABYTES} MB)`);
  return outcome;
}

/** Asserts a clean error: an ImageError, one short line, starting with the source, matching `pattern`, no control bytes. */
export function assertCleanError(outcome: unknown, source: string, pattern: RegExp): void {
  if (!(outcome instanceof Error)) assert.unreachable(`${source}: decoded without error, expected ${pattern}`);
  const error = outcome as Error;
  assert.instance(error, ImageError, `${source}: ${error.name}: ${error.message}`);
  const shown = source.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  assert.ok(error.message.startsWith(`${shown}: `), `does not name the file: ${error.message}`);
  assert.match(error.message, pattern);
  assert.not.match(error.message, /[\x00-\x1f\x7f-\x9f]/, "raw control bytes in the message");
  assert.ok(error.message.length < 200, `message too long (${error.message.length})`);
}

/** The user's path: decode, then preprocess to the model's input. */
const decodeAndPreprocess = (bytes: Uint8Array, source: string) => preprocess(decodeImage(bytes, source));
const decode = (bytes: Uint8Array, source: string) => decodeImage(bytes, source);

function refuses(
  bytes: Uint8Array,
  source: string,
  pattern: RegExp,
  run: (bytes: Uint8Array, source: string) => unknown = decodeAndPreprocess,
): void {
  assertCleanError(
    withinBudget(source, () => run(bytes, source)),
    source,
    pattern,
  );
}

// ---- PNG: sizes and inflation ------------------------------------------------------------------

test("PNG bomb: a 64x64 header whose data inflates to 256 MB is refused at the header's size", async () => {
  const bomb = await zerosDeflated(256 << 20);
  const png = concat([SIGNATURE, ihdr(64, 64), chunk("IDAT", bomb), chunk("IEND")]);
  refuses(png, "bomb.png", /corrupt PNG: image data inflates to more than the 12352 bytes its IHDR size needs/);
});

test("PNG whose data inflates short of its header's size is refused", () => {
  const short = deflateSync(rgbRows(20, 9));
  refuses(
    concat([SIGNATURE, ihdr(20, 10), chunk("IDAT", short), chunk("IEND")]),
    "short.png",
    /image data inflates to 549 bytes, IHDR's size needs 610/,
  );
});

test("PNG 16384x1 and 1x16384 (465 bytes) are refused as too elongated before any resize", () => {
  refuses(rgbPng(16384, 1), "line.png", /image size 16384x1 is too elongated \(aspect 16384\.0:1, limit 16:1\)/);
  refuses(rgbPng(1, 16384), "column.png", /image size 1x16384 is too elongated/);
});

test("an image at the aspect limit (16:1) decodes to the right pixels and preprocesses", () => {
  const png = rgbPng(160, 10);
  const outcome = withinBudget("16:1", () => decodeImage(png, "wide.png"));
  const image = outcome as RgbImage;
  assert.equal([image.width, image.height], [160, 10]);
  const rows = rgbRows(160, 10);
  for (let y = 0; y < 10; y++)
    assert.equal([...image.data.subarray(y * 480, (y + 1) * 480)], [...rows.subarray(y * 481 + 1, (y + 1) * 481)]);
  assert.equal(preprocess(image).shape, [1, 3, 224, 224]);
});

test("PNG over 40 megapixels is refused from the header; a raised limit lets the header through", () => {
  const header = concat([SIGNATURE, ihdr(8000, 6000), chunk("IDAT", deflateSync(new Uint8Array(10))), chunk("IEND")]);
  refuses(header, "48mp.png", /image size 8000x6000 is too large \(limit 16384 per side and 40 megapixels\)/);
  const raised = { ...DEFAULT_IMAGE_LIMITS, maxPixels: 50e6 };
  refuses(header, "48mp.png", /image data inflates to 10 bytes, IHDR's size needs 144006000/, (b, s) =>
    decodeImage(b, s, raised),
  );
});

// ---- PNG: integrity --------------------------------------------------------------------------

const fixturePng = imageBytes("rgb8_64x48.png");
const idatAt = fixturePng.findIndex((_, i) => String.fromCharCode(...fixturePng.subarray(i, i + 4)) === "IDAT") - 4;

test("PNG with one flipped bit in its image data fails the chunk's CRC", () => {
  const flipped = fixturePng.slice();
  flipped[idatAt + 8 + 100] ^= 0x10;
  refuses(
    flipped,
    "flip.png",
    /corrupt PNG: chunk IDAT at byte 33 fails its CRC \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/,
    decode,
  );
});

test("PNG with a wrong Adler-32 (the chunk's CRC recomputed) is refused", () => {
  const length = new DataView(fixturePng.buffer, fixturePng.byteOffset).getUint32(idatAt);
  const data = fixturePng.slice(idatAt + 8, idatAt + 8 + length);
  data[data.length - 1] ^= 1;
  const png = concat([fixturePng.subarray(0, idatAt), chunk("IDAT", data), fixturePng.subarray(idatAt + 12 + length)]);
  refuses(png, "adler.png", /corrupt PNG: image data fails its Adler-32 check/, decode);
});

test("PNG with a second IHDR is refused (it used to decode as the first)", () => {
  const rows = deflateSync(rgbRows(8, 8));
  const png = concat([SIGNATURE, ihdr(8, 8), ihdr(4, 4), chunk("IDAT", rows), chunk("IEND")]);
  refuses(png, "two.png", /corrupt PNG: chunk IHDR at byte 33 is a second IHDR/, decode);
});

test("PNG chunk order: split IDAT, late or gray palette, missing palette, unknown critical chunk, no IDAT", () => {
  const rows = deflateSync(rgbRows(8, 8));
  const half = rows.length >> 1;
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "split.png",
      concat([
        SIGNATURE,
        ihdr(8, 8),
        chunk("IDAT", rows.subarray(0, half)),
        chunk("tEXt", [65, 0, 66]),
        chunk("IDAT", rows.subarray(half)),
        chunk("IEND"),
      ]),
      /chunk IDAT at byte \d+ is not next to the other IDAT chunks/,
    ],
    [
      "late.png",
      concat([SIGNATURE, ihdr(8, 8), chunk("IDAT", rows), chunk("PLTE", [0, 0, 0]), chunk("IEND")]),
      /chunk PLTE at byte \d+ comes after the image data/,
    ],
    [
      "graypal.png",
      concat([
        SIGNATURE,
        ihdr(8, 8, 8, 0),
        chunk("PLTE", [0, 0, 0]),
        chunk("IDAT", deflateSync(new Uint8Array(72))),
        chunk("IEND"),
      ]),
      /chunk PLTE at byte 33 is not allowed in a gray image \(colour type 0\)/,
    ],
    [
      "nopal.png",
      concat([SIGNATURE, ihdr(8, 8, 8, 3), chunk("IDAT", deflateSync(new Uint8Array(72))), chunk("IEND")]),
      /chunk IDAT at byte 33 comes before the palette \(PLTE\) an indexed image needs/,
    ],
    [
      "critical.png",
      concat([SIGNATURE, ihdr(8, 8), chunk("ABCD", [1]), chunk("IDAT", rows), chunk("IEND")]),
      /chunk ABCD at byte 33 is an unknown critical chunk/,
    ],
    [
      "noidat.png",
      concat([SIGNATURE, ihdr(8, 8), chunk("IEND")]),
      /chunk IEND at byte 33 ends the file before any image data/,
    ],
  ];
  for (const [name, png, pattern] of cases) refuses(png, name, pattern, decode);
});

test("a chunk type of control bytes is shown in hex, never echoed to the terminal", () => {
  const escape = [0x1b, 0x5b, 0x32, 0x4a]; // ESC [ 2 J: clears the screen
  const png = concat([
    SIGNATURE,
    ihdr(8, 8),
    chunk(escape, [1, 2]),
    chunk("IDAT", deflateSync(rgbRows(8, 8))),
    chunk("IEND"),
  ]);
  refuses(png, "esc.png", /chunk at byte 33 has type 0x1b5b324a, not four letters/, decode);
  refuses(fixturePng, "name\x1b[2J.png", /^name\\x1b\[2J\.png: truncated PNG/, (b, s) =>
    decodeImage(b.subarray(0, 40), s),
  );
});

// ---- JPEG ------------------------------------------------------------------------------------

test("JPEG 16384x1 is refused as too elongated before any resize", () => {
  const line = jpeg.encode({ width: 16384, height: 1, data: new Uint8Array(16384 * 4).fill(128) }, 90).data;
  refuses(new Uint8Array(line), "line.jpg", /image size 16384x1 is too elongated/);
});

test("JPEG of 2 KB declaring 16384x6103 is refused from its frame header", () => {
  const jpg = jpegWithSize(imageBytes("gray_64x48.jpg"), 16384, 6103);
  assert.ok(jpg.length < 3000);
  refuses(jpg, "huge.jpg", /image size 16384x6103 is too large \(limit 16384 per side and 40 megapixels\)/, decode);
});

test("JPEG with 20000 extra progressive scans is refused before decoding; 100 extra decode", () => {
  refuses(progressiveWithScans(20000), "scans.jpg", /JPEG has more than 256 scans \(limit maxJpegScans\)/, decode);
  const fine = withinBudget("100 scans", () => decodeImage(progressiveWithScans(100), "fine.jpg")) as RgbImage;
  assert.equal([fine.width, fine.height, fine.data.length], [64, 48, 64 * 48 * 3]);
});

test("JPEG with a second frame header (SOF) is refused", () => {
  const jpg = imageBytes("baseline444_64x48.jpg");
  const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
  const length = (jpg[sof + 2] << 8) | jpg[sof + 3];
  const twice = concat([
    jpg.subarray(0, sof + 2 + length),
    jpg.subarray(sof, sof + 2 + length),
    jpg.subarray(sof + 2 + length),
  ]);
  refuses(twice, "twice.jpg", /corrupt JPEG: a second frame header \(SOF\) at byte \d+/, decode);
});

// ---- BMP -------------------------------------------------------------------------------------

test("BMP over 40 megapixels or elongated is refused from the header", () => {
  const bmp = imageBytes("bgr24_31x17.bmp");
  const withSize = (w: number, h: number) => {
    const copy = bmp.slice();
    new DataView(copy.buffer).setInt32(18, w, true);
    new DataView(copy.buffer).setInt32(22, h, true);
    return copy;
  };
  refuses(withSize(8000, 6000), "big.bmp", /image size 8000x6000 is too large/, decode);
  refuses(withSize(16384, 1), "line.bmp", /image size 16384x1 is too elongated/, decode);
});

test.run();
