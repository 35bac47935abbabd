// Fixed-point arithmetic of TFLite's integer kernels, written from TFLite's quantization specification
// (tensorflow.org/lite/performance/quantization_spec) and gemmlowp's fixed-point definitions:
//
//   real value = scale * (q - zero_point)
//   a real multiplier M (e.g. input_scale * filter_scale / output_scale) is stored as an int32
//   `multiplier` in [2^30, 2^31) and a power-of-two `shift`: M = multiplier * 2^(shift - 31)
//
//   quantizeMultiplier(M):             frexp(M) = q * 2^shift, q in [0.5, 1); multiplier = round(q * 2^31)
//                                      (round half away from zero; 2^31 -> 2^30 with shift + 1)
//   saturatingRoundingDoublingHighMul(a, b) = (a * b + nudge) / 2^31, truncated toward zero, where
//                                      nudge = 2^30 if a * b >= 0 else 1 - 2^30 (the one overflow,
//                                      a = b = -2^31, saturates to 2^31 - 1)
//   roundingDivideByPOT(x, e)          = x / 2^e rounded to nearest, ties away from zero
//   multiplyByQuantizedMultiplier(x, multiplier, shift)
//                                      = roundingDivideByPOT(SRDHM(x * 2^max(shift, 0), multiplier), max(-shift, 0))
//
// JavaScript numbers are doubles: int32 values and their sums are exact, but a * b needs 62 bits, so
// saturatingRoundingDoublingHighMul splits b into 16-bit halves and carries the division by 2^31
// through the parts (every intermediate below 2^53; test/tensor/fixed_point.test.ts checks it
// against BigInt on random and extreme values).

const TWO_31 = 2147483648;
const INT32_MIN = -TWO_31;
const INT32_MAX = TWO_31 - 1;

export interface QuantizedMultiplier {
  multiplier: number; // int32 in [2^30, 2^31), or 0
  shift: number; // M = multiplier * 2^(shift - 31)
}

/** Round half away from zero (C's round / std::round). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** A positive real multiplier as int32 multiplier + shift (TFLite's QuantizeMultiplier). */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (!(Number.isFinite(real) && real >= 0)) throw new Error(`quantizeMultiplier: ${real} is not a finite value >= 0`);
  if (real === 0) return { multiplier: 0, shift: 0 };
  // frexp: real = q * 2^shift with q in [0.5, 1); dividing by powers of two is exact
  let shift = Math.floor(Math.log2(real)) + 1;
  let q = real / 2 ** shift;
  while (q >= 1) ((q /= 2), shift++);
  while (q < 0.5) ((q *= 2), shift--);
  let multiplier = roundHalfAway(q * TWO_31);
  if (multiplier === TWO_31) ((multiplier /= 2), shift++);
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier, shift };
}

/** (a * b * 2 + 2^31 rounding) >> 32 of two int32s, exactly as gemmlowp's SaturatingRoundingDoublingHighMul. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const bLo = b & 0xffff; // 0 .. 65535
  const bHi = (b - bLo) / 65536; // -32768 .. 32767
  const pHi = a * bHi; // |pHi| <= 2^46: exact
  const nudge = a >= 0 === b >= 0 || a === 0 || b === 0 ? 2 ** 30 : 1 - 2 ** 30;
  // a * b + nudge = q1 * 2^31 + rest, with pHi = q1 * 2^15 + r1
  const q1 = Math.floor(pHi / 32768);
  const r1 = pHi - q1 * 32768;
  const rest = r1 * 65536 + a * bLo + nudge; // |rest| < 2^49: exact
  const restFloor = Math.floor(rest / TWO_31);
  const floorDiv = q1 + restFloor; // floor((a * b + nudge) / 2^31)
  const remainder = rest - restFloor * TWO_31;
  return floorDiv < 0 && remainder !== 0 ? floorDiv + 1 : floorDiv; // C++ division truncates toward zero
}

/** x / 2^exponent, rounded to nearest with ties away from zero (gemmlowp's RoundingDivideByPOT). */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 31 && (x | 0) === x) {
    // int32 x: the bit operations of the definition
    const mask = (1 << exponent) - 1;
    const remainder = x & mask;
    const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
  }
  const pow = 2 ** exponent;
  const floor = Math.floor(x / pow); // x >> exponent (arithmetic)
  const remainder = x - floor * pow; // x & mask
  const threshold = Math.floor((pow - 1) / 2) + (x < 0 ? 1 : 0);
  return floor + (remainder > threshold ? 1 : 0);
}

/** x * M for an int32 accumulator x and M = multiplier * 2^(shift - 31) (TFLite's MultiplyByQuantizedMultiplier). */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const shifted = x * 2 ** left;
  if (shifted > INT32_MAX || shifted < INT32_MIN)
    throw new RangeError(`multiplyByQuantizedMultiplier: ${x} << ${left} overflows int32`);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), shift > 0 ? 0 : -shift);
}
