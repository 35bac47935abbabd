// Uniform quantizers (docs/quantization.md §1): integer grids, round-half-up, fake quantization, and
// the ways a scale is chosen — min-max with a float scale (the baseline), or a power of two 2^e
// (min-max rounded up, or the exponent whose grid has the least squared error on the values).
//
// A value v on the grid (scale s, integer range [lo, hi]) is q = clamp(floor(v / s + 1/2), lo, hi);
// the fake-quantized value is q * s. With s = 2^e both the division and the product are exact in
// float, which is what makes the simulated and the integer execution bit-identical (quantized_net.ts).

/** An integer range [lo, hi]: signed b bits = [-2^(b-1), 2^(b-1) - 1], unsigned b bits = [0, 2^b - 1]. */
export interface IntRange {
  lo: number;
  hi: number;
}

export function signedRange(bits: number): IntRange {
  checkBits(bits);
  return { lo: -(2 ** (bits - 1)), hi: 2 ** (bits - 1) - 1 };
}

export function unsignedRange(bits: number): IntRange {
  checkBits(bits);
  return { lo: 0, hi: 2 ** bits - 1 };
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new Error(`quantizer: bits must be 2..8, got ${bits}`);
}

/** Round half up (floor(v + 1/2)): the rounding an arithmetic right shift with a half-step offset gives. */
export function roundHalfUp(v: number): number {
  return Math.floor(v + 0.5);
}

/** The integer of v on the grid of `scale`, clamped to `range`. */
export function quantizeValue(v: number, scale: number, range: IntRange): number {
  const q = roundHalfUp(v / scale);
  return q < range.lo ? range.lo : q > range.hi ? range.hi : q;
}

/** Fake quantization: every value replaced by its grid point q * scale (a new array). */
export function fakeQuantize(values: Float32Array, scale: number, range: IntRange): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = quantizeValue(values[i], scale, range) * scale;
  return out;
}

/** Largest |v|. */
export function absMax(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m) m = a;
  }
  return m;
}

/** Min-max scale (float): the largest |v| lands on the top of the range. A zero tensor gets scale 1. */
export function minMaxScale(max: number, range: IntRange): number {
  return max > 0 ? max / range.hi : 1;
}

/** Smallest exponent the project lets a scale have (2^-40: far below any float32 weight or activation of interest). */
export const MIN_EXPONENT = -40;

/** Power-of-two min-max: the smallest 2^e whose grid holds the largest |v| without clipping. */
export function ceilExponent(max: number, range: IntRange): number {
  if (!(max > 0)) return MIN_EXPONENT;
  return Math.max(MIN_EXPONENT, Math.ceil(Math.log2(max / range.hi)));
}

/** Sum of squared errors of fake-quantizing `values` on the grid of `scale`. */
export function quantizationError(values: ArrayLike<number>, scale: number, range: IntRange): number {
  let sse = 0;
  for (let i = 0; i < values.length; i++) {
    const d = quantizeValue(values[i], scale, range) * scale - values[i];
    sse += d * d;
  }
  return sse;
}

/**
 * The power-of-two exponent with the least squared error on `values`, among the min-max exponent and
 * the `span` below it (each step down halves the rounding error and clips more). Ties keep the larger scale.
 */
export function mseExponent(values: ArrayLike<number>, range: IntRange, span = 4): number {
  const top = ceilExponent(absMax(values), range);
  let best = top;
  let bestError = quantizationError(values, 2 ** top, range);
  for (let e = top - 1; e >= Math.max(MIN_EXPONENT, top - span); e--) {
    const error = quantizationError(values, 2 ** e, range);
    if (error < bestError) {
      best = e;
      bestError = error;
    }
  }
  return best;
}
