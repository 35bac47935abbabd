// resizeRgb against PIL's Image.resize (BICUBIC, BILINEAR) on a noisy 40x30 picture with
// saturated pixels: down, up, one axis only, to 1x1. PIL is integer arithmetic, so we require equality.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resizeRgb, type ResizeFilter } from "../../src/image/resize.ts";
import type { RgbImage } from "../../src/image/image.ts";
import { fixture } from "../golden.ts";
import { assertSameImage } from "./helpers.ts";

const golden = fixture("image_resize");
const input = golden.get("input"); // [30, 40, 3]
const source: RgbImage = { width: input.shape[1], height: input.shape[0], data: Uint8Array.from(input.data) };
const cases = golden.keys.filter((k) => k !== "input");

test("the fixture has bicubic and bilinear cases that shrink, enlarge and keep an axis", () => {
  assert.ok(cases.length >= 16);
  assert.ok(cases.includes("bicubic_1x1") && cases.includes("bilinear_40x71") && cases.includes("bicubic_97x30"));
});

for (const key of cases) {
  test(`${key}: equal to PIL`, () => {
    const [filter, size] = key.split("_");
    const [width, height] = size.split("x").map(Number);
    assertSameImage(resizeRgb(source, width, height, filter as ResizeFilter), golden.get(key), key);
  });
}

test("same size returns an equal copy, not the input buffer", () => {
  const out = resizeRgb(source, 40, 30);
  assert.equal(out.data, source.data);
  assert.is.not(out.data, source.data);
});

test("a constant image stays constant under both filters (weights sum to one)", () => {
  const flat: RgbImage = { width: 9, height: 7, data: new Uint8Array(9 * 7 * 3).fill(200) };
  for (const filter of ["bicubic", "bilinear"] as const) {
    for (const [w, h] of [
      [4, 3],
      [23, 17],
      [9, 2],
    ]) {
      assert.ok(
        resizeRgb(flat, w, h, filter).data.every((v) => v === 200),
        `${filter} ${w}x${h}`,
      );
    }
  }
});

test("bad arguments name resizeRgb", () => {
  assert.throws(() => resizeRgb(source, 0, 5), /resizeRgb: output size must be positive integers, got 0x5/);
  assert.throws(() => resizeRgb(source, 2.5, 5), /resizeRgb: output size/);
  assert.throws(() => resizeRgb(source, 5, 5, "lanczos" as ResizeFilter), /resizeRgb: unknown filter 'lanczos'/);
  assert.throws(
    () => resizeRgb({ width: 4, height: 4, data: new Uint8Array(47) }, 2, 2),
    /resizeRgb: RGB image 4x4 needs 48 bytes, got 47/,
  );
});

test.run();
