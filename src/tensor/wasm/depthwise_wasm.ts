// Depthwise convolution on the wasm backend (depthwise_kernel.ts): 3x3 and 5x5, stride 1 and 2, no
// dilation, one output channel per input channel, activations fused in wasm (codes 0-4). Anything
// else goes to conv.ts's depthwiseFast. Per image, the input is copied once into wasm memory and laid
// out with its zero padding there (layout_kernel.ts; for stride 2, each row split into its even and odd
// columns), so the kernel reads every tap of four outputs with one load and tests no border.
import { activationCode, type FusedActivation } from "../gemm.ts";
import { depthwiseFast, type DepthwiseRunner } from "../conv.ts";
import { align, memoryF32, scratchBase, wasmKernels, zeroFloats } from "./runtime.ts";

export const wasmDepthwise: DepthwiseRunner = (x, weight, bias, g, activation, out) => {
  const [N, C, H, W] = x.shape;
  const [k, kw] = g.kernel;
  const [s, sw] = g.stride;
  const act = activationCode(activation);
  const supported =
    k === kw && (k === 3 || k === 5) && s === sw && (s === 1 || s === 2) && g.dilation[0] === 1 && g.dilation[1] === 1;
  if (!supported || weight.shape[0] !== C || act > 4) {
    depthwiseFast(x, weight, bias, g, activation, out);
    return;
  }
  const { outH, outW } = g;
  const vectors = Math.ceil(outW / 4);
  // Output rows are written 4 columns at a time straight in NCHW order (row stride outW): the up to 3
  // columns a row's last vector writes past its end land in the next row, which is written after it.
  const inRows = (outH - 1) * s + k;
  // floats per padded input row: stride 1: every column; stride 2: even columns then odd ones
  const half = vectors * 4 + (k >> 1);
  const ldIn = s === 1 ? vectors * 4 + k - 1 : 2 * half;
  const inPlane = inRows * ldIn;

  let at = scratchBase();
  const take = (floats: number) => {
    const here = at;
    at = align(at + floats * 4);
    return here;
  };
  const inAt = take(C * inPlane);
  const stageAt = take(C * H * W); // one image as it is, before padding
  const outAt = take(C * outH * outW + 4);
  const wAt = take(C * k * k);
  const biasAt = take(C);
  const mem = memoryF32(at);
  mem.set(weight.data.subarray(0, C * k * k), wAt >> 2);
  if (bias === null) zeroFloats(biasAt >> 2, C);
  else mem.set(bias.data.subarray(0, C), biasAt >> 2);
  const { depthwise, ops } = wasmKernels();
  const kernel = depthwise[`k${k}_s${s}`];

  for (let n = 0; n < N; n++) {
    mem.set(x.data.subarray(n * C * H * W, (n + 1) * C * H * W), stageAt >> 2);
    zeroFloats(inAt >> 2, C * inPlane);
    const { top, left } = g.pad;
    if (s === 1) ops.pad_rows_s1(stageAt, C, H, W, inAt, inRows, ldIn, top, left, Math.min(W, ldIn - left));
    else ops.pad_rows_s2(stageAt, C, H, W, inAt, inRows, ldIn, top, left, half);
    kernel(inAt, inPlane * 4, ldIn * 4, half * 4, outAt, outH * outW * 4, outW * 4, vectors, outH, C, wAt, biasAt, act);
    out.set(mem.subarray(outAt >> 2, (outAt >> 2) + C * outH * outW), n * C * outH * outW);
  }
};
