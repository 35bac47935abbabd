// encodePng: what it writes decodes back (by fast-png and by our decoder's checks) to the same pixels.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodePng } from "../../src/image/encode.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { imageBytes } from "./helpers.ts";

const photo = decodeImage(imageBytes("rgb8_47x61.png"));

test("RGB round trip: colour type 2, same size and pixels", () => {
  const png = encodePng(photo.data, photo.width, photo.height);
  assert.is(png[25], 2); // IHDR colour type: truecolour
  assert.is(png[24], 8); // bit depth
  const back = decodeImage(png, "roundtrip.png");
  assert.equal([back.width, back.height], [47, 61]);
  assert.equal(back.data, photo.data);
});

test("RGBA: colour type 6; decoding drops the alpha (as PIL's convert('RGB'))", () => {
  const rgba = new Uint8Array(photo.width * photo.height * 4);
  for (let i = 0; i < photo.width * photo.height; i++) {
    rgba.set(photo.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = i % 256;
  }
  const png = encodePng(rgba, photo.width, photo.height);
  assert.is(png[25], 6);
  assert.equal(decodeImage(png).data, photo.data);
});

test("wrong sizes are named", () => {
  assert.throws(
    () => encodePng(new Uint8Array(10), 2, 2),
    /encodePng: 2x2 needs 12 \(RGB\) or 16 \(RGBA\) bytes, got 10/,
  );
  assert.throws(() => encodePng(new Uint8Array(0), 0, 2), /encodePng: image size must be positive integers, got 0x2/);
  assert.throws(
    () => encodePng([1, 2, 3] as unknown as Uint8Array, 1, 1),
    /encodePng: pixel data must be a Uint8Array/,
  );
});

test.run();
