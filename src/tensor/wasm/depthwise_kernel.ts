// Depthwise convolution (one input channel per output channel), k x k with k = 3 or 5, stride 1 or 2,
// as an instruction list: four output columns per f32x4, every tap unrolled.
//
//   out[c, oy, ox] = act( bias[c] + sum_{ky, kx} w[c, ky, kx] * in[c, oy*s + ky, ox*s + kx] )
//
// The input is already zero-padded by the caller (depthwise_wasm.ts), so there is no border test:
//   stride 1: row r of channel c at in + c*inPlane + r*ldIn, column x at + 4x;
//   stride 2: each row holds the even columns, then the odd ones `oddOff` bytes later, so that tap kx
//             of outputs ox..ox+3 is one contiguous load: (kx even ? even : odd) column ox + (kx >> 1).
// Register layout per output vector: one accumulator (starts at the bias), per tap one unaligned
// v128.load of the input and one v128.load32_splat of the weight; row pointers (k of them, twice for
// stride 2) advance by 16 bytes per output vector. Sums are float32.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { activationOf } from "./gemm_kernel.ts";

const get = (i: number): Instruction => ["local.get", i];
const set = (i: number): Instruction => ["local.set", i];
const i32 = (v: number): Instruction => ["i32.const", v];

type Params =
  | "inp"
  | "inPlane"
  | "ldIn"
  | "oddOff"
  | "outp"
  | "outPlane"
  | "ldOut"
  | "vectors"
  | "outH"
  | "channels"
  | "w"
  | "bias"
  | "act";

/** depthwise_k{k}_s{s}(inp, inPlane, ldIn, oddOff, outp, outPlane, ldOut, vectors, outH, channels, w, bias, act) */
export function depthwiseKernel(k: 3 | 5, stride: 1 | 2, relaxed: boolean): FunctionSource {
  const params = Object.fromEntries(
    [
      "inp",
      "inPlane",
      "ldIn",
      "oddOff",
      "outp",
      "outPlane",
      "ldOut",
      "vectors",
      "outH",
      "channels",
      "w",
      "bias",
      "act",
    ].map((n) => [n, "i32"]),
  ) as Record<Params, "i32">;
  const taps = Array.from({ length: k }, (_, ky) => ky);
  const rowNames = taps.map((ky) => `row${ky}`);
  const locals = {
    c: "i32", // channel
    oy: "i32",
    v: "i32", // output vector in the row
    rowBase: "i32", // input row oy*s of this channel
    out: "i32", // output cursor
    acc: "v128",
    t: "v128",
    ...Object.fromEntries(rowNames.map((n) => [n, "i32"])),
  } as const;
  return {
    name: `depthwise_k${k}_s${stride}`,
    params,
    results: [],
    locals,
    body: (l) => {
      const row = (ky: number) => l[rowNames[ky] as keyof typeof l];
      // acc += in[row ky, column (ox + tap offset)] * w[c, ky, kx]
      const tap = (ky: number, kx: number): Instruction[] => {
        const load: Instruction[] =
          stride === 1
            ? [get(row(ky)), ["v128.load", 4 * kx, 0]]
            : [
                get(row(ky)),
                ...(kx % 2 === 1 ? [get(l.oddOff), ["i32.add"] as Instruction] : []),
                ["v128.load", 4 * (kx >> 1), 0],
              ];
        const weight: Instruction[] = [get(l.w), ["v128.load32_splat", 4 * (ky * k + kx)]];
        return relaxed
          ? [...load, ...weight, get(l.acc), ["f32x4.relaxed_madd"], set(l.acc)]
          : [get(l.acc), ...load, ...weight, ["f32x4.mul"], ["f32x4.add"], set(l.acc)];
      };
      const outputVector: Instruction[] = [
        get(l.bias),
        ["v128.load32_splat", 0],
        set(l.acc),
        ...taps.flatMap((ky) => taps.flatMap((kx) => tap(ky, kx))),
        get(l.acc),
        set(l.t),
        ...activationOf(l.t, l.act),
        get(l.out),
        get(l.t),
        ["v128.store", 0, 0],
        // advance: out and every row pointer by one vector
        get(l.out),
        i32(16),
        ["i32.add"],
        set(l.out),
        ...taps.flatMap((ky): Instruction[] => [get(row(ky)), i32(16), ["i32.add"], set(row(ky))]),
      ];
      const outputRow: Instruction[] = [
        // row pointers: rowBase + ky*ldIn; out = outp + c*outPlane + oy*ldOut
        ...taps.flatMap((ky): Instruction[] => [
          get(l.rowBase),
          get(l.ldIn),
          i32(ky),
          ["i32.mul"],
          ["i32.add"],
          set(row(ky)),
        ]),
        get(l.outp),
        get(l.c),
        get(l.outPlane),
        ["i32.mul"],
        ["i32.add"],
        get(l.oy),
        get(l.ldOut),
        ["i32.mul"],
        ["i32.add"],
        set(l.out),
        i32(0),
        set(l.v),
        ["loop"],
        ...outputVector,
        get(l.v),
        i32(1),
        ["i32.add"],
        ["local.tee", l.v],
        get(l.vectors),
        ["i32.lt_s"],
        ["br_if", 0],
        ["end"],
      ];
      return [
        i32(0),
        set(l.c),
        ["loop"], // channels
        i32(0),
        set(l.oy),
        ["loop"], // output rows
        // rowBase = inp + c*inPlane + oy*stride*ldIn
        get(l.inp),
        get(l.c),
        get(l.inPlane),
        ["i32.mul"],
        ["i32.add"],
        get(l.oy),
        i32(stride),
        ["i32.mul"],
        get(l.ldIn),
        ["i32.mul"],
        ["i32.add"],
        set(l.rowBase),
        ...outputRow,
        get(l.oy),
        i32(1),
        ["i32.add"],
        ["local.tee", l.oy],
        get(l.outH),
        ["i32.lt_s"],
        ["br_if", 0],
        ["end"],
        // next channel: its weights and bias
        get(l.w),
        i32(4 * k * k),
        ["i32.add"],
        set(l.w),
        get(l.bias),
        i32(4),
        ["i32.add"],
        set(l.bias),
        get(l.c),
        i32(1),
        ["i32.add"],
        ["local.tee", l.c],
        get(l.channels),
        ["i32.lt_s"],
        ["br_if", 0],
        ["end"],
      ];
    },
  };
}
