// The GEMM micro-kernel of the wasm backend as an instruction list (assembled by assembler.ts).
//
//   C[i, j] = act( sum_k A[i, k] * B[k, j] + colBias[j] + rowBias[i] )   for whole MR x 8 tiles
//
// Operands in wasm memory (byte addresses; the caller, gemm_wasm.ts, places and pads them):
//   A packed in panels of MR rows, k-major: A[p*MR + r, k] at ap + (p*MR*K + k*MR + r) * 4
//   B in panels of 8 columns: B[k, q*8 + j] at bp + q*bPanelStride + k*bKStride + j*4
//     (packed weights: bKStride = 32, bPanelStride = 32*K; a row-major [K, ldb] matrix read in
//      place: bKStride = 4*ldb, bPanelStride = 32)
//   C row-major, row i at cp + i*ldc; colBias has 8*colPanels floats, rowBias MR*rowTiles floats.
//
// Register layout of the micro-kernel (MR = 4): 8 accumulators acc{r}{h} (row r, columns 4h..4h+3),
// two B vectors b0 = B[k, 0..3], b1 = B[k, 4..7] and one broadcast a = A[r, k]. Per k: 2 vector
// loads of B, MR broadcast loads of A and 2*MR multiply-adds (f32x4.relaxed_madd where it validates,
// else f32x4.mul + f32x4.add): 12 of the 16 x64 vector registers, no spills. Sums are float32.
// The activation codes are gemm.ts's (1 relu, 2 relu6, 3 hardswish, 4 hardsigmoid); 0 stores as is.
import type { FunctionSource, Instruction } from "./assembler.ts";

export const MR = 4; // rows per A panel
export const NR = 8; // columns per B panel (two f32x4)

const get = (i: number): Instruction => ["local.get", i];
const set = (i: number): Instruction => ["local.set", i];
const i32 = (v: number): Instruction => ["i32.const", v];
const splat = (v: number): Instruction[] => [["f32.const", v], ["f32x4.splat"]];

/** acc = a * b + acc on the stack-free locals, fused or not. */
function multiplyAdd(acc: number, a: number, b: number, relaxed: boolean): Instruction[] {
  return relaxed
    ? [get(a), get(b), get(acc), ["f32x4.relaxed_madd"], set(acc)]
    : [get(acc), get(a), get(b), ["f32x4.mul"], ["f32x4.add"], set(acc)];
}

/** Vector clamp(v, lo, hi) of the value on the stack. */
const clamp = (lo: number, hi: number): Instruction[] => [...splat(lo), ["f32x4.max"], ...splat(hi), ["f32x4.min"]];

/** t = act(t) for the activation code in local `act` (gemm.ts's codes 1-4). */
export function activationOf(t: number, act: number): Instruction[] {
  const when = (code: number, body: Instruction[]): Instruction[] => [
    get(act),
    i32(code),
    ["i32.eq"],
    ["if"],
    ...body,
    set(t),
    ["end"],
  ];
  const hardsigmoid: Instruction[] = [get(t), ...splat(3), ["f32x4.add"], ...clamp(0, 6), ...splat(6), ["f32x4.div"]];
  return [
    ...when(1, [get(t), ...splat(0), ["f32x4.max"]]), // relu
    ...when(2, [get(t), ...clamp(0, 6)]), // relu6
    ...when(3, [get(t), ...hardsigmoid, ["f32x4.mul"]]), // hardswish = x * hardsigmoid(x)
    ...when(4, hardsigmoid),
  ];
}

type Params =
  | "ap"
  | "K"
  | "bp"
  | "bKStride"
  | "bPanelStride"
  | "cp"
  | "ldc"
  | "rowTiles"
  | "colPanels"
  | "colBias"
  | "rowBias"
  | "act";

/** gemm_tiles(ap, K, bp, bKStride, bPanelStride, cp, ldc, rowTiles, colPanels, colBias, rowBias, act). */
export function gemmTiles(relaxed: boolean): FunctionSource {
  const accNames = Array.from({ length: MR * 2 }, (_, n) => `acc${n >> 1}${n & 1}`);
  const params: Record<Params, "i32"> = {
    ap: "i32",
    K: "i32",
    bp: "i32",
    bKStride: "i32",
    bPanelStride: "i32",
    cp: "i32",
    ldc: "i32",
    rowTiles: "i32",
    colPanels: "i32",
    colBias: "i32",
    rowBias: "i32",
    act: "i32",
  };
  const locals = {
    q: "i32", // column panel
    p: "i32", // row tile
    k: "i32", // steps left
    a: "i32", // A panel cursor
    b: "i32", // B panel cursor
    out: "i32", // C address of the tile's row
    b0: "v128",
    b1: "v128",
    av: "v128",
    t: "v128",
    cb0: "v128",
    cb1: "v128",
    ...Object.fromEntries(accNames.map((n) => [n, "v128"])),
  } as const;
  return {
    name: "gemm_tiles",
    params,
    results: [],
    locals,
    body: (l) => {
      const acc = (r: number, h: number) => l[accNames[r * 2 + h] as keyof typeof l];
      const rows = Array.from({ length: MR }, (_, r) => r);

      // one k step: b0, b1 = B[k, 0..7]; per row r: a = A[r, k]; acc{r}0 += a*b0; acc{r}1 += a*b1
      const kStep: Instruction[] = [
        get(l.b),
        ["v128.load", 0],
        set(l.b0),
        get(l.b),
        ["v128.load", 16],
        set(l.b1),
        ...rows.flatMap((r): Instruction[] => [
          get(l.a),
          ["v128.load32_splat", 4 * r],
          set(l.av),
          ...multiplyAdd(acc(r, 0), l.av, l.b0, relaxed),
          ...multiplyAdd(acc(r, 1), l.av, l.b1, relaxed),
        ]),
      ];

      const advance: Instruction[] = [
        get(l.a),
        i32(4 * MR),
        ["i32.add"],
        set(l.a),
        get(l.b),
        get(l.bKStride),
        ["i32.add"],
        set(l.b),
      ];

      // the K loop of one tile: a and b start at the tile's panels
      const kLoop: Instruction[] = [
        ...accNames.flatMap((n): Instruction[] => [...splat(0), set(l[n as keyof typeof l])]),
        get(l.K),
        set(l.k),
        ["block"],
        get(l.k),
        ["i32.eqz"],
        ["br_if", 0],
        ["loop"],
        ...kStep,
        ...advance,
        get(l.k),
        i32(1),
        ["i32.sub"],
        ["local.tee", l.k],
        ["br_if", 0],
        ["end"],
        ["end"],
      ];

      // store row r of the tile: t = act(acc + colBias + rowBias[row]) at out, out + 16
      const storeRow = (r: number): Instruction[] => {
        const rowBias: Instruction[] = [
          get(l.rowBias),
          get(l.p),
          i32(MR * 4),
          ["i32.mul"],
          ["i32.add"],
          ["v128.load32_splat", 4 * r],
        ];
        const half = (h: number): Instruction[] => [
          get(acc(r, h)),
          get(h === 0 ? l.cb0 : l.cb1),
          ["f32x4.add"],
          ...rowBias,
          ["f32x4.add"],
          set(l.t),
          ...activationOf(l.t, l.act),
          get(l.out),
          get(l.t),
          ["v128.store", 16 * h],
        ];
        return [...half(0), ...half(1), get(l.out), get(l.ldc), ["i32.add"], set(l.out)];
      };

      const rowTile: Instruction[] = [
        // a = ap + p*MR*K*4; b = bp + q*bPanelStride; out = cp + p*MR*ldc + q*32
        get(l.ap),
        get(l.p),
        get(l.K),
        ["i32.mul"],
        i32(MR * 4),
        ["i32.mul"],
        ["i32.add"],
        set(l.a),
        get(l.bp),
        get(l.q),
        get(l.bPanelStride),
        ["i32.mul"],
        ["i32.add"],
        set(l.b),
        ...kLoop,
        get(l.cp),
        get(l.p),
        i32(MR),
        ["i32.mul"],
        get(l.ldc),
        ["i32.mul"],
        ["i32.add"],
        get(l.q),
        i32(NR * 4),
        ["i32.mul"],
        ["i32.add"],
        set(l.out),
        ...rows.flatMap(storeRow),
      ];

      return [
        i32(0),
        set(l.q),
        ["loop"], // over column panels q
        get(l.colBias),
        get(l.q),
        i32(NR * 4),
        ["i32.mul"],
        ["i32.add"],
        ["local.tee", l.out], // column bias address (out is free here)
        ["v128.load", 0],
        set(l.cb0),
        get(l.out),
        ["v128.load", 16],
        set(l.cb1),
        i32(0),
        set(l.p),
        ["loop"], // over row tiles p
        ...rowTile,
        get(l.p),
        i32(1),
        ["i32.add"],
        ["local.tee", l.p],
        get(l.rowTiles),
        ["i32.lt_s"],
        ["br_if", 0],
        ["end"],
        get(l.q),
        i32(1),
        ["i32.add"],
        ["local.tee", l.q],
        get(l.colPanels),
        ["i32.lt_s"],
        ["br_if", 0],
        ["end"],
      ];
    },
  };
}
