// The requantizations of the quantized MobileNetV3 (docs/quantization.md §10), each in two forms that
// give the same integers: `int*` on integers (shifts, and one fixed-point multiply for the constant 1/6),
// `sim*` on the float values the simulated path holds (grid points; every step exact in float64).
//
// A conv's sum t (an integer; its value is t * 2^a, a = e_w[o] + e_x) becomes the output integer on
// the grid 2^e_y:
//   none / relu   q = clamp(shiftRound(t, e_y - a))                           (relu: the range starts at 0)
//   hard-sigmoid  q = clamp(shiftRound(r * M6, 17 - F - a)),  r = clamp(t + 3 * 2^-a, 0, 6 * 2^-a)
//                 the gate on the grid 2^-F (F fraction bits), relu6(v + 3) / 6 with 1/6 ~ M6 / 2^17
//   hardswish     g = the hard-sigmoid gate with F = 15;  q = clamp(shiftRound(t * g, e_y + 15 - a))
// where shiftRound(x, n) = floor(x / 2^n + 1/2) (an arithmetic right shift with a half-step offset;
// n <= 0: a left shift). For a > 0 the sum is first scaled to t * 2^a (a = 0). M6 = 21846 = ceil(2^17 / 6),
// so relu6(v + 3) = 6 gives a gate of exactly 1 after the clamp. Intermediate products stay below 2^53
// (|t| < 2^24, a >= -32: checked when the net is built): exact in float64, int64 in a C port.
import type { IntRange } from "./quantizer.ts";
import type { V3Activation } from "./v3_graph.ts";

export const M6 = 21846; // ceil(2^17 / 6)
export const M6_SHIFT = 17;
export const HARDSWISH_GATE_BITS = 15;
/** Smallest sum exponent a hard-sigmoid / hardswish conv may have (products stay below 2^53). */
export const MIN_GATE_SUM_EXPONENT = -32;

/** floor(x / 2^n + 1/2) for an integer |x| < 2^53 (n <= 0: x * 2^-n). */
export function shiftRound(x: number, n: number): number {
  return n > 0 ? Math.floor(x / 2 ** n + 0.5) : x * 2 ** -n;
}

const clamp = (q: number, r: IntRange) => (q < r.lo ? r.lo : q > r.hi ? r.hi : q);

/** The hard-sigmoid gate of the sum t (value t * 2^a, a <= 0) on the grid 2^-fractionBits. */
export function intGate(t: number, a: number, fractionBits: number): number {
  const three = 3 * 2 ** -a;
  const r = t + three < 0 ? 0 : t + three > 2 * three ? 2 * three : t + three;
  return Math.min(2 ** fractionBits, shiftRound(r * M6, M6_SHIFT - fractionBits - a));
}

/**
 * A conv's integer sum t on the grid 2^a -> its output integer on the grid 2^e (range `range`),
 * through the activation. For "hardsigmoid" the output grid is 2^-F: e = -F.
 */
export function intActivation(t: number, a: number, e: number, act: V3Activation, range: IntRange): number {
  if (a > 0) {
    t *= 2 ** a;
    a = 0;
  }
  switch (act) {
    case "none":
    case "relu":
      return clamp(shiftRound(t, e - a), range);
    case "hardsigmoid":
      return clamp(intGate(t, a, -e), range);
    case "hardswish":
      return clamp(shiftRound(t * intGate(t, a, HARDSWISH_GATE_BITS), e + HARDSWISH_GATE_BITS - a), range);
  }
}

/** floor(v / s + 1/2) clamped: the grid integer of a float value. */
const gridInt = (v: number, scale: number, range: IntRange) => clamp(Math.floor(v / scale + 0.5), range);

const GATE_FACTOR = M6 / 2 ** M6_SHIFT; // the fixed-point 1/6 as a value; r * GATE_FACTOR is exact
const HARDSWISH_STEP = 2 ** -HARDSWISH_GATE_BITS;

/** The hard-sigmoid gate of v on the grid `step` = 2^-F, as a value. */
function simGate(v: number, step: number): number {
  const r = v + 3 < 0 ? 0 : v + 3 > 6 ? 6 : v + 3;
  return Math.min(1, Math.floor((r * GATE_FACTOR) / step + 0.5) * step);
}

/** The simulated form of intActivation: the float sum v -> the output's grid point (scale s). */
export function simActivation(v: number, scale: number, act: V3Activation, range: IntRange): number {
  switch (act) {
    case "none":
    case "relu":
      return gridInt(v, scale, range) * scale;
    case "hardsigmoid":
      return gridInt(simGate(v, scale), scale, range) * scale;
    case "hardswish":
      return gridInt(v * simGate(v, HARDSWISH_STEP), scale, range) * scale;
  }
}

/** The integer range of a tensor after `act` with `bits` (the gate: [0, 2^bits] on the grid 2^-bits). */
export function activationRange(act: V3Activation | "add", bits: number): IntRange {
  if (act === "relu") return { lo: 0, hi: 2 ** bits - 1 };
  if (act === "hardsigmoid") return { lo: 0, hi: 2 ** bits };
  return { lo: -(2 ** (bits - 1)), hi: 2 ** (bits - 1) - 1 };
}
