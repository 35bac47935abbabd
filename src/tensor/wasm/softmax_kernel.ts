// exp on f32x4 and the attention softmax as instruction lists.
//
// exp(y), y clamped to [-87.3, 88.7] (float32's normal range):
//   n = round(y / ln 2)               adding 1.5 * 2^23 rounds to an integer, which then sits in the low
//                                     mantissa bits: bits(y*log2e + 1.5*2^23) = 0x4B400000 + n
//   r = y - n*ln2_hi - n*ln2_lo       |r| <= ln2 / 2 (Cody-Waite: ln2_hi has few bits, so n*ln2_hi is exact)
//   exp(r) = 1 + r + r^2/2 + ... + r^6/720   (Taylor; the r^7 term is < 1.2e-7 relative)
//   2^n = the float with exponent bits n + 127: (bits(t) - 0x4B400000 + 127) << 23
// Relative error ~2e-7 (float32 rounding of 8 operations), against the float64 Math.exp of the JS path.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { MR } from "./gemm_kernel.ts";

const get = (i: number): Instruction => ["local.get", i];
const set = (i: number): Instruction => ["local.set", i];
const i32 = (v: number): Instruction => ["i32.const", v];
/** The tail of a counted loop: i += 1, and back to the loop's start while i < limit. */
const loopWhileBelow = (i: number, limit: number): Instruction[] => [
  get(i),
  i32(1),
  ["i32.add"],
  ["local.tee", i],
  get(limit),
  ["i32.lt_s"],
  ["br_if", 0],
  ["end"],
];
const splat = (v: number): Instruction[] => [["f32.const", v], ["f32x4.splat"]];

const MAGIC = 12582912; // 1.5 * 2^23
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;

/** exp of the v128 in local y, left on the stack; t and n are scratch v128 locals (y is overwritten). */
export function expOf(y: number, t: number, n: number): Instruction[] {
  const horner = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1];
  return [
    get(y),
    ...splat(-87.33),
    ["f32x4.max"],
    ...splat(88.72),
    ["f32x4.min"],
    set(y),
    // t = y*log2e + MAGIC; n = t - MAGIC
    get(y),
    ...splat(Math.LOG2E),
    ["f32x4.mul"],
    ...splat(MAGIC),
    ["f32x4.add"],
    set(t),
    get(t),
    ...splat(MAGIC),
    ["f32x4.sub"],
    set(n),
    // y = r = y - n*ln2_hi - n*ln2_lo
    get(y),
    get(n),
    ...splat(LN2_HI),
    ["f32x4.mul"],
    ["f32x4.sub"],
    get(n),
    ...splat(LN2_LO),
    ["f32x4.mul"],
    ["f32x4.sub"],
    set(y),
    // n = p(r) by Horner, from r^6/720 down to 1
    ...splat(horner[0]),
    ...horner.slice(1).flatMap((c): Instruction[] => [get(y), ["f32x4.mul"], ...splat(c), ["f32x4.add"]]),
    // * 2^n, built in the exponent bits
    get(t),
    ...[["i32.const", 127 - 0x4b400000] as Instruction, ["i32x4.splat"] as Instruction],
    ["i32x4.add"],
    i32(23),
    ["i32x4.shl"],
    ["f32x4.mul"],
  ];
}

type Params = "src" | "ld" | "N" | "rows" | "scale" | "dst";

/**
 * softmax_panels(src, ld, N, rows, scale, dst): for each row i < rows of src (row stride ld bytes),
 * P[i, j] = exp(src[i, j]*scale - max_j) / sum_j, j < N, stored in MR-row panels, k = j:
 * dst + ((i - i % MR)*N + j*MR + i % MR) * 4 (the A operand of gemm_tiles).
 * Per row: a scalar max, then four exps per step (the tail one at a time through the same vector
 * code), their sum in a vector, and a second pass scaling the stored values by 1 / sum.
 */
export function softmaxPanels(): FunctionSource {
  const params: Record<Params, "i32" | "f32"> = {
    src: "i32",
    ld: "i32",
    N: "i32",
    rows: "i32",
    scale: "f32",
    dst: "i32",
  };
  const locals = {
    i: "i32",
    j: "i32",
    row: "i32", // src row address
    p: "i32", // dst address of column j
    max: "f32",
    total: "f32",
    y: "v128",
    t: "v128",
    n: "v128",
    sum: "v128",
    e: "v128",
  } as const;
  return {
    name: "softmax_panels",
    params,
    results: [],
    locals,
    body: (l) => {
      const step = MR * 4; // bytes from P[i, j] to P[i, j + 1]
      // y = splat(x)*scale - max; e = exp(y)
      const expOfScaled = (load: Instruction[]): Instruction[] => [
        ...load,
        get(l.scale),
        ["f32x4.splat"],
        ["f32x4.mul"],
        get(l.max),
        ["f32x4.splat"],
        ["f32x4.sub"],
        set(l.y),
        ...expOf(l.y, l.t, l.n),
        set(l.e),
      ];
      const rowMax: Instruction[] = [
        ["f32.const", -Infinity],
        set(l.max),
        i32(0),
        set(l.j),
        ["loop"],
        get(l.max),
        get(l.row),
        get(l.j),
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        ["f32.load", 0],
        ["f32.max"],
        set(l.max),
        ...loopWhileBelow(l.j, l.N),
        get(l.max),
        get(l.scale),
        ["f32.mul"],
        set(l.max),
      ];
      const fourAtOnce: Instruction[] = [
        // while j + 4 <= N: four columns
        ["block"],
        ["loop"],
        get(l.j),
        i32(4),
        ["i32.add"],
        get(l.N),
        ["i32.gt_s"],
        ["br_if", 1],
        ...expOfScaled([get(l.row), get(l.j), i32(2), ["i32.shl"], ["i32.add"], ["v128.load", 0, 0]]),
        get(l.sum),
        get(l.e),
        ["f32x4.add"],
        set(l.sum),
        ...[0, 1, 2, 3].flatMap((lane): Instruction[] => [
          get(l.p),
          get(l.e),
          ["f32x4.extract_lane", lane],
          ["f32.store", lane * step],
        ]),
        get(l.p),
        i32(4 * step),
        ["i32.add"],
        set(l.p),
        get(l.j),
        i32(4),
        ["i32.add"],
        set(l.j),
        ["br", 0],
        ["end"],
        ["end"],
      ];
      const oneAtATime: Instruction[] = [
        ["block"],
        ["loop"],
        get(l.j),
        get(l.N),
        ["i32.ge_s"],
        ["br_if", 1],
        ...expOfScaled([get(l.row), get(l.j), i32(2), ["i32.shl"], ["i32.add"], ["v128.load32_splat", 0]]),
        get(l.total),
        get(l.e),
        ["f32x4.extract_lane", 0],
        ["f32.add"],
        set(l.total),
        get(l.p),
        get(l.e),
        ["f32x4.extract_lane", 0],
        ["f32.store", 0],
        get(l.p),
        i32(step),
        ["i32.add"],
        set(l.p),
        get(l.j),
        i32(1),
        ["i32.add"],
        set(l.j),
        ["br", 0],
        ["end"],
        ["end"],
      ];
      const rowBase: Instruction[] = [
        // p = dst + ((i - i % MR)*N + i % MR) * 4
        get(l.dst),
        get(l.i),
        i32(-MR),
        ["i32.and"],
        get(l.N),
        ["i32.mul"],
        get(l.i),
        i32(MR - 1),
        ["i32.and"],
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.p),
      ];
      const normalise: Instruction[] = [
        // total += the four lanes of sum; then P[i, j] *= 1 / total
        ...[0, 1, 2, 3].flatMap((lane): Instruction[] => [
          get(l.total),
          get(l.sum),
          ["f32x4.extract_lane", lane],
          ["f32.add"],
          set(l.total),
        ]),
        ["f32.const", 1],
        get(l.total),
        ["f32.div"],
        set(l.total),
        ...rowBase,
        i32(0),
        set(l.j),
        ["loop"],
        get(l.p),
        get(l.p),
        ["f32.load", 0],
        get(l.total),
        ["f32.mul"],
        ["f32.store", 0],
        get(l.p),
        i32(step),
        ["i32.add"],
        set(l.p),
        ...loopWhileBelow(l.j, l.N),
      ];
      return [
        i32(0),
        set(l.i),
        ["loop"], // rows
        get(l.src),
        get(l.i),
        get(l.ld),
        ["i32.mul"],
        ["i32.add"],
        set(l.row),
        ...rowMax,
        ...splat(0),
        set(l.sum),
        ["f32.const", 0],
        set(l.total),
        ...rowBase,
        i32(0),
        set(l.j),
        ...fourAtOnce,
        ...oneAtATime,
        ...normalise,
        ...loopWhileBelow(l.i, l.rows),
      ];
    },
  };
}
