// GELU on f32x4 in place, as gemm.ts's fused GELU defines it: gelu(x) = 0.5 x erfc(-x / sqrt 2), with
//   erfc(z) = exp(-z^2) * t * P(t),  t = 2 / (2 + |z|),  for z >= 0;   erfc(z) = 2 - erfc(-z) for z < 0
// P of degree 12 is gemm.ts's fastErfc polynomial (relative error of erfc < 1.3e-9 in float64); here in
// float32 with softmax_kernel.ts's exp, so within ~1e-6 relative of the JS value.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { expOf } from "./softmax_kernel.ts";

const get = (i: number): Instruction => ["local.get", i];
const set = (i: number): Instruction => ["local.set", i];
const splat = (v: number): Instruction[] => [["f32.const", v], ["f32x4.splat"]];

// fastErfc's P(t), coefficients of t^12 down to t^0 (Horner order)
const P = [
  -0.03785927553531969, 0.22415205573331948, -0.5365976605855719, 0.6253506068258105, -0.3138420493470335,
  0.044669069313631335, -0.07348633697198469, -0.0036662466714061925, 0.0839900992469486, 0.17626439020622395,
  0.24683582904013482, 0.282094725420902, 0.28209479208809074,
];

/** gelu_inplace(ptr, vectors): x <- gelu(x) for `vectors` f32x4 from byte address ptr. */
export function geluInPlace(): FunctionSource {
  return {
    name: "gelu_inplace",
    params: { ptr: "i32", vectors: "i32" },
    results: [],
    locals: { x: "v128", z: "v128", t: "v128", y: "v128", u: "v128", n: "v128", e: "v128", end: "i32" },
    body: (l) => [
      get(l.vectors),
      ["i32.eqz"],
      ["if"],
      ["return"],
      ["end"],
      get(l.ptr),
      get(l.vectors),
      ["i32.const", 4],
      ["i32.shl"],
      ["i32.add"],
      set(l.end),
      ["loop"],
      get(l.ptr),
      ["v128.load", 0, 0],
      set(l.x),
      // z = -x / sqrt 2; t = 2 / (2 + |z|)
      get(l.x),
      ...splat(-Math.SQRT1_2),
      ["f32x4.mul"],
      set(l.z),
      ...splat(2),
      ...splat(2),
      get(l.z),
      ["f32x4.abs"],
      ["f32x4.add"],
      ["f32x4.div"],
      set(l.t),
      // y = -z^2; e = exp(y) * t * P(t)
      get(l.z),
      get(l.z),
      ["f32x4.mul"],
      ...splat(-1),
      ["f32x4.mul"],
      set(l.y),
      ...expOf(l.y, l.u, l.n),
      get(l.t),
      ["f32x4.mul"],
      ...splat(P[0]),
      ...P.slice(1).flatMap((c): Instruction[] => [get(l.t), ["f32x4.mul"], ...splat(c), ["f32x4.add"]]),
      ["f32x4.mul"],
      set(l.e),
      // erfc(z) = z >= 0 ? e : 2 - e;  x <- 0.5 * x * erfc(z)
      get(l.ptr),
      get(l.x),
      ...splat(0.5),
      ["f32x4.mul"],
      get(l.e),
      ...splat(2),
      get(l.e),
      ["f32x4.sub"],
      get(l.z),
      ...splat(0),
      ["f32x4.ge"],
      ["v128.bitselect"],
      ["f32x4.mul"],
      ["v128.store", 0, 0],
      get(l.ptr),
      ["i32.const", 16],
      ["i32.add"],
      ["local.tee", l.ptr],
      get(l.end),
      ["i32.lt_u"],
      ["br_if", 0],
      ["end"],
    ],
  };
}
