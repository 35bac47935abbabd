// The kernels beyond GEMM, attention and depthwise convolution, in one list for runtime.ts to assemble:
// layer norm, squeeze-excitation and global average pooling, max / average pooling, and the layout
// copies (padding for depthwise, im2col for dense convolutions), and zeroing. Each is exported under
// its name and reached as wasmKernels().ops[name].
import type { FunctionSource } from "./assembler.ts";
import { im2colKernel, padRowsStride1, padRowsStride2 } from "./layout_kernel.ts";
import { layerNormKernel } from "./norm_kernel.ts";
import { poolKernel } from "./pool_kernel.ts";
import { globalAvgPoolKernel, squeezeExciteKernel } from "./se_kernel.ts";

export function opKernels(): FunctionSource[] {
  return [
    layerNormKernel(),
    squeezeExciteKernel(),
    globalAvgPoolKernel(),
    poolKernel("max"),
    poolKernel("avg"),
    padRowsStride1(),
    padRowsStride2(),
    im2colKernel(),
    zeroBytes(),
    compactRows(),
  ];
}

/**
 * compact_rows(at, rows, fromStride, toStride, count): row r's first `count` bytes, at at + r*fromStride,
 * moved to at + r*toStride (toStride <= fromStride: rows move down in order, memory.copy handles the
 * overlap). Turns a product's rows padded to whole 8-column panels into packed rows, so that JS copies
 * them out with one TypedArray.set instead of one per row.
 */
function compactRows(): FunctionSource {
  return {
    name: "compact_rows",
    params: { at: "i32", rows: "i32", fromStride: "i32", toStride: "i32", count: "i32" },
    results: [],
    locals: { r: "i32" },
    body: (l) => [
      ["i32.const", 1],
      ["local.set", l.r],
      ["block"],
      ["loop"],
      ["local.get", l.r],
      ["local.get", l.rows],
      ["i32.ge_s"],
      ["br_if", 1],
      ["local.get", l.at],
      ["local.get", l.r],
      ["local.get", l.toStride],
      ["i32.mul"],
      ["i32.add"],
      ["local.get", l.at],
      ["local.get", l.r],
      ["local.get", l.fromStride],
      ["i32.mul"],
      ["i32.add"],
      ["local.get", l.count],
      ["memory.copy"],
      ["local.get", l.r],
      ["i32.const", 1],
      ["i32.add"],
      ["local.set", l.r],
      ["br", 0],
      ["end"],
      ["end"],
    ],
  };
}

/**
 * zero_bytes(at, count): `count` bytes from `at` set to 0 by the engine's memset (memory.fill). From JS,
 * TypedArray.fill on a shared memory's buffer runs about 10x slower than on an unshared one (measured
 * in Node 20: 0.07 against 0.007 ms per MB), so the kernels' zero padding is filled here instead.
 */
function zeroBytes(): FunctionSource {
  return {
    name: "zero_bytes",
    params: { at: "i32", count: "i32" },
    results: [],
    locals: {},
    body: (l) => [["local.get", l.at], ["i32.const", 0], ["local.get", l.count], ["memory.fill"]],
  };
}
