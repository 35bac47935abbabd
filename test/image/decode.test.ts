// decodeImage against PIL's Image.open(f).convert("RGB") (tools/golden/gen_image.py), and its errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeImage, detectFormat } from "../../src/image/decode.ts";
import { fixture } from "../golden.ts";
import { assertSameImage, imageBytes, patched, patchedPng, pixelDiff } from "./helpers.ts";

const golden = fixture("image");
const names = golden.keys.filter((k) => k.endsWith(".decoded")).map((k) => k.slice(0, -".decoded".length));
const lossless = names.filter((n) => !n.endsWith(".jpg"));

test("fixtures cover every PNG colour type and depth, BMP variants and JPEG kinds", () => {
  for (const kind of [
    "gray1",
    "gray2",
    "gray4",
    "gray8",
    "gray16",
    "graya8",
    "graya16",
    "rgb8",
    "rgb16",
    "rgba8",
    "rgba16",
    "palette4",
    "palette8",
    "adam7_rgb8",
    "adam7_rgb16",
    "bgr24",
    "bgrx32_topdown",
    "bitfields32",
    "baseline444",
    "baseline420",
    "progressive",
    "gray_64",
    "cmyk",
  ]) {
    assert.ok(
      names.some((n) => n.startsWith(kind)),
      `no fixture for ${kind}`,
    );
  }
});

for (const name of lossless) {
  test(`${name}: exactly PIL's convert("RGB") pixels`, () => {
    assertSameImage(decodeImage(imageBytes(name), name), golden.get(`${name}.decoded`), name);
  });
}

test("16-bit grayscale is clipped to 255 as PIL's mode I -> RGB does (not scaled)", () => {
  const image = decodeImage(imageBytes("gray16_40x50.png"), "gray16");
  // columns 20.. hold values >= 256: all white; columns < 20 hold 0..255 unchanged
  assert.ok(image.data.subarray(20 * 3, 40 * 3).every((v) => v === 255));
  assert.ok(image.data.subarray(0, 20 * 3).some((v) => v < 255));
});

// jpeg-js is not libjpeg: its IDCT rounds differently and it upsamples subsampled chroma by
// repeating samples where libjpeg interpolates ("fancy upsampling"). The bounds are the measured
// values on these synthetic pictures (noisy, with hard colour edges: a worst case for 4:2:0 chroma).
const JPEG_BOUNDS: Record<string, { max: number; mean: number }> = {
  "baseline444_64x48.jpg": { max: 3, mean: 0.6 },
  "progressive_64x48.jpg": { max: 3, mean: 0.6 },
  "gray_64x48.jpg": { max: 1, mean: 0.1 },
  "cmyk_64x48.jpg": { max: 1, mean: 0.1 },
  "baseline420_64x48.jpg": { max: 96, mean: 7.5 },
};

for (const name of names.filter((n) => n.endsWith(".jpg"))) {
  test(`${name}: close to PIL (libjpeg) within the measured bounds`, () => {
    const image = decodeImage(imageBytes(name), name);
    const expected = golden.get(`${name}.decoded`);
    assert.equal([image.height, image.width], expected.shape.slice(0, 2));
    const diff = pixelDiff(image.data, expected.data, name);
    const bound = JPEG_BOUNDS[name];
    assert.ok(bound, `no bound for ${name}`);
    assert.ok(
      diff.max <= bound.max && diff.mean <= bound.mean,
      `${name}: max ${diff.max}, mean ${diff.mean.toFixed(3)} levels; bound max ${bound.max}, mean ${bound.mean}`,
    );
  });
}

test("progressive and baseline 4:4:4 encodings of one picture decode to nearly the same pixels", () => {
  const a = decodeImage(imageBytes("baseline444_64x48.jpg"));
  const b = decodeImage(imageBytes("progressive_64x48.jpg"));
  assert.ok(pixelDiff(a.data, b.data, "progressive").max <= 2);
});

test("the format comes from the magic bytes, not the name", () => {
  const png = imageBytes("rgb8_64x48.png");
  assert.is(detectFormat(png), "png");
  assert.is(detectFormat(imageBytes("gray_64x48.jpg")), "jpeg");
  assert.is(detectFormat(imageBytes("bgr24_31x17.bmp")), "bmp");
  assertSameImage(decodeImage(png, "misnamed.jpg"), golden.get("rgb8_64x48.png.decoded"), "misnamed");
});

test("bytes that are a view into a larger buffer (Node's pooled Buffers) decode the same", () => {
  for (const name of ["rgb8_47x61.png", "bgr24_31x17.bmp", "gray_64x48.jpg"]) {
    const bytes = imageBytes(name);
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 7);
    const viewed = decodeImage(big.subarray(7, 7 + bytes.length), name);
    assert.equal(viewed.data, decodeImage(bytes, name).data, name);
  }
});

// ---- errors ----------------------------------------------------------------------------------

function throwsWith(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test("unknown format names the source", () => {
  throwsWith(
    () => decodeImage(new TextEncoder().encode("hello, world"), "x.txt"),
    /^x\.txt: not a PNG, JPEG or BMP image$/,
  );
  throwsWith(() => decodeImage(new Uint8Array(0), "empty.png"), /^empty\.png: not a PNG, JPEG or BMP image$/);
  throwsWith(() => decodeImage([1, 2, 3] as unknown as Uint8Array, "arr"), /^arr: image bytes must be a Uint8Array/);
});

test("truncated PNG: in the header, inside a chunk, and before IEND", () => {
  const png = imageBytes("rgb8_64x48.png");
  throwsWith(() => decodeImage(png.subarray(0, 20), "a.png"), /^a\.png: truncated PNG: 20 bytes, the header needs 33/);
  throwsWith(
    () => decodeImage(png.subarray(0, png.length >> 1), "b.png"),
    /^b\.png: truncated PNG: chunk IDAT at byte \d+ needs/,
  );
  throwsWith(
    () => decodeImage(png.subarray(0, png.length - 12), "c.png"),
    /^c\.png: truncated PNG: file ends at byte \d+ before the IEND chunk/,
  );
});

test("corrupt PNG data is reported with the source", () => {
  const png = imageBytes("rgb8_64x48.png");
  const idat = png.findIndex((_, i) => String.fromCharCode(...png.subarray(i, i + 4)) === "IDAT");
  const broken = patched(png, idat + 4, new Array(40).fill(0xff)); // garbage zlib stream
  throwsWith(() => decodeImage(broken, "broken.png"), /^broken\.png: corrupt PNG/);
  throwsWith(
    () => decodeImage(patchedPng(png, 24, [3]), "depth.png"),
    /^depth\.png: corrupt PNG: colour type 2 with bit depth 3/,
  );
});

test("truncated JPEG, BMP", () => {
  const jpg = imageBytes("baseline420_64x48.jpg");
  throwsWith(
    () => decodeImage(jpg.subarray(0, jpg.length - 200), "t.jpg"),
    /^t\.jpg: truncated JPEG: .*end-of-image marker/,
  );
  throwsWith(
    () => decodeImage(jpg.subarray(0, 100), "h.jpg"),
    /^h\.jpg: truncated JPEG: file ends at byte 100 (before|inside) the/,
  );
  const progressive = imageBytes("progressive_64x48.jpg");
  throwsWith(() => decodeImage(progressive.subarray(0, progressive.length >> 1), "p.jpg"), /^p\.jpg: truncated JPEG/);
  const bmp = imageBytes("bgr24_31x17.bmp");
  throwsWith(
    () => decodeImage(bmp.subarray(0, bmp.length - 5), "t.bmp"),
    /^t\.bmp: truncated BMP: pixel rows need \d+ bytes/,
  );
  throwsWith(() => decodeImage(bmp.subarray(0, 20), "h.bmp"), /^h\.bmp: truncated BMP: 20 bytes/);
});

const U32BE = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const U16BE = (v: number) => [v >>> 8, v & 255];
const I32LE = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];

/** Byte offset of the SOF0/SOF2 marker in a JPEG. */
function sofAt(jpg: Uint8Array): number {
  return jpg.findIndex((b, i) => b === 0xff && (jpg[i + 1] === 0xc0 || jpg[i + 1] === 0xc2));
}

test("zero-size images are refused (PNG, JPEG, BMP)", () => {
  const png = imageBytes("rgb8_64x48.png");
  throwsWith(
    () => decodeImage(patchedPng(png, 16, U32BE(0)), "w0.png"),
    /^w0\.png: image has zero or invalid size 0x48/,
  );
  const jpg = imageBytes("gray_64x48.jpg");
  throwsWith(
    () => decodeImage(patched(jpg, sofAt(jpg) + 5, U16BE(0)), "h0.jpg"),
    /^h0\.jpg: image has zero or invalid size 64x0/,
  );
  const bmp = imageBytes("bgr24_31x17.bmp");
  throwsWith(() => decodeImage(patched(bmp, 18, I32LE(0)), "w0.bmp"), /^w0\.bmp: image has zero or invalid size 0x17/);
});

test("absurdly large dimensions are refused from the header (per side and in total)", () => {
  const png = imageBytes("rgb8_64x48.png");
  throwsWith(
    () => decodeImage(patchedPng(png, 16, U32BE(20000)), "wide.png"),
    /^wide\.png: image size 20000x48 is too large \(limit 16384 per side and 40 megapixels\)/,
  );
  throwsWith(
    () => decodeImage(patchedPng(png, 16, [...U32BE(12000), ...U32BE(12000)]), "big.png"),
    /^big\.png: image size 12000x12000 is too large/,
  );
  throwsWith(() => decodeImage(patchedPng(png, 16, U32BE(0xffffffff)), "huge.png"), /too large/);
  const jpg = imageBytes("gray_64x48.jpg");
  throwsWith(
    () => decodeImage(patched(jpg, sofAt(jpg) + 5, [...U16BE(60000), ...U16BE(60000)]), "big.jpg"),
    /^big\.jpg: image size 60000x60000 is too large/,
  );
  const bmp = imageBytes("bgr24_31x17.bmp");
  throwsWith(
    () => decodeImage(patched(bmp, 22, I32LE(-100000)), "tall.bmp"),
    /^tall\.bmp: image size 31x100000 is too large/,
  );
});

test("unsupported variants say what is supported", () => {
  const bmp = imageBytes("bgr24_31x17.bmp");
  throwsWith(
    () => decodeImage(patched(bmp, 28, [8, 0]), "p8.bmp"),
    /^p8\.bmp: unsupported BMP: 8 bits per pixel, compression 0 \(only uncompressed 24- and 32-bit/,
  );
  throwsWith(
    () => decodeImage(patched(bmp, 30, I32LE(1)), "rle.bmp"),
    /unsupported BMP: 24 bits per pixel, compression 1/,
  );
  const png = imageBytes("gray2_30x20.png");
  throwsWith(
    () => decodeImage(patchedPng(png, 28, [1]), "i.png"),
    /^i\.png: unsupported PNG: interlaced with bit depth 2/,
  );
  const jpg = imageBytes("gray_64x48.jpg");
  throwsWith(
    () => decodeImage(patched(jpg, sofAt(jpg) + 1, [0xc3]), "lossless.jpg"),
    /^lossless\.jpg: unsupported JPEG: lossless coding/,
  );
});

test.run();
