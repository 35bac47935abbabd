// Pooling over NCTHW clips: maxPool3d, avgPool3d and globalAvgPool3d, torch semantics (MaxPool3d /
// AvgPool3d in floor mode, symmetric padding of at most half the kernel per axis). Sums in float64.
//
// Padded cells never win a max (NaN propagates, as in torch). For the average they count in the divisor
// with countIncludePad (torch's default; in floor mode every window lies inside the padded clip, so the
// divisor is then kt*kh*kw), and not at all without it (the divisor is the number of real cells).
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { triple, window3dGeometry, type Triple, type Window3dGeometry } from "./window3d.ts";

export interface MaxPool3dOptions {
  kernel: Triple; // number | [kt, kh, kw]
  stride?: Triple; // default: the kernel
  padding?: Triple; // default 0
}

export interface AvgPool3dOptions extends MaxPool3dOptions {
  countIncludePad?: boolean; // default true, as torch
}

/** x[N,C,T,H,W] -> [N,C,outT,outH,outW], the max of each window. */
export function maxPool3d(x: Tensor, opts: MaxPool3dOptions): Tensor {
  const g = poolGeometry("maxPool3d", x, opts);
  const [H, W] = [x.shape[3], x.shape[4]];
  return poolEach(x, g, (volume, [t0, t1, y0, y1, x0, x1]) => {
    let best = -Infinity;
    for (let it = t0; it < t1; it++) {
      for (let iy = y0; iy < y1; iy++) {
        const row = (it * H + iy) * W;
        for (let ix = x0; ix < x1; ix++) {
          const v = volume[row + ix];
          if (v > best || Number.isNaN(v)) best = v; // once NaN, nothing is greater
        }
      }
    }
    return best;
  });
}

/** x[N,C,T,H,W] -> [N,C,outT,outH,outW], the mean of each window. */
export function avgPool3d(x: Tensor, opts: AvgPool3dOptions): Tensor {
  const g = poolGeometry("avgPool3d", x, opts);
  const countIncludePad = opts.countIncludePad ?? true;
  const [H, W] = [x.shape[3], x.shape[4]];
  const volumeOfKernel = g.kernel[0] * g.kernel[1] * g.kernel[2];
  return poolEach(x, g, (volume, [t0, t1, y0, y1, x0, x1]) => {
    let sum = 0;
    for (let it = t0; it < t1; it++) {
      for (let iy = y0; iy < y1; iy++) {
        const row = (it * H + iy) * W;
        for (let ix = x0; ix < x1; ix++) sum += volume[row + ix];
      }
    }
    return sum / (countIncludePad ? volumeOfKernel : (t1 - t0) * (y1 - y0) * (x1 - x0));
  });
}

/** x[N,C,T,H,W] -> [N,C], the mean over T, H and W. */
export function globalAvgPool3d(x: Tensor): Tensor {
  expectRank("globalAvgPool3d", "x", x, 5);
  const [N, C, T, H, W] = x.shape;
  const cells = T * H * W;
  if (cells === 0) throw new ShapeError("globalAvgPool3d", `x ${shapeStr(x.shape)} has no cells`);
  const out = allocFloat32(N * C);
  for (let i = 0; i < N * C; i++) {
    let sum = 0;
    for (let j = i * cells; j < (i + 1) * cells; j++) sum += x.data[j];
    out[i] = sum / cells;
  }
  return new Tensor(out, [N, C]);
}

function poolGeometry(op: string, x: Tensor, opts: MaxPool3dOptions): Window3dGeometry {
  expectRank(op, "x", x, 5);
  if (typeof opts !== "object" || opts === null) throw new ShapeError(op, `options { kernel, ... } are required`);
  const kernel = triple(op, "kernel", opts.kernel, 1);
  const g = window3dGeometry(op, x.shape, kernel, { stride: opts.stride ?? kernel, padding: opts.padding ?? 0 });
  if (g.pad.some((p, i) => p * 2 > kernel[i])) {
    throw new ShapeError(
      op,
      `padding [${g.pad.join(", ")}] is more than half the kernel ${kernel.join("x")} (x ${shapeStr(x.shape)})`,
    );
  }
  return g;
}

/** A window clipped to the clip: frames [t0, t1), rows [y0, y1), columns [x0, x1). */
type Box = [number, number, number, number, number, number];

/** Calls `reduce` for every output cell with its window clipped to the clip (never empty: padding <= kernel / 2). */
function poolEach(x: Tensor, g: Window3dGeometry, reduce: (volume: Float32Array, box: Box) => number): Tensor {
  const [N, C, T, H, W] = x.shape;
  const [kt, kh, kw] = g.kernel;
  const [st, sh, sw] = g.stride;
  const [pt, ph, pw] = g.pad;
  const out = allocFloat32(N * C * g.outT * g.outH * g.outW);
  const box: Box = [0, 0, 0, 0, 0, 0];
  let at = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const volume = x.data.subarray(nc * T * H * W, (nc + 1) * T * H * W);
    for (let ot = 0; ot < g.outT; ot++) {
      const wt0 = ot * st - pt;
      box[0] = Math.max(wt0, 0);
      box[1] = Math.min(wt0 + kt, T);
      for (let oy = 0; oy < g.outH; oy++) {
        const wy0 = oy * sh - ph;
        box[2] = Math.max(wy0, 0);
        box[3] = Math.min(wy0 + kh, H);
        for (let ox = 0; ox < g.outW; ox++) {
          const wx0 = ox * sw - pw;
          box[4] = Math.max(wx0, 0);
          box[5] = Math.min(wx0 + kw, W);
          out[at++] = reduce(volume, box);
        }
      }
    }
  }
  return new Tensor(out, [N, C, g.outT, g.outH, g.outW]);
}
