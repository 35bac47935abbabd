// Convolution as its definition: what every fast path of ../conv.ts (depthwise, pointwise GEMM,
// im2col GEMM) must equal.
//
//   out[n, o, oy, ox] = act( bias[o] + sum_{c, ky, kx} x[n, c0 + c, iy, ix] * w[o, c, ky, kx] )
//   iy = oy * strideY - padTop + ky * dilationY,  ix = ox * strideX - padLeft + kx * dilationX
//   (taps outside the image read 0), c0 = the first input channel of o's group.
// Sums run in float64 over (c, ky, kx) in that order, then + bias.
import ndarray from "ndarray";
import type { Conv2dOptions } from "../conv.ts";
import { activationCode, applyActivation } from "../gemm.ts";
import { Tensor } from "../tensor.ts";
import { windowGeometry } from "../window.ts";

export function conv2dReference(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: Conv2dOptions = {},
): Tensor {
  const [N, , H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  const g = windowGeometry("conv2dReference", x.shape, [kh, kw], {
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
    dilation: opts.dilation ?? 1,
    ceilMode: false,
  });
  const act = activationCode(opts.activation ?? "none");
  const input = ndarray(x.data, x.shape);
  const kernel = ndarray(weight.data, weight.shape);
  const out = ndarray(new Float32Array(N * O * g.outH * g.outW), [N, O, g.outH, g.outW]);
  const outPerGroup = O / groups;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const c0 = Math.floor(o / outPerGroup) * Cg;
      for (let oy = 0; oy < g.outH; oy++) {
        for (let ox = 0; ox < g.outW; ox++) {
          let sum = 0;
          for (let c = 0; c < Cg; c++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * g.stride[0] - g.pad.top + ky * g.dilation[0];
                const ix = ox * g.stride[1] - g.pad.left + kx * g.dilation[1];
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                  sum += input.get(n, c0 + c, iy, ix) * kernel.get(o, c, ky, kx);
              }
            }
          }
          if (bias !== null) sum += bias.data[o];
          out.set(n, o, oy, ox, act === 0 ? sum : applyActivation(Math.fround(sum), act));
        }
      }
    }
  }
  return new Tensor(out.data, out.shape);
}
