// Copies that lay activations out for the other kernels, inside wasm memory (the runners copy an input
// in with one TypedArray.set and let these do the strided work):
//   pad_rows_s1   planes of H x W into zero-padded rows of `ld` floats (depthwise, stride 1)
//   pad_rows_s2   the same, each padded row split into its even columns then its odd ones (stride 2)
//   im2col        cols[(c, ky, kx), p] for a dense convolution, rows of `ld` floats (dilation 1)
// The destinations are zeroed by the caller first (zero_bytes, op_kernels.ts), so only the inside is written.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { forRange, forRangeOf, forStep, get, i32, set } from "./instructions.ts";

const i32Params = <P extends string>(names: readonly P[]) =>
  Object.fromEntries(names.map((n) => [n, "i32"])) as Record<P, "i32">;

/** n floats from byte address `from` to `to` (locals), 4 at a time then one at a time; j, n4 scratch. */
function copyFloats(from: number, to: number, n: number, j: number, n4: number): Instruction[] {
  const at = (base: number): Instruction[] => [get(base), get(j), i32(2), ["i32.shl"], ["i32.add"]];
  return [
    get(n),
    i32(-4),
    ["i32.and"],
    set(n4),
    ...forStep(j, [i32(0)], n4, 4, [...at(to), ...at(from), ["v128.load", 0, 0], ["v128.store", 0, 0]]),
    ...forStep(j, [get(n4)], n, 1, [...at(to), ...at(from), ["f32.load", 0, 0], ["f32.store", 0, 0]]),
  ];
}

/** Address of row r of plane p of a [planes, rows, ld] float array at base: base + ((p*rows + r)*ld)*4. */
const rowAddress = (base: number, p: number, rows: number, r: number, ld: number): Instruction[] => [
  get(base),
  get(p),
  get(rows),
  ["i32.mul"],
  get(r),
  ["i32.add"],
  get(ld),
  ["i32.mul"],
  i32(2),
  ["i32.shl"],
  ["i32.add"],
];

/**
 * For every plane p and input row iy whose padded row r = iy + top is inside `rows`: from = the input row's
 * address, then `body`, which starts with the padded row's address on the stack.
 */
function eachPaddedRow(l: Record<string, number>, body: Instruction[]): Instruction[] {
  // locals used: src, planes, H, W, dst, rows, ld, top (parameters); p, iy, r, from (scratch)
  return forRange(l.p, 0, l.planes, [
    ...forRange(l.iy, 0, l.H, [
      get(l.iy),
      get(l.top),
      ["i32.add"],
      set(l.r),
      get(l.r),
      get(l.rows),
      ["i32.lt_s"],
      ["if"],
      ...rowAddress(l.src, l.p, l.H, l.iy, l.W),
      set(l.from),
      ...rowAddress(l.dst, l.p, l.rows, l.r, l.ld),
      ...body,
      ["end"],
    ]),
  ]);
}

const PAD_PARAMS = ["src", "planes", "H", "W", "dst", "rows", "ld", "top", "left", "count"] as const;

/** pad_rows_s1(src, planes, H, W, dst, rows, ld, top, left, count): row iy -> padded row iy + top, columns from `left`, `count` floats. */
export function padRowsStride1(): FunctionSource {
  return {
    name: "pad_rows_s1",
    params: i32Params(PAD_PARAMS),
    results: [],
    locals: { p: "i32", iy: "i32", r: "i32", from: "i32", to: "i32", j: "i32", n4: "i32" },
    body: (l) =>
      eachPaddedRow(l, [
        get(l.left),
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.to),
        ...copyFloats(l.from, l.to, l.count, l.j, l.n4),
      ]),
  };
}

/** The even (which 0) or odd (which 1) floats of the 8 in two vectors: byte indices for i8x16.shuffle. */
const deinterleave = (which: 0 | 1): Instruction => [
  "i8x16.shuffle",
  ...[0, 1, 2, 3].flatMap((j) => [0, 1, 2, 3].map((b) => (2 * j + which) * 4 + b)),
];

/**
 * pad_rows_s2(src, planes, H, W, dst, rows, ld, top, left, half): padded column q = ix + left goes to q/2
 * (even q) or half + q/2 (odd q), for q/2 < half. Eight input columns at a time (two loads, two shuffles,
 * two stores: 4 even and 4 odd padded columns) from the first ix with an even q; single floats for the
 * column before it (odd left) and after the last whole eight.
 */
export function padRowsStride2(): FunctionSource {
  return {
    name: "pad_rows_s2",
    params: i32Params(["src", "planes", "H", "W", "dst", "rows", "ld", "top", "left", "half"] as const),
    results: [],
    locals: { p: "i32", iy: "i32", r: "i32", from: "i32", to: "i32", ix: "i32", q: "i32", first: "i32", e: "i32" },
    body: (l) => {
      // one input column ix to its place in the padded row
      const single: Instruction[] = [
        get(l.ix),
        get(l.left),
        ["i32.add"],
        set(l.q),
        get(l.q),
        i32(1),
        ["i32.shr_u"],
        get(l.half),
        ["i32.lt_s"],
        ["if"],
        // to + ((q odd ? half : 0) + q/2) * 4
        get(l.to),
        get(l.q),
        i32(1),
        ["i32.shr_u"],
        get(l.half),
        i32(0),
        get(l.q),
        i32(1),
        ["i32.and"],
        ["select"],
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        get(l.from),
        get(l.ix),
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        ["f32.load", 0, 0],
        ["f32.store", 0, 0],
        ["end"],
      ];
      const inputAt: Instruction[] = [get(l.from), get(l.ix), i32(2), ["i32.shl"], ["i32.add"]];
      // the even (which 0) or odd (1) floats of input columns ix .. ix+7 to padded float `offset` + e
      const storeHalf = (which: 0 | 1, offset: Instruction[]): Instruction[] => [
        get(l.to),
        ...offset,
        get(l.e),
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        ...inputAt,
        ["v128.load", 0, 0],
        ...inputAt,
        ["v128.load", 16, 0],
        deinterleave(which),
        ["v128.store", 0, 0],
      ];
      // columns ix .. ix+7 (q = ix + left even): evens to q/2 .. q/2+3, odds to half + q/2 .. half + q/2+3
      const eight: Instruction[] = [...storeHalf(0, [i32(0)]), ...storeHalf(1, [get(l.half)])];
      return eachPaddedRow(l, [
        set(l.to),
        // the first column whose q is even: 0 for an even left, 1 for an odd one
        get(l.left),
        i32(1),
        ["i32.and"],
        set(l.first),
        ...forRange(l.ix, 0, l.first, single),
        get(l.first),
        set(l.ix),
        ["block"],
        ["loop"],
        // stop when fewer than 8 columns are left or the 4th even column would pass half
        get(l.ix),
        i32(8),
        ["i32.add"],
        get(l.W),
        ["i32.gt_s"],
        ["br_if", 1],
        get(l.ix),
        get(l.left),
        ["i32.add"],
        i32(1),
        ["i32.shr_u"],
        ["local.tee", l.e],
        i32(4),
        ["i32.add"],
        get(l.half),
        ["i32.gt_s"],
        ["br_if", 1],
        ...eight,
        get(l.ix),
        i32(8),
        ["i32.add"],
        set(l.ix),
        ["br", 0],
        ["end"],
        ["end"],
        ...forRangeOf(l.ix, [get(l.ix)], l.W, single),
      ]);
    },
  };
}

const IM2COL_PARAMS = [
  "src",
  "C",
  "H",
  "W",
  "dst",
  "ld",
  "kh",
  "kw",
  "sh",
  "sw",
  "top",
  "left",
  "outH",
  "outW",
] as const;

/**
 * im2col(src, C, H, W, dst, ld, kh, kw, sh, sw, top, left, outH, outW):
 * dst[t*ld + oy*outW + ox] = src[c, oy*sh - top + ky, ox*sw - left + kx], t = (c*kh + ky)*kw + kx, where inside.
 */
export function im2colKernel(): FunctionSource {
  return {
    name: "im2col",
    params: i32Params(IM2COL_PARAMS),
    results: [],
    locals: {
      c: "i32",
      ky: "i32",
      kx: "i32",
      oy: "i32",
      t: "i32",
      iy: "i32",
      lo: "i32", // first output column whose tap is inside
      hi: "i32", // one past the last
      n: "i32",
      from: "i32",
      to: "i32",
      j: "i32",
      n4: "i32",
      num: "i32",
    },
    body: (l) => {
      // lo = max(0, ceil((left - kx) / sw)); hi = min(outW, floor((W - 1 + left - kx) / sw) + 1), 0 when negative
      const bounds: Instruction[] = [
        get(l.left),
        get(l.kx),
        ["i32.sub"],
        set(l.num),
        i32(0),
        get(l.num),
        get(l.sw),
        ["i32.add"],
        i32(1),
        ["i32.sub"],
        get(l.sw),
        ["i32.div_s"],
        get(l.num),
        i32(0),
        ["i32.le_s"],
        ["select"], // num <= 0 ? 0 : ceil(num / sw)
        set(l.lo),
        get(l.W),
        i32(1),
        ["i32.sub"],
        get(l.left),
        ["i32.add"],
        get(l.kx),
        ["i32.sub"],
        set(l.num),
        get(l.num),
        get(l.sw),
        ["i32.div_s"],
        i32(1),
        ["i32.add"],
        i32(0),
        get(l.num),
        i32(0),
        ["i32.ge_s"],
        ["select"],
        set(l.hi),
        get(l.hi),
        get(l.outW),
        get(l.hi),
        get(l.outW),
        ["i32.lt_s"],
        ["select"],
        set(l.hi),
      ];
      // one output row oy of tap t: from = src + ((c*H + iy)*W + lo*sw - left + kx)*4, to = dst + (t*ld + oy*outW + lo)*4
      const row: Instruction[] = [
        get(l.oy),
        get(l.sh),
        ["i32.mul"],
        get(l.top),
        ["i32.sub"],
        get(l.ky),
        ["i32.add"],
        set(l.iy),
        get(l.iy),
        i32(0),
        ["i32.ge_s"],
        get(l.iy),
        get(l.H),
        ["i32.lt_s"],
        ["i32.and"],
        ["if"],
        get(l.src),
        get(l.c),
        get(l.H),
        ["i32.mul"],
        get(l.iy),
        ["i32.add"],
        get(l.W),
        ["i32.mul"],
        get(l.lo),
        get(l.sw),
        ["i32.mul"],
        ["i32.add"],
        get(l.left),
        ["i32.sub"],
        get(l.kx),
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.from),
        get(l.dst),
        get(l.t),
        get(l.ld),
        ["i32.mul"],
        get(l.oy),
        get(l.outW),
        ["i32.mul"],
        ["i32.add"],
        get(l.lo),
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        set(l.to),
        get(l.hi),
        get(l.lo),
        ["i32.sub"],
        set(l.n),
        get(l.sw),
        i32(1),
        ["i32.eq"],
        ["if"],
        ...copyFloats(l.from, l.to, l.n, l.j, l.n4),
        ["else"],
        ...forRange(l.j, 0, l.n, [
          get(l.to),
          get(l.j),
          i32(2),
          ["i32.shl"],
          ["i32.add"],
          get(l.from),
          get(l.j),
          get(l.sw),
          ["i32.mul"],
          i32(2),
          ["i32.shl"],
          ["i32.add"],
          ["f32.load", 0, 0],
          ["f32.store", 0, 0],
        ]),
        ["end"],
        ["end"],
      ];
      return [
        i32(0),
        set(l.t),
        ...forRange(l.c, 0, l.C, [
          ...forRange(l.ky, 0, l.kh, [
            ...forRange(l.kx, 0, l.kw, [
              ...bounds,
              get(l.lo),
              get(l.hi),
              ["i32.lt_s"],
              ["if"],
              ...forRange(l.oy, 0, l.outH, row),
              ["end"],
              get(l.t),
              i32(1),
              ["i32.add"],
              set(l.t),
            ]),
          ]),
        ]),
      ];
    },
  };
}
