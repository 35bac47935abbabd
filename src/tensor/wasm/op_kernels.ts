// The kernels beyond GEMM, attention and depthwise convolution, in one list for runtime.ts to assemble:
// layer norm, squeeze-excitation and global average pooling, max / average pooling, and the layout
// copies (padding for depthwise, im2col for dense convolutions). Each is exported under its name and
// reached as wasmKernels().ops[name].
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
  ];
}
