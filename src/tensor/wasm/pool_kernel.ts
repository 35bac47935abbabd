// Max and average pooling over NCHW planes (pooling.ts's maxPool2d / avgPool2d) as one instruction
// list, one output cell at a time over its window clipped to the input:
//
//   rows [y0, y1) = [max(wy0, 0), min(wy0 + kh, H)),  wy0 = oy*sh - top   (columns alike)
//   max: the largest value (f32.max: NaN propagates, as in torch);
//   avg: the sum / cells, cells = countIncludePad ? window clipped to the padded input : (y1-y0)*(x1-x0).
// Sums are float32.
import type { FunctionSource, Instruction } from "./assembler.ts";
import { f32, forRange, forRangeOf, get, i32, set } from "./instructions.ts";

const PARAMS = [
  "x",
  "out",
  "planes",
  "H",
  "W",
  "outH",
  "outW",
  "kh",
  "kw",
  "sh",
  "sw",
  "top",
  "left",
  "padBottom",
  "padRight",
  "countIncludePad",
] as const;

/** pool_max / pool_avg(x, out, planes, H, W, outH, outW, kh, kw, sh, sw, top, left, padBottom, padRight, countIncludePad) */
export function poolKernel(kind: "max" | "avg"): FunctionSource {
  return {
    name: `pool_${kind}`,
    params: Object.fromEntries(PARAMS.map((p) => [p, "i32"])) as Record<(typeof PARAMS)[number], "i32">,
    results: [],
    locals: {
      p: "i32",
      oy: "i32",
      ox: "i32",
      wy0: "i32",
      wx0: "i32",
      y0: "i32",
      y1: "i32",
      x0: "i32",
      x1: "i32",
      iy: "i32",
      ix: "i32",
      plane: "i32",
      dst: "i32",
      acc: "f32",
    },
    body: (l) => {
      const max = (a: Instruction[], b: Instruction[]): Instruction[] => [
        ...a,
        ...b,
        ...a,
        ...b,
        ["i32.gt_s"],
        ["select"],
      ];
      const min = (a: Instruction[], b: Instruction[]): Instruction[] => [
        ...a,
        ...b,
        ...a,
        ...b,
        ["i32.lt_s"],
        ["select"],
      ];
      const plus = (a: number, b: number): Instruction[] => [get(a), get(b), ["i32.add"]];
      const load: Instruction[] = [
        get(l.plane),
        get(l.iy),
        get(l.W),
        ["i32.mul"],
        get(l.ix),
        ["i32.add"],
        i32(2),
        ["i32.shl"],
        ["i32.add"],
        ["f32.load", 0, 0],
      ];
      const combine: Instruction[] =
        kind === "max"
          ? [get(l.acc), ...load, ["f32.max"], set(l.acc)]
          : [get(l.acc), ...load, ["f32.add"], set(l.acc)];
      // cells of the average: (min(wy0 + kh, H + padBottom) - wy0) * (min(wx0 + kw, W + padRight) - wx0), or the clipped window
      const cells: Instruction[] = [
        get(l.countIncludePad),
        ["if", 0x7f],
        ...min(plus(l.wy0, l.kh), plus(l.H, l.padBottom)),
        get(l.wy0),
        ["i32.sub"],
        ...min(plus(l.wx0, l.kw), plus(l.W, l.padRight)),
        get(l.wx0),
        ["i32.sub"],
        ["i32.mul"],
        ["else"],
        get(l.y1),
        get(l.y0),
        ["i32.sub"],
        get(l.x1),
        get(l.x0),
        ["i32.sub"],
        ["i32.mul"],
        ["end"],
        ["f32.convert_i32_s"],
      ];
      const cell: Instruction[] = [
        get(l.ox),
        get(l.sw),
        ["i32.mul"],
        get(l.left),
        ["i32.sub"],
        set(l.wx0),
        ...max([get(l.wx0)], [i32(0)]),
        set(l.x0),
        ...min(plus(l.wx0, l.kw), [get(l.W)]),
        set(l.x1),
        f32(kind === "max" ? -Infinity : 0),
        set(l.acc),
        ...forRangeOf(l.iy, [get(l.y0)], l.y1, forRangeOf(l.ix, [get(l.x0)], l.x1, combine)),
        get(l.dst),
        get(l.acc),
        ...(kind === "avg" ? [...cells, ["f32.div"] as Instruction] : []),
        ["f32.store", 0, 0],
        get(l.dst),
        i32(4),
        ["i32.add"],
        set(l.dst),
      ];
      return [
        get(l.out),
        set(l.dst),
        ...forRange(l.p, 0, l.planes, [
          get(l.x),
          get(l.p),
          get(l.H),
          ["i32.mul"],
          get(l.W),
          ["i32.mul"],
          i32(2),
          ["i32.shl"],
          ["i32.add"],
          set(l.plane),
          ...forRange(l.oy, 0, l.outH, [
            get(l.oy),
            get(l.sh),
            ["i32.mul"],
            get(l.top),
            ["i32.sub"],
            set(l.wy0),
            ...max([get(l.wy0)], [i32(0)]),
            set(l.y0),
            ...min(plus(l.wy0, l.kh), [get(l.H)]),
            set(l.y1),
            ...forRange(l.ox, 0, l.outW, cell),
          ]),
        ]),
      ];
    },
  };
}
