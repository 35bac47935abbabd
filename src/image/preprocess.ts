// timm's evaluation transform on a decoded RGB image, step for step as torchvision runs it
// on a PIL image:
//   Resize(floor(inputSize / cropPct), interpolation)   shorter side -> that size,
//                                                       longer side = int(size * long / short)
//   CenterCrop(inputSize)                               top = round((h - size) / 2), half to even
//                                                       (zero padding first if the image is smaller)
//   ToTensor()                                          uint8 / 255 in float32, [3, H, W]
//   Normalize(mean, std)                                (x - mean) / std in float32
// giving a Tensor [1, 3, inputSize, inputSize].
import { Tensor, ShapeError, expectRank, shapeStr } from "../tensor/tensor.ts";
import { ImageError, checkRgbImage, type RgbImage } from "./image.ts";
import { resizeRgb, type ResizeFilter } from "./resize.ts";

export type Rgb = readonly [number, number, number];

export interface PreprocessConfig {
  inputSize: number;
  cropPct: number;
  mean: Rgb;
  std: Rgb;
  interpolation: ResizeFilter;
}

export const IMAGENET_DEFAULT_MEAN: Rgb = [0.485, 0.456, 0.406];
export const IMAGENET_DEFAULT_STD: Rgb = [0.229, 0.224, 0.225];

/** DeiT / timm ImageNet default: 224 crop of a 256 bicubic resize. */
export const DEIT_EVAL: PreprocessConfig = {
  inputSize: 224,
  cropPct: 0.875,
  mean: IMAGENET_DEFAULT_MEAN,
  std: IMAGENET_DEFAULT_STD,
  interpolation: "bicubic",
};

/** The shorter-side size timm resizes to before cropping. */
export function resizeSizeFor(config: PreprocessConfig): number {
  return Math.floor(config.inputSize / config.cropPct);
}

// Bounds on the configuration and the resized image, so that no config or image shape can make
// preprocessing allocate without bound (a 16384x1 image resized to a 256 shorter side is 4 M px
// wide: 3.2 GB). Decoded images already pass image.ts's aspect limit; these guard direct callers.
/** Largest model input side accepted (ViTs use 224..518; 2048 leaves room). */
export const MAX_INPUT_SIZE = 2048;
/** cropPct range: the resize is 1/cropPct of the crop (0.875 for DeiT; 1.2 pads, still a valid transform). */
export const CROP_PCT_RANGE = [0.25, 2] as const;
/** Largest image resizeShorterSide produces (the decode limit's default). */
export const MAX_RESIZED_PIXELS = 40_000_000;

/** torchvision Resize(size) with an int: the shorter side becomes `size`, aspect ratio kept (truncated). */
export function resizeShorterSide(image: RgbImage, size: number, filter: ResizeFilter = "bicubic"): RgbImage {
  checkRgbImage("resizeShorterSide", image);
  const { width: w, height: h } = image;
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((size * long) / short);
  const [newW, newH] = w <= h ? [size, newLong] : [newLong, size];
  if (newW * newH > MAX_RESIZED_PIXELS) {
    throw new ImageError(
      "resizeShorterSide",
      `resizing ${w}x${h} to ${newW}x${newH} exceeds ${MAX_RESIZED_PIXELS / 1e6} megapixels (the image is too elongated)`,
    );
  }
  if (newW === w && newH === h) return { width: w, height: h, data: image.data.slice() }; // PIL copies
  return resizeRgb(image, newW, newH, filter);
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision CenterCrop(size): zero-pads an image smaller than the crop, then crops the centre. */
export function centerCrop(image: RgbImage, size: number): RgbImage {
  checkRgbImage("centerCrop", image);
  if (!Number.isInteger(size) || size <= 0)
    throw new ImageError("centerCrop", `crop size must be a positive integer, got ${size}`);
  let { width, height, data } = image;
  if (size > width || size > height) {
    const left = size > width ? Math.floor((size - width) / 2) : 0;
    const top = size > height ? Math.floor((size - height) / 2) : 0;
    const paddedW = Math.max(width, size);
    const paddedH = Math.max(height, size);
    const padded = new Uint8Array(paddedW * paddedH * 3);
    for (let y = 0; y < height; y++) {
      padded.set(data.subarray(y * width * 3, (y + 1) * width * 3), ((y + top) * paddedW + left) * 3);
    }
    [width, height, data] = [paddedW, paddedH, padded];
  }
  const top = roundHalfEven((height - size) / 2);
  const left = roundHalfEven((width - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * width + left) * 3;
    out.set(data.subarray(from, from + size * 3), y * size * 3);
  }
  return { width: size, height: size, data: out };
}

/** ToTensor + Normalize: RGB [H, W, 3] uint8 -> [1, 3, H, W] float32, same float32 rounding as torch. */
export function normalizeToTensor(image: RgbImage, mean: Rgb, std: Rgb): Tensor {
  checkRgbImage("normalizeToTensor", image);
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let i = 0; i < plane; i++) {
      const unit = Math.fround(image.data[3 * i + c] / 255);
      out[c * plane + i] = Math.fround(unit - m) / s;
    }
  }
  return new Tensor(out, [1, 3, image.height, image.width]);
}

/** Throws an ImageError naming `op` and the field unless `config` is a usable preprocessing config. */
export function checkPreprocessConfig(op: string, config: PreprocessConfig): void {
  if (typeof config !== "object" || config === null) throw new ImageError(op, "preprocess config must be an object");
  const { inputSize, cropPct, mean, std, interpolation } = config;
  if (!Number.isInteger(inputSize) || inputSize <= 0 || inputSize > MAX_INPUT_SIZE) {
    throw new ImageError(op, `inputSize must be an integer in 1..${MAX_INPUT_SIZE}, got ${JSON.stringify(inputSize)}`);
  }
  const [minCrop, maxCrop] = CROP_PCT_RANGE;
  if (typeof cropPct !== "number" || !(cropPct >= minCrop && cropPct <= maxCrop)) {
    throw new ImageError(op, `cropPct must be a number in [${minCrop}, ${maxCrop}], got ${JSON.stringify(cropPct)}`);
  }
  const three = (v: unknown) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (!three(mean) || !three(std)) throw new ImageError(op, "mean and std must have 3 finite numbers (R, G, B)");
  if (std.some((s) => !(s > 0))) throw new ImageError(op, `std must be positive, got [${std.join(", ")}]`);
  if (interpolation !== "bicubic" && interpolation !== "bilinear") {
    throw new ImageError(op, `interpolation must be bicubic or bilinear, got '${interpolation}'`);
  }
}

/** timm's eval transform: RGB image of any size -> Tensor [1, 3, inputSize, inputSize]. */
export function preprocess(image: RgbImage, config: PreprocessConfig = DEIT_EVAL): Tensor {
  checkPreprocessConfig("preprocess", config);
  const resized = resizeShorterSide(image, resizeSizeFor(config), config.interpolation);
  return normalizeToTensor(centerCrop(resized, config.inputSize), config.mean, config.std);
}

/** The same transform for an image already inputSize x inputSize: no resize, no crop (nothing stretched). */
export function preprocessAtSize(image: RgbImage, config: PreprocessConfig = DEIT_EVAL): Tensor {
  checkPreprocessConfig("preprocessAtSize", config);
  checkRgbImage("preprocessAtSize", image);
  if (image.width !== config.inputSize || image.height !== config.inputSize) {
    throw new ImageError(
      "preprocessAtSize",
      `image is ${image.width}x${image.height}, expected ${config.inputSize}x${config.inputSize} (use preprocess to resize and crop)`,
    );
  }
  return normalizeToTensor(image, config.mean, config.std);
}

/** Inverse of Normalize + ToTensor for pictures: [1, 3, H, W] or [3, H, W] -> RGB, rounded and clipped. */
export function tensorToRgb(x: Tensor, mean: Rgb = IMAGENET_DEFAULT_MEAN, std: Rgb = IMAGENET_DEFAULT_STD): RgbImage {
  expectRank("tensorToRgb", "x", x, [3, 4]);
  const shape = x.rank === 4 ? x.shape : [1, ...x.shape];
  if (shape[0] !== 1 || shape[1] !== 3)
    throw new ShapeError("tensorToRgb", `x must have shape [1, 3, H, W] or [3, H, W], got ${shapeStr(x.shape)}`);
  const [height, width] = [shape[2], shape[3]];
  const plane = width * height;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = Math.round((x.data[c * plane + i] * std[c] + mean[c]) * 255);
      data[3 * i + c] = v < 0 ? 0 : v > 255 ? 255 : v; // NaN -> 0
    }
  }
  return { width, height, data };
}
