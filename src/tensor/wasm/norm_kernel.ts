// Layer norm over rows of D floats, as an instruction list (norm.ts's layerNorm in float32 sums):
//
//   mean = sum_j x[j] / D;   var = sum_j (x[j] - mean)^2 / D;   y[j] = (x[j] - mean) / sqrt(var + eps) * w[j] + b[j]
//
// Each pass runs four columns per f32x4 (four partial sums, added at the end of the row) and the last
// D mod 4 columns one at a time. w and b are always given (the runner passes ones / zeros for null).
import type { FunctionSource, Instruction } from "./assembler.ts";
import { f32, forRange, forStep, get, horizontalSum, i32, set, splat } from "./instructions.ts";

/** layer_norm(src, dst, rows, D, w, b, eps): dst may equal src. */
export function layerNormKernel(): FunctionSource {
  return {
    name: "layer_norm",
    params: { src: "i32", dst: "i32", rows: "i32", D: "i32", w: "i32", b: "i32", eps: "f32" },
    results: [],
    locals: {
      row: "i32",
      j: "i32",
      D4: "i32", // D rounded down to a multiple of 4
      x: "i32", // this row's first byte in src
      y: "i32", // ... in dst
      sum: "f32",
      mean: "f32",
      invStd: "f32",
      acc: "v128",
      meanV: "v128",
      invV: "v128",
      t: "v128",
    },
    body: (l) => {
      const at = (base: number): Instruction[] => [get(base), get(l.j), i32(2), ["i32.shl"], ["i32.add"]];
      const vecX: Instruction[] = [...at(l.x), ["v128.load", 0, 0]];
      const scalarX: Instruction[] = [...at(l.x), ["f32.load", 0, 0]];
      /** acc = sum over the row of f(x) (vector part), then sum = horizontal + tail */
      const rowSum = (vectorTerm: Instruction[], scalarTerm: Instruction[]): Instruction[] => [
        ...splat(0),
        set(l.acc),
        ...forStep(l.j, [i32(0)], l.D4, 4, [get(l.acc), ...vectorTerm, ["f32x4.add"], set(l.acc)]),
        get(l.acc),
        ...horizontalSum(l.t),
        set(l.sum),
        ...forStep(l.j, [get(l.D4)], l.D, 1, [get(l.sum), ...scalarTerm, ["f32.add"], set(l.sum)]),
      ];
      const centred: Instruction[] = [...vecX, get(l.meanV), ["f32x4.sub"]];
      const centredScalar: Instruction[] = [...scalarX, get(l.mean), ["f32.sub"]];
      return [
        get(l.D),
        i32(-4),
        ["i32.and"],
        set(l.D4),
        ...forRange(l.row, 0, l.rows, [
          // x = src + row*D*4; y = dst + row*D*4
          get(l.src),
          get(l.row),
          get(l.D),
          ["i32.mul"],
          i32(2),
          ["i32.shl"],
          ["i32.add"],
          set(l.x),
          get(l.dst),
          get(l.row),
          get(l.D),
          ["i32.mul"],
          i32(2),
          ["i32.shl"],
          ["i32.add"],
          set(l.y),
          // mean
          ...rowSum(vecX, scalarX),
          get(l.sum),
          get(l.D),
          ["f32.convert_i32_s"],
          ["f32.div"],
          set(l.mean),
          get(l.mean),
          ["f32x4.splat"],
          set(l.meanV),
          // variance -> 1 / sqrt(var + eps)
          ...rowSum([...centred, ...centred, ["f32x4.mul"]], [...centredScalar, ...centredScalar, ["f32.mul"]]),
          f32(1),
          get(l.sum),
          get(l.D),
          ["f32.convert_i32_s"],
          ["f32.div"],
          get(l.eps),
          ["f32.add"],
          ["f32.sqrt"],
          ["f32.div"],
          set(l.invStd),
          get(l.invStd),
          ["f32x4.splat"],
          set(l.invV),
          // y = (x - mean) * invStd * w + b
          ...forStep(l.j, [i32(0)], l.D4, 4, [
            ...at(l.y),
            ...centred,
            get(l.invV),
            ["f32x4.mul"],
            ...at(l.w),
            ["v128.load", 0, 0],
            ["f32x4.mul"],
            ...at(l.b),
            ["v128.load", 0, 0],
            ["f32x4.add"],
            ["v128.store", 0, 0],
          ]),
          ...forStep(l.j, [get(l.D4)], l.D, 1, [
            ...at(l.y),
            ...centredScalar,
            get(l.invStd),
            ["f32.mul"],
            ...at(l.w),
            ["f32.load", 0, 0],
            ["f32.mul"],
            ...at(l.b),
            ["f32.load", 0, 0],
            ["f32.add"],
            ["f32.store", 0, 0],
          ]),
        ]),
      ];
    },
  };
}
