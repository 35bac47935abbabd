// Squeeze-excitation (se.ts's squeezeExcite with a ReLU inside and a hard-sigmoid gate, MobileNetV3's)
// as one instruction list, float32 sums:
//
//   s[c] = mean_i x[c, i]                                      global average pool     [C]
//   h[r] = relu(rb[r] + sum_c rw[r, c] s[c])                   reduce (1x1 conv)       [Cr]
//   g[c] = hardsigmoid(eb[c] + sum_r ew[c, r] h[r])            expand + gate           [C]
//   out[c, i] = x[c, i] * g[c]
//
// Every sum runs four terms per f32x4 and the remainder one at a time. Global average pooling alone
// (global_avg_pool) is the first step.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { f32, forRange, forStep, get, horizontalSum, i32, set, splat } from "./instructions.ts";

/** Locals every sum needs: j (index), n4 (count rounded down to 4), acc / t (vectors), sum. */
const SUM_LOCALS = { j: "i32", n4: "i32", acc: "v128", t: "v128", sum: "f32" } as const;
type SumLocals = Record<keyof typeof SUM_LOCALS, number>;

/** sum_{j < n} a[j] (* b[j] when b is given): a, b byte addresses in locals; n a local. Leaves an f32. */
function sumOf(l: SumLocals, a: number, n: number, b?: number): Instruction[] {
  const at = (base: number): Instruction[] => [get(base), get(l.j), i32(2), ["i32.shl"], ["i32.add"]];
  const vectorTerm: Instruction[] =
    b === undefined
      ? [...at(a), ["v128.load", 0, 0]]
      : [...at(a), ["v128.load", 0, 0], ...at(b), ["v128.load", 0, 0], ["f32x4.mul"]];
  const scalarTerm: Instruction[] =
    b === undefined
      ? [...at(a), ["f32.load", 0, 0]]
      : [...at(a), ["f32.load", 0, 0], ...at(b), ["f32.load", 0, 0], ["f32.mul"]];
  return [
    get(n),
    i32(-4),
    ["i32.and"],
    set(l.n4),
    ...splat(0),
    set(l.acc),
    ...forStep(l.j, [i32(0)], l.n4, 4, [get(l.acc), ...vectorTerm, ["f32x4.add"], set(l.acc)]),
    get(l.acc),
    ...horizontalSum(l.t),
    set(l.sum),
    ...forStep(l.j, [get(l.n4)], n, 1, [get(l.sum), ...scalarTerm, ["f32.add"], set(l.sum)]),
    get(l.sum),
  ];
}

type PoolLocals = SumLocals & { c: number; plane: number };

/** pooled[c] = mean of x's plane c (C planes of `area` floats from byte address x). */
function poolPlanes(l: PoolLocals, x: number, C: number, area: number, pooled: number) {
  return forRange(l.c, 0, C, [
    get(x),
    get(l.c),
    get(area),
    ["i32.mul"],
    i32(2),
    ["i32.shl"],
    ["i32.add"],
    set(l.plane),
    get(pooled),
    get(l.c),
    i32(2),
    ["i32.shl"],
    ["i32.add"],
    ...sumOf(l, l.plane, area),
    get(area),
    ["f32.convert_i32_s"],
    ["f32.div"],
    ["f32.store", 0, 0],
  ] as Instruction[]);
}

/** global_avg_pool(x, C, area, pooled): pooled[c] = mean of plane c. */
export function globalAvgPoolKernel(): FunctionSource {
  return {
    name: "global_avg_pool",
    params: { x: "i32", C: "i32", area: "i32", pooled: "i32" },
    results: [],
    locals: { ...SUM_LOCALS, c: "i32", plane: "i32" },
    body: (l) => poolPlanes(l as PoolLocals, l.x, l.C, l.area, l.pooled),
  };
}

/** squeeze_excite(x, out, C, area, rw, rb, Cr, ew, eb, scratch): scratch holds C + Cr floats; out may equal x. */
export function squeezeExciteKernel(): FunctionSource {
  return {
    name: "squeeze_excite",
    params: {
      x: "i32",
      out: "i32",
      C: "i32",
      area: "i32",
      rw: "i32",
      rb: "i32",
      Cr: "i32",
      ew: "i32",
      eb: "i32",
      scratch: "i32",
    },
    results: [],
    locals: { ...SUM_LOCALS, c: "i32", r: "i32", plane: "i32", row: "i32", hidden: "i32", i: "i32", gate: "v128" },
    body: (locals) => {
      const l = locals as PoolLocals & Record<string, number>;
      const rowOf = (matrix: number, index: number, width: number): Instruction[] => [
        get(matrix),
        get(index),
        get(width),
        ["i32.mul"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.row),
      ];
      const element = (base: number, index: number): Instruction[] => [
        get(base),
        get(index),
        i32(2),
        ["i32.shl"],
        ["i32.add"],
      ];
      return [
        // s = pooled into scratch[0 .. C)
        ...poolPlanes(l, l.x, l.C, l.area, l.scratch),
        get(l.scratch),
        get(l.C),
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.hidden),
        // h[r] = relu(rb[r] + rw[r, :] . s)
        ...forRange(l.r, 0, l.Cr, [
          ...rowOf(l.rw, l.r, l.C),
          ...element(l.hidden, l.r),
          ...element(l.rb, l.r),
          ["f32.load", 0, 0],
          ...sumOf(l, l.row, l.C, l.scratch),
          ["f32.add"],
          f32(0),
          ["f32.max"],
          ["f32.store", 0, 0],
        ]),
        // per channel: g = hardsigmoid(eb[c] + ew[c, :] . h); out[c, :] = x[c, :] * g
        ...forRange(l.c, 0, l.C, [
          ...rowOf(l.ew, l.c, l.Cr),
          ...element(l.eb, l.c),
          ["f32.load", 0, 0],
          ...sumOf(l, l.row, l.Cr, l.hidden),
          ["f32.add"],
          f32(3),
          ["f32.add"],
          f32(0),
          ["f32.max"],
          f32(6),
          ["f32.min"],
          f32(6),
          ["f32.div"],
          ["f32x4.splat"],
          set(l.gate),
          // plane offset in bytes
          get(l.c),
          get(l.area),
          ["i32.mul"],
          i32(2),
          ["i32.shl"],
          set(l.plane),
          get(l.area),
          i32(-4),
          ["i32.and"],
          set(l.n4),
          ...forStep(l.i, [i32(0)], l.n4, 4, [...scaled(l.out, l.x, l.plane, l.i, l.gate, "v128")]),
          ...forStep(l.i, [get(l.n4)], l.area, 1, [...scaled(l.out, l.x, l.plane, l.i, l.gate, "f32")]),
        ]),
      ];
    },
  };
}

/** out[plane + i] = x[plane + i] * gate (a vector of 4 or lane 0 alone). */
function scaled(out: number, x: number, plane: number, i: number, gate: number, kind: "v128" | "f32"): Instruction[] {
  const at = (base: number): Instruction[] => [
    get(base),
    get(plane),
    ["i32.add"],
    get(i),
    i32(2),
    ["i32.shl"],
    ["i32.add"],
  ];
  return kind === "v128"
    ? [...at(out), ...at(x), ["v128.load", 0, 0], get(gate), ["f32x4.mul"], ["v128.store", 0, 0]]
    : [
        ...at(out),
        ...at(x),
        ["f32.load", 0, 0],
        get(gate),
        ["f32x4.extract_lane", 0],
        ["f32.mul"],
        ["f32.store", 0, 0],
      ];
}
