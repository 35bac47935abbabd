// 3-D convolution as its definition: what every path of ../conv3d.ts (depthwise, pointwise GEMM,
// im2col GEMM in runs of frames) must equal.
//
//   out[n, o, ot, oy, ox] = act( bias[o] + sum_{c, dt, dy, dx} x[n, c0 + c, it, iy, ix] * w[o, c, dt, dy, dx] )
//   it = ot * strideT - padT + dt,  iy = oy * strideH - padH + dy,  ix = ox * strideW - padW + dx
//   (taps outside the clip read 0), c0 = the first input channel of o's group.
// Sums run in float64 over (c, dt, dy, dx) in that order, then + bias.
import ndarray from "ndarray";
import type { Conv3dOptions } from "../conv3d.ts";
import { activationCode, applyActivation } from "../gemm.ts";
import { Tensor } from "../tensor.ts";
import { window3dGeometry } from "../window3d.ts";

export function conv3dReference(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: Conv3dOptions = {},
): Tensor {
  const [N, , T, H, W] = x.shape;
  const [O, Cg, kt, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  const g = window3dGeometry("conv3dReference", x.shape, [kt, kh, kw], {
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
  });
  const act = activationCode(opts.activation ?? "none");
  const input = ndarray(x.data, x.shape);
  const kernel = ndarray(weight.data, weight.shape);
  const shape = [N, O, g.outT, g.outH, g.outW];
  const out = ndarray(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const outPerGroup = O / groups;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const c0 = Math.floor(o / outPerGroup) * Cg;
      for (let ot = 0; ot < g.outT; ot++) {
        for (let oy = 0; oy < g.outH; oy++) {
          for (let ox = 0; ox < g.outW; ox++) {
            let sum = 0;
            for (let c = 0; c < Cg; c++) {
              for (let dt = 0; dt < kt; dt++) {
                for (let dy = 0; dy < kh; dy++) {
                  for (let dx = 0; dx < kw; dx++) {
                    const it = ot * g.stride[0] - g.pad[0] + dt;
                    const iy = oy * g.stride[1] - g.pad[1] + dy;
                    const ix = ox * g.stride[2] - g.pad[2] + dx;
                    if (it >= 0 && it < T && iy >= 0 && iy < H && ix >= 0 && ix < W)
                      sum += input.get(n, c0 + c, it, iy, ix) * kernel.get(o, c, dt, dy, dx);
                  }
                }
              }
            }
            if (bias !== null) sum += bias.data[o];
            out.set(n, o, ot, oy, ox, act === 0 ? sum : applyActivation(Math.fround(sum), act));
          }
        }
      }
    }
  }
  return new Tensor(out.data, shape);
}
