// Pooling over NCHW maps: maxPool2d, avgPool2d (torch semantics, plus TF/Keras "same"
// padding) and globalAvgPool. Sums in float64.
//
// Padding follows torch: at most half the kernel on each side (so every window holds at least
// one real cell). Padded cells never win a max; for the average they count in the divisor only
// with countIncludePad (torch's default), and then only up to the padded border: in ceil mode a
// window hanging past the padding divides by the part inside it, as torch does.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";
import { pair, windowGeometry, type Pair, type PaddingSpec, type WindowGeometry } from "./window.ts";

export interface MaxPool2dOptions {
  kernel: Pair;
  stride?: Pair; // default: the kernel
  padding?: PaddingSpec; // number | [ph, pw] | [top, bottom, left, right] | "same"
  ceilMode?: boolean;
}

export interface AvgPool2dOptions extends MaxPool2dOptions {
  countIncludePad?: boolean; // default true, as torch
}

/** x[N,C,H,W] -> [N,C,outH,outW], the max of each window (NaN propagates, as in torch). */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  const g = poolGeometry("maxPool2d", x, opts);
  if (poolRunner !== null) return runPool("max", x, g, false);
  const W = x.shape[3];
  return poolEach(x, g, (plane, y0, y1, x0, x1) => {
    let best = -Infinity;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) {
        const v = plane[iy * W + ix];
        if (v > best || Number.isNaN(v)) best = v; // once NaN, nothing is greater
      }
    }
    return best;
  });
}

/** x[N,C,H,W] -> [N,C,outH,outW], the mean of each window. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const g = poolGeometry("avgPool2d", x, opts);
  const countIncludePad = opts.countIncludePad ?? true;
  if (poolRunner !== null) return runPool("avg", x, g, countIncludePad);
  const [H, W] = [x.shape[2], x.shape[3]];
  const [kh, kw] = g.kernel;
  return poolEach(x, g, (plane, y0, y1, x0, x1, wy0, wx0) => {
    let sum = 0;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) sum += plane[iy * W + ix];
    }
    // the window clipped to the padded input (torch's pool_size), or to the input itself
    const cells = countIncludePad
      ? (Math.min(wy0 + kh, H + g.pad.bottom) - wy0) * (Math.min(wx0 + kw, W + g.pad.right) - wx0)
      : (y1 - y0) * (x1 - x0);
    return sum / cells;
  });
}

/** x[N,C,H,W] -> [N,C], the mean over H and W. */
export function globalAvgPool(x: Tensor): Tensor {
  expectRank("globalAvgPool", "x", x, 4);
  const [N, C, H, W] = x.shape;
  const area = H * W;
  if (area === 0) throw new ShapeError("globalAvgPool", `x ${shapeStr(x.shape)} has no pixels`);
  const out = allocFloat32(N * C);
  if (globalPoolRunner !== null) {
    globalPoolRunner(x.data, N * C, area, out);
    return new Tensor(out, [N, C]);
  }
  for (let i = 0; i < N * C; i++) {
    let sum = 0;
    for (let j = i * area; j < (i + 1) * area; j++) sum += x.data[j];
    out[i] = sum / area;
  }
  return new Tensor(out, [N, C]);
}

function poolGeometry(op: string, x: Tensor, opts: MaxPool2dOptions): WindowGeometry {
  expectRank(op, "x", x, 4);
  if (typeof opts !== "object" || opts === null) throw new ShapeError(op, `options { kernel, ... } are required`);
  const kernel = pair(op, "kernel", opts.kernel, 1);
  const g = windowGeometry(op, x.shape, kernel, {
    stride: opts.stride ?? kernel,
    padding: opts.padding ?? 0,
    dilation: 1,
    ceilMode: opts.ceilMode ?? false,
  });
  const { top, bottom, left, right } = g.pad;
  if (Math.max(top, bottom) * 2 > kernel[0] || Math.max(left, right) * 2 > kernel[1]) {
    throw new ShapeError(
      op,
      `padding [${top}, ${bottom}, ${left}, ${right}] is more than half the kernel ${kernel[0]}x${kernel[1]} (x ${shapeStr(x.shape)})`,
    );
  }
  return g;
}

/**
 * Calls `reduce` for every output cell with the window clipped to the input: rows [y0, y1),
 * columns [x0, x1) of `plane`, and (wy0, wx0) = the unclipped window's first row and column.
 */
function poolEach(
  x: Tensor,
  g: WindowGeometry,
  reduce: (plane: Float32Array, y0: number, y1: number, x0: number, x1: number, wy0: number, wx0: number) => number,
): Tensor {
  const [N, C, H, W] = x.shape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const out = allocFloat32(N * C * g.outH * g.outW);
  let at = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = x.data.subarray(nc * H * W, (nc + 1) * H * W);
    for (let oy = 0; oy < g.outH; oy++) {
      const wy0 = oy * sh - g.pad.top;
      const y0 = Math.max(wy0, 0);
      const y1 = Math.min(wy0 + kh, H);
      for (let ox = 0; ox < g.outW; ox++) {
        const wx0 = ox * sw - g.pad.left;
        out[at++] = reduce(plane, y0, y1, Math.max(wx0, 0), Math.min(wx0 + kw, W), wy0, wx0);
      }
    }
  }
  return new Tensor(out, [N, C, g.outH, g.outW]);
}

// ---- other kernels (the wasm backend registers its own; null: the JS loops above) ----

/** Max / average pooling of `planes` planes [H, W] with geometry g into out [planes, outH, outW]. */
export type PoolRunner = (
  kind: "max" | "avg",
  x: Float32Array,
  planes: number,
  H: number,
  W: number,
  g: WindowGeometry,
  countIncludePad: boolean,
  out: Float32Array,
) => void;

/** out[p] = mean of plane p (planes of `area` floats). */
export type GlobalPoolRunner = (x: Float32Array, planes: number, area: number, out: Float32Array) => void;

let poolRunner: PoolRunner | null = null;
let globalPoolRunner: GlobalPoolRunner | null = null;

export function registerPoolRunners(pool: PoolRunner | null, globalPool: GlobalPoolRunner | null): void {
  poolRunner = pool;
  globalPoolRunner = globalPool;
}

function runPool(kind: "max" | "avg", x: Tensor, g: WindowGeometry, countIncludePad: boolean): Tensor {
  const [N, C, H, W] = x.shape;
  const out = allocFloat32(N * C * g.outH * g.outW);
  poolRunner!(kind, x.data, N * C, H, W, g, countIncludePad, out);
  return new Tensor(out, [N, C, g.outH, g.outW]);
}
