// timm's eval transform against torchvision on PIL images (tools/golden/gen_image.py):
// Resize(floor(size / crop_pct), BICUBIC) -> CenterCrop(size) -> ToTensor -> Normalize.
// Every stage before ToTensor is integer, so the pixels must be equal; ToTensor and Normalize are
// done with the same float32 operations in the same order, so the tensors must be bit-equal
// (measured max difference: 0; the requirement was 1/255 of a pixel = 0.017 in normalised units).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeImage } from "../../src/image/decode.ts";
import {
  DEIT_EVAL,
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
  centerCrop,
  normalizeToTensor,
  preprocess,
  preprocessAtSize,
  resizeShorterSide,
  resizeSizeFor,
  tensorToRgb,
  type PreprocessConfig,
} from "../../src/image/preprocess.ts";
import { tensor } from "../../src/tensor/tensor.ts";
import { fixture } from "../golden.ts";
import { assertSameImage, imageBytes, pixelDiff } from "./helpers.ts";

const golden = fixture("image");
const small: PreprocessConfig = { ...DEIT_EVAL, inputSize: 32 }; // Resize(36) + CenterCrop(32)
const TENSOR_TOL = 0;

const decoded = (name: string) => decodeImage(imageBytes(name), name);

function assertTensorMatches(name: string, key: string, config: PreprocessConfig): void {
  const expected = golden.get(key);
  const actual = preprocess(decoded(name), config);
  assert.equal(actual.shape, expected.shape);
  const { max } = pixelDiff(actual.data, expected.data, key);
  assert.ok(max <= TENSOR_TOL, `${key}: max difference ${max} > ${TENSOR_TOL}`);
}

test("DeiT's resize size: floor(224 / 0.875) = 256", () => {
  assert.is(resizeSizeFor(DEIT_EVAL), 256);
  assert.is(resizeSizeFor(small), 36);
  assert.is(resizeSizeFor({ ...DEIT_EVAL, cropPct: 0.9 }), 248);
});

for (const key of golden.keys.filter((k) => k.endsWith(".png.resized"))) {
  const name = key.slice(0, -".resized".length);
  test(`${name}: Resize(36, BICUBIC) of our decode equals torchvision on PIL's`, () => {
    assertSameImage(resizeShorterSide(decoded(name), 36, "bicubic"), golden.get(key), key);
  });
}

for (const key of golden.keys.filter((k) => /\.png\.tensor$/.test(k))) {
  const name = key.slice(0, -".tensor".length);
  test(`${name}: the whole transform matches torchvision (bit-exact)`, () => {
    assertTensorMatches(name, key, small);
  });
}

test("bilinear interpolation, crop_pct 1.0, and x.5 crop offsets (Python rounds half to even)", () => {
  assertTensorMatches("rgb8_64x48.png", "rgb8_64x48.png.bilinear.tensor", { ...small, interpolation: "bilinear" });
  assertTensorMatches("rgb8_64x48.png", "rgb8_64x48.png.crop_pct_1.tensor", { ...small, cropPct: 1.0 });
  assertTensorMatches("rgb8_64x48.png", "rgb8_64x48.png.crop_pct_0.95.tensor", { ...small, cropPct: 0.95 });
  assertTensorMatches("rgb8_64x48.png", "rgb8_64x48.png.crop_pct_0.86.tensor", { ...small, cropPct: 0.86 });
});

test("a crop larger than the resized image is zero-padded first, as torchvision does", () => {
  assertTensorMatches("rgb8_47x61.png", "rgb8_47x61.png.padded.tensor", { ...small, cropPct: 1.2 });
});

test("300x200 -> Resize(256) -> CenterCrop(224): equal pixels, and the DeiT tensor follows", () => {
  const image = decoded("rgb8_300x200.png");
  const expectedCrop = decoded("expected_rgb8_300x200_crop224.png"); // PIL's output, saved losslessly
  const crop = centerCrop(resizeShorterSide(image, 256, "bicubic"), 224);
  assert.is(pixelDiff(crop.data, expectedCrop.data, "crop").max, 0);
  const x = preprocess(image, DEIT_EVAL);
  assert.equal(x.shape, [1, 3, 224, 224]);
  assert.equal(x.data, normalizeToTensor(expectedCrop, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD).data);
});

test("preprocessAtSize: an image already at the input size is only normalised", () => {
  const image = centerCrop(resizeShorterSide(decoded("rgb8_64x48.png"), 36), 32);
  const x = preprocessAtSize(image, small);
  const { max } = pixelDiff(x.data, golden.get("rgb8_64x48.png.tensor").data, "at size");
  assert.ok(max <= TENSOR_TOL);
  assert.throws(
    () => preprocessAtSize(decoded("rgb8_64x48.png"), small),
    /preprocessAtSize: image is 64x48, expected 32x32/,
  );
});

test("tensorToRgb inverts normalizeToTensor exactly, for [1,3,H,W] and [3,H,W]", () => {
  const image = decoded("rgb8_47x61.png");
  const x = normalizeToTensor(image, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD);
  const back = tensorToRgb(x);
  assert.equal([back.width, back.height], [47, 61]);
  assert.equal(back.data, image.data);
  assert.equal(tensorToRgb(x.reshape([3, 61, 47])).data, image.data);
});

test("tensorToRgb clips out-of-range values and rejects other shapes", () => {
  const x = tensor([-100, 100, 0, 0, 0, 0], [1, 3, 1, 2]);
  const out = tensorToRgb(x, [0, 0, 0], [1, 1, 1]);
  assert.equal([...out.data], [0, 0, 0, 255, 0, 0]);
  assert.throws(
    () => tensorToRgb(tensor([1, 2, 3, 4], [1, 4, 1, 1])),
    /tensorToRgb: x must have shape \[1, 3, H, W\] or \[3, H, W\], got \[1, 4, 1, 1\]/,
  );
  assert.throws(() => tensorToRgb(tensor([1, 2, 3], [3])), /tensorToRgb: x must have rank 3 or 4, got shape \[3\]/);
});

test("bad configs and images are named", () => {
  const image = decoded("rgb8_64x48.png");
  assert.throws(
    () => preprocess(image, { ...small, inputSize: 0 }),
    /preprocess: inputSize must be an integer in 1\.\.2048, got 0/,
  );
  assert.throws(
    () => preprocess(image, { ...small, inputSize: 100000 }),
    /preprocess: inputSize must be an integer in 1\.\.2048, got 100000/,
  );
  assert.throws(
    () => preprocess(image, { ...small, cropPct: 0 }),
    /preprocess: cropPct must be a number in \[0\.25, 2\], got 0/,
  );
  assert.throws(
    () => preprocess(image, { ...small, cropPct: "0.9" as unknown as number }),
    /cropPct must be a number in \[0\.25, 2\], got "0\.9"/,
  );
  assert.throws(
    () => preprocess(image, { ...small, mean: [0.5, NaN, 0.5] }),
    /preprocess: mean and std must have 3 finite numbers/,
  );
  assert.throws(() => preprocess(image, { ...small, std: [1, 0, 1] }), /preprocess: std must be positive/);
  assert.throws(
    () => preprocess(image, { ...small, interpolation: "nearest" as "bicubic" }),
    /preprocess: interpolation must be bicubic or bilinear, got 'nearest'/,
  );
  assert.throws(
    () => preprocess({ width: 2, height: 2, data: new Uint8Array(3) }),
    /resizeShorterSide: RGB image 2x2 needs 12 bytes, got 3/,
  );
  assert.throws(() => centerCrop(image, 0), /centerCrop: crop size must be a positive integer, got 0/);
});

test("an elongated image given directly (not decoded) is refused before the resize allocates", () => {
  const line = { width: 16384, height: 1, data: new Uint8Array(16384 * 3) };
  assert.throws(() => preprocess(line), /resizeShorterSide: resizing 16384x1 to 4194304x256 exceeds 40 megapixels/);
});

test.run();
