// Elementwise kernels: add / mul with numpy broadcasting, and the activations.
// Every value is computed in float64 (JS numbers) and stored as float32.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr, sizeOf } from "./tensor.ts";

// ---- broadcasting binary ops ------------------------------------------------

/** a + b with numpy broadcasting (shapes aligned from the right; size-1 axes stretch). */
export function add(a: Tensor, b: Tensor): Tensor {
  return broadcastBinary("add", a, b, (x, y) => x + y);
}

/** a * b with numpy broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return broadcastBinary("mul", a, b, (x, y) => x * y);
}

/** The broadcast shape of a and b, or a ShapeError naming `op`, both shapes and the clashing axis. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const da = a[axis - (rank - a.length)] ?? 1;
    const db = b[axis - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        op,
        `a ${shapeStr(a)} and b ${shapeStr(b)} do not broadcast: sizes ${da} and ${db} at axis ${axis - rank}`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` read as `outShape` (right-aligned; 0 on axes that broadcast). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = i + outShape.length - shape.length;
    strides[axis] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

function broadcastBinary(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  expectTensor(op, "a", a);
  expectTensor(op, "b", b);
  const shape = broadcastShape(op, a.shape, b.shape);
  const out = allocFloat32(sizeOf(shape));
  const A = a.data;
  const B = b.data;
  if (A.length === out.length && B.length === out.length) {
    // same shape
    for (let i = 0; i < out.length; i++) out[i] = f(A[i], B[i]);
    return new Tensor(out, shape);
  }
  if (out.length === 0) return new Tensor(out, shape);
  // Walk the output row by row (last axis innermost); an odometer over the
  // other axes moves the read positions in a and b by their strides.
  const rank = shape.length;
  const strideA = broadcastStrides(a.shape, shape);
  const strideB = broadcastStrides(b.shape, shape);
  const rowLength = shape[rank - 1];
  const stepA = strideA[rank - 1];
  const stepB = strideB[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < out.length; o += rowLength) {
    for (let j = 0; j < rowLength; j++) out[o + j] = f(A[ia + j * stepA], B[ib + j * stepB]);
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      ia += strideA[axis];
      ib += strideB[axis];
      if (index[axis] < shape[axis]) break;
      ia -= strideA[axis] * shape[axis];
      ib -= strideB[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return new Tensor(out, shape);
}

function expectTensor(op: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) expectRank(op, name, t, 0); // throws "... must be a Tensor"
}

// ---- activations -----------------------------------------------------------

/** A new tensor with f applied to every element. */
function map(op: string, x: Tensor, f: (v: number) => number): Tensor {
  expectTensor(op, "x", x);
  const out = allocFloat32(x.size);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]);
  return new Tensor(out, x.shape);
}

/** max(x, 0); NaN stays NaN (as in torch). */
export function relu(x: Tensor): Tensor {
  return map("relu", x, (v) => (v < 0 ? 0 : v));
}

/** min(max(x, 0), 6) */
export function relu6(x: Tensor): Tensor {
  return map("relu6", x, (v) => (v < 0 ? 0 : v > 6 ? 6 : v));
}

/** x for x >= 0, slope * x otherwise (torch's default slope 0.01). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return map("leakyRelu", x, (v) => (v < 0 ? slope * v : v));
}

/** relu6(x + 3) / 6 */
export function hardsigmoid(x: Tensor): Tensor {
  return map("hardsigmoid", x, hardsigmoidValue);
}

/** x * relu6(x + 3) / 6 */
export function hardswish(x: Tensor): Tensor {
  return map("hardswish", x, (v) => v * hardsigmoidValue(v));
}

/** 1 / (1 + e^-x) */
export function sigmoid(x: Tensor): Tensor {
  return map("sigmoid", x, sigmoidValue);
}

/** x * sigmoid(x) (a.k.a. swish) */
export function silu(x: Tensor): Tensor {
  return map("silu", x, (v) => v * sigmoidValue(v));
}

/** Exact GELU: x * Phi(x) = 0.5 x erfc(-x / sqrt 2)  (torch's approximate="none"). */
export function gelu(x: Tensor): Tensor {
  return map("gelu", x, (v) => 0.5 * v * erfc(-v * Math.SQRT1_2));
}

/** Tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (torch's approximate="tanh"). */
export function geluTanh(x: Tensor): Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return map("geluTanh", x, (v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v))));
}

function hardsigmoidValue(v: number): number {
  const t = v + 3;
  return (t < 0 ? 0 : t > 6 ? 6 : t) / 6;
}

function sigmoidValue(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

// ---- the error function, to double precision --------------------------------
//   |x| < 2:  erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))
//             (every term has the sign of x: no cancellation)
//   x >= 2:   erfc(x) = e^(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
//             (continued fraction, 40 levels: relative error < 1e-13 at x = 2, less beyond)
// Checked against Python's math.erf / math.erfc to ~1e-15 relative (test/tensor/elementwise.test.ts).

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SERIES_LIMIT = 2;
const FRACTION_LEVELS = 40;

function erfSeries(x: number): number {
  const twoX2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= twoX2 / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** erfc(x) for x >= SERIES_LIMIT */
function erfcFraction(x: number): number {
  let f = x;
  for (let n = FRACTION_LEVELS; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** The error function erf(x), accurate to ~1e-15 relative. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < SERIES_LIMIT) return erfSeries(x);
  return x > 0 ? 1 - erfcFraction(x) : erfcFraction(-x) - 1;
}

/** The complementary error function 1 - erf(x), without cancellation for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= SERIES_LIMIT) return erfcFraction(x);
  if (x > -SERIES_LIMIT) return 1 - erfSeries(x);
  return 2 - erfcFraction(-x);
}
