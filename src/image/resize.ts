// Resizing 8-bit RGB the way PIL's Image.resize does (BICUBIC / BILINEAR, no reducing_gap),
// so that preprocessing reproduces timm's PIL pipeline to the byte.
//
// The resize is separable: a horizontal pass (rows, width in -> width out) into an 8-bit
// intermediate image, then a vertical pass (columns). Each output sample i is a weighted
// sum of the input samples around its centre c = (i + 0.5) * scale, scale = in / out:
//   - when shrinking, the filter is stretched by `scale` (antialiasing): tap x gets
//     weight f((x + 0.5 - c) / stretch) with stretch = max(scale, 1), over the window
//     [c - support * stretch, c + support * stretch) clipped to the image;
//   - the weights are divided by their sum (so the clipped border windows still sum to 1);
//   - then turned into fixed point with 22 fractional bits (rounded half away from zero);
//     the sum of sample * weight starts at one half (2^21), is shifted right by 22 and
//     clipped to 0..255.
// A pass whose size does not change is skipped (it would be the identity).
import { ImageError, checkRgbImage, type RgbImage } from "./image.ts";

export type ResizeFilter = "bicubic" | "bilinear";

interface Filter {
  support: number; // the kernel is zero outside [-support, support]
  weight(x: number): number;
}

const CUBIC_A = -0.5; // PIL's bicubic (Keys' a = -0.5; PyTorch's interpolate uses -0.75)

const FILTERS: Record<ResizeFilter, Filter> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight(x) {
      const t = Math.abs(x);
      if (t < 1) return ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * CUBIC_A;
      return 0;
    },
  },
};

const PRECISION_BITS = 22; // 32 - 8 (sample) - 2 (headroom for negative lobes)
const ONE = 1 << PRECISION_BITS;

/** For each output sample: the first input tap and its fixed-point weights (`taps` slots each). */
interface Taps {
  first: Int32Array; // [out]
  count: Int32Array; // [out]
  weights: Int32Array; // [out, taps]
  taps: number;
}

function computeTaps(inSize: number, outSize: number, filter: Filter): Taps {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const invStretch = 1 / stretch;
  const support = filter.support * stretch;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      w[x - lo] = filter.weight((x - center + 0.5) * invStretch);
      total += w[x - lo];
    }
    for (let j = 0; j < hi - lo; j++) {
      const normalised = total === 0 ? w[j] : w[j] / total;
      weights[i * taps + j] = Math.sign(normalised) * Math.trunc(Math.abs(normalised) * ONE + 0.5);
    }
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { first, count, weights, taps };
}

const clip8 = (acc: number) => {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** Resizes along x: [h, inW, 3] -> [h, outW, 3]. */
function resizeRows(src: Uint8Array, height: number, inW: number, outW: number, filter: Filter): Uint8Array {
  const { first, count, weights, taps } = computeTaps(inW, outW, filter);
  const out = new Uint8Array(height * outW * 3);
  for (let y = 0; y < height; y++) {
    const row = y * inW * 3;
    for (let x = 0; x < outW; x++) {
      let r = 1 << (PRECISION_BITS - 1),
        g = r,
        b = r;
      for (let j = 0; j < count[x]; j++) {
        const k = weights[x * taps + j];
        const p = row + (first[x] + j) * 3;
        r += src[p] * k;
        g += src[p + 1] * k;
        b += src[p + 2] * k;
      }
      const o = (y * outW + x) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Resizes along y: [inH, w, 3] -> [outH, w, 3]. */
function resizeColumns(src: Uint8Array, width: number, inH: number, outH: number, filter: Filter): Uint8Array {
  const { first, count, weights, taps } = computeTaps(inH, outH, filter);
  const rowLength = width * 3;
  const out = new Uint8Array(outH * rowLength);
  for (let y = 0; y < outH; y++) {
    for (let i = 0; i < rowLength; i++) {
      let acc = 1 << (PRECISION_BITS - 1);
      for (let j = 0; j < count[y]; j++) acc += src[(first[y] + j) * rowLength + i] * weights[y * taps + j];
      out[y * rowLength + i] = clip8(acc);
    }
  }
  return out;
}

/** PIL-exact `image.resize((width, height), BICUBIC | BILINEAR)` of an RGB image. */
export function resizeRgb(image: RgbImage, width: number, height: number, filter: ResizeFilter = "bicubic"): RgbImage {
  checkRgbImage("resizeRgb", image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError("resizeRgb", `output size must be positive integers, got ${width}x${height}`);
  }
  const kernel = FILTERS[filter];
  if (!kernel) throw new ImageError("resizeRgb", `unknown filter '${filter}' (expected bicubic or bilinear)`);
  let data = image.data;
  if (width !== image.width) data = resizeRows(data, image.height, image.width, width, kernel);
  if (height !== image.height) data = resizeColumns(data, width, image.height, height, kernel);
  return { width, height, data: data === image.data ? data.slice() : data };
}
