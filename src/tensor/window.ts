// Sliding-window geometry shared by conv2d and the pools: stride / dilation pairs,
// padding specs (symmetric, per axis, asymmetric, TF/Keras "same") and output sizes.
//
// Along one axis of size `size`, a window of `kernel` taps `dilation` apart spans
// (kernel - 1) * dilation + 1 cells; output i reads from input i * stride - padBefore.
import { ShapeError, shapeStr } from "./tensor.ts";

export type Pair = number | readonly [number, number];
export type PaddingSpec =
  | number
  | readonly [number, number] // [ph, pw]
  | readonly [number, number, number, number] // [top, bottom, left, right]
  | "same"; // TF/Keras SAME: output = ceil(size / stride), the odd cell of padding after

export interface Padding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export interface WindowGeometry {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  pad: Padding;
  outH: number;
  outW: number;
}

/** A number or [h, w] as [h, w], each an integer >= `min`; otherwise a ShapeError naming `op` and `name`. */
export function pair(op: string, name: string, value: Pair, min: number): [number, number] {
  const hw = typeof value === "number" ? [value, value] : Array.isArray(value) && value.length === 2 ? value : null;
  if (hw === null || !hw.every((v) => Number.isInteger(v) && v >= min)) {
    throw new ShapeError(
      op,
      `${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(value)}`,
    );
  }
  return [hw[0], hw[1]];
}

/** TF/Keras SAME padding along one axis: [before, after], the odd cell after. */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const span = (kernel - 1) * dilation + 1;
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + span - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Resolves a padding spec for an input of H x W (the kernel, stride, dilation are needed for "same"). */
export function resolvePadding(
  op: string,
  spec: PaddingSpec,
  H: number,
  W: number,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): Padding {
  if (spec === "same") {
    const [top, bottom] = samePadding(H, kernel[0], stride[0], dilation[0]);
    const [left, right] = samePadding(W, kernel[1], stride[1], dilation[1]);
    return { top, bottom, left, right };
  }
  const values = typeof spec === "number" ? [spec] : Array.isArray(spec) ? spec : null;
  if (values === null || ![1, 2, 4].includes(values.length) || !values.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ShapeError(
      op,
      `padding must be an integer >= 0, [ph, pw], [top, bottom, left, right] or "same", got ${JSON.stringify(spec)}`,
    );
  }
  if (values.length === 1) return { top: values[0], bottom: values[0], left: values[0], right: values[0] };
  if (values.length === 2) return { top: values[0], bottom: values[0], left: values[1], right: values[1] };
  return { top: values[0], bottom: values[1], left: values[2], right: values[3] };
}

/**
 * Output size along one axis: floor (or ceil) of (padded - span) / stride, plus one.
 * In ceil mode the last window must start inside the input or the leading padding (torch's rule).
 */
function outputSize(
  size: number,
  before: number,
  after: number,
  span: number,
  stride: number,
  ceilMode: boolean,
): number {
  const room = size + before + after - span;
  let out = Math.floor((room + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + before) out--;
  return out;
}

/**
 * Everything a sliding-window kernel needs for x[N,C,H,W]. Throws a ShapeError naming `op`
 * when the padding spec is bad or the (dilated) kernel is larger than the padded input.
 */
export function windowGeometry(
  op: string,
  xShape: readonly number[],
  kernel: [number, number],
  opts: { stride: Pair; padding: PaddingSpec; dilation: Pair; ceilMode: boolean },
): WindowGeometry {
  const stride = pair(op, "stride", opts.stride, 1);
  const dilation = pair(op, "dilation", opts.dilation, 1);
  const [H, W] = [xShape[2], xShape[3]];
  const pad = resolvePadding(op, opts.padding, H, W, kernel, stride, dilation);
  const spanH = (kernel[0] - 1) * dilation[0] + 1;
  const spanW = (kernel[1] - 1) * dilation[1] + 1;
  const paddedH = H + pad.top + pad.bottom;
  const paddedW = W + pad.left + pad.right;
  if (spanH > paddedH || spanW > paddedW) {
    throw new ShapeError(
      op,
      `kernel ${kernel[0]}x${kernel[1]} (dilated span ${spanH}x${spanW}) is larger than the padded input ` +
        `${paddedH}x${paddedW} (x ${shapeStr(xShape)}, padding [${pad.top}, ${pad.bottom}, ${pad.left}, ${pad.right}])`,
    );
  }
  return {
    kernel,
    stride,
    dilation,
    pad,
    outH: outputSize(H, pad.top, pad.bottom, spanH, stride[0], opts.ceilMode),
    outW: outputSize(W, pad.left, pad.right, spanW, stride[1], opts.ceilMode),
  };
}
