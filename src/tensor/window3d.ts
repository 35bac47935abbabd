// Sliding-window geometry over [N, C, T, H, W] clips, shared by conv3d and the 3-D pools:
// (t, h, w) triples for kernel / stride / padding and the output size per axis (floor mode,
// symmetric zero padding, as torch's Conv3d / MaxPool3d / AvgPool3d).
//
// Along one axis of size `size`, output i reads inputs i * stride - pad .. i * stride - pad + kernel - 1;
// out = floor((size + 2 * pad - kernel) / stride) + 1.
import { ShapeError, shapeStr } from "./tensor.ts";

export type Triple = number | readonly [number, number, number];

export interface Window3dGeometry {
  kernel: [number, number, number]; // [kt, kh, kw]
  stride: [number, number, number];
  pad: [number, number, number]; // the same before and after along each axis
  outT: number;
  outH: number;
  outW: number;
}

/** A number or [t, h, w] as [t, h, w], each an integer >= `min`; otherwise a ShapeError naming `op` and `name`. */
export function triple(op: string, name: string, value: Triple, min: number): [number, number, number] {
  const thw =
    typeof value === "number" ? [value, value, value] : Array.isArray(value) && value.length === 3 ? value : null;
  if (thw === null || !thw.every((v) => Number.isInteger(v) && v >= min)) {
    throw new ShapeError(
      op,
      `${name} must be an integer >= ${min} or a triple [t, h, w] of them, got ${JSON.stringify(value)}`,
    );
  }
  return [thw[0], thw[1], thw[2]];
}

/**
 * Everything a 3-D sliding-window kernel needs for x[N, C, T, H, W]. Throws a ShapeError naming `op`
 * when a spec is bad or the kernel is larger than the padded input along some axis.
 */
export function window3dGeometry(
  op: string,
  xShape: readonly number[],
  kernel: [number, number, number],
  opts: { stride: Triple; padding: Triple },
): Window3dGeometry {
  const stride = triple(op, "stride", opts.stride, 1);
  const pad = triple(op, "padding", opts.padding, 0);
  const size = [xShape[2], xShape[3], xShape[4]];
  const padded = size.map((s, i) => s + 2 * pad[i]);
  if (kernel.some((k, i) => k > padded[i])) {
    throw new ShapeError(
      op,
      `kernel ${kernel.join("x")} is larger than the padded input ${padded.join("x")} ` +
        `(x ${shapeStr(xShape)}, padding [${pad.join(", ")}])`,
    );
  }
  const out = padded.map((p, i) => Math.floor((p - kernel[i]) / stride[i]) + 1);
  return { kernel, stride, pad, outT: out[0], outH: out[1], outW: out[2] };
}
