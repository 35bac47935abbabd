// TFLite's integer kernels for asymmetric uint8 / int8 tensors (one image, NHWC with N = 1), from
// TFLite's quantization specification: values q with real = scale * (q - zeroPoint); sums in int32;
// each output requantized by a fixed-point multiplier (fixed_point.ts), offset by the output zero
// point and clamped to the activation range [min, max] (the fused ReLU / ReLU6 are that clamp).
// Quantized values are held in Int32Array (uint8 or int8 range); accumulators are exact in doubles.
//
//   conv2dQuantized       acc = bias[o] + sum (x - xZero) * (w - wZero); out = M_o * acc + outZero
//   depthwiseQuantized    the same per channel (output channel c * depthMultiplier + m reads input c)
//   addQuantized          both inputs scaled to a common 2^-20-step fixed-point scale, summed, rescaled
//   averagePoolQuantized  (sum + count / 2) / count over the window's in-image cells (input and output
//                         share scale and zero point)
// Out-of-image taps (SAME padding) are skipped, which is TFLite's behaviour and equals padding
// with the input zero point.
import { multiplyByQuantizedMultiplier, type QuantizedMultiplier } from "./fixed_point.ts";

export interface QuantizedImage {
  data: Int32Array; // [H, W, C]
  height: number;
  width: number;
  channels: number;
}

export interface Window {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** TFLite's SAME / VALID output size and padding (the odd pad pixel goes to the bottom / right). */
export function tfliteWindow(
  inH: number,
  inW: number,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  padding: "same" | "valid",
): Window {
  const axis = (size: number, k: number, s: number, d: number) => {
    const effective = (k - 1) * d + 1;
    const out = padding === "same" ? Math.ceil(size / s) : Math.floor((size - effective + s) / s);
    const total = Math.max((out - 1) * s + effective - size, 0);
    return { out, before: Math.floor(total / 2) };
  };
  const h = axis(inH, kernel[0], stride[0], dilation[0]);
  const w = axis(inW, kernel[1], stride[1], dilation[1]);
  return {
    kernelH: kernel[0],
    kernelW: kernel[1],
    strideH: stride[0],
    strideW: stride[1],
    dilationH: dilation[0],
    dilationW: dilation[1],
    padTop: h.before,
    padLeft: w.before,
    outH: h.out,
    outW: w.out,
  };
}

export interface QuantizedConv {
  weight: Int32Array; // CONV_2D: [O, kh, kw, C] ; DEPTHWISE: [kh, kw, C * multiplier]; already minus the weight zero point
  bias: Int32Array; // [O]
  outChannels: number;
  inputZero: number;
  outputZero: number;
  requant: QuantizedMultiplier[]; // one per output channel (per-tensor: the same for all)
  min: number; // activation clamp
  max: number;
}

function requantize(acc: number, m: QuantizedMultiplier, conv: QuantizedConv): number {
  const v = multiplyByQuantizedMultiplier(acc, m.multiplier, m.shift) + conv.outputZero;
  return v < conv.min ? conv.min : v > conv.max ? conv.max : v;
}

/** x minus its zero point, once per layer (the inner loops then multiply plain integers). */
function centered(x: QuantizedImage, zero: number): Int32Array {
  const out = new Int32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i] - zero;
  return out;
}

/** CONV_2D: each output pixel's receptive field gathered into one row (zeros where the window leaves
 * the image), then four output channels at a time share each loaded input value (~2x faster than
 * one dot product at a time, measured on the 300 M-MAC MobileNetV2). */
export function conv2dQuantized(x: QuantizedImage, conv: QuantizedConv, win: Window): QuantizedImage {
  const { height: H, width: W, channels: C } = x;
  const { outH, outW, kernelH: KH, kernelW: KW } = win;
  const O = conv.outChannels;
  const K = KH * KW * C;
  const xs = centered(x, conv.inputZero);
  const w = conv.weight; // [O, K]
  const row = new Int32Array(K);
  const acc = new Float64Array(O);
  const out = new Int32Array(outH * outW * O);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      row.fill(0);
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * win.strideH - win.padTop + ky * win.dilationH;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * win.strideW - win.padLeft + kx * win.dilationW;
          if (ix < 0 || ix >= W) continue;
          row.set(xs.subarray((iy * W + ix) * C, (iy * W + ix + 1) * C), (ky * KW + kx) * C);
        }
      }
      dotRows(row, w, K, O, conv.bias, acc);
      const base = (oy * outW + ox) * O;
      for (let o = 0; o < O; o++) out[base + o] = requantize(acc[o], conv.requant[o], conv);
    }
  }
  return { data: out, height: outH, width: outW, channels: O };
}

/** acc[o] = bias[o] + row . w[o] for every output channel o (w: [O, K] row-major). */
function dotRows(row: Int32Array, w: Int32Array, K: number, O: number, bias: Int32Array, acc: Float64Array): void {
  let o = 0;
  for (; o + 4 <= O; o += 4) {
    const w0 = o * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let k = 0; k < K; k++) {
      const v = row[k];
      a0 += v * w[w0 + k];
      a1 += v * w[w1 + k];
      a2 += v * w[w2 + k];
      a3 += v * w[w3 + k];
    }
    acc[o] = bias[o] + a0;
    acc[o + 1] = bias[o + 1] + a1;
    acc[o + 2] = bias[o + 2] + a2;
    acc[o + 3] = bias[o + 3] + a3;
  }
  for (; o < O; o++) {
    let a = 0;
    for (let k = 0; k < K; k++) a += row[k] * w[o * K + k];
    acc[o] = bias[o] + a;
  }
}

/** DEPTHWISE_CONV_2D: per output pixel, each in-image tap adds its channel row (contiguous in NHWC). */
export function depthwiseQuantized(x: QuantizedImage, conv: QuantizedConv, win: Window): QuantizedImage {
  const { height: H, width: W, channels: C } = x;
  const { outH, outW, kernelH: KH, kernelW: KW } = win;
  const O = conv.outChannels;
  const multiplier = O / C;
  const xs = centered(x, conv.inputZero);
  const w = conv.weight; // [kh, kw, O]
  const acc = new Float64Array(O);
  const out = new Int32Array(outH * outW * O);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let o = 0; o < O; o++) acc[o] = conv.bias[o];
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * win.strideH - win.padTop + ky * win.dilationH;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * win.strideW - win.padLeft + kx * win.dilationW;
          if (ix < 0 || ix >= W) continue;
          const xi = (iy * W + ix) * C;
          const wi = (ky * KW + kx) * O;
          if (multiplier === 1) {
            for (let c = 0; c < C; c++) acc[c] += xs[xi + c] * w[wi + c];
          } else {
            for (let o = 0; o < O; o++) acc[o] += xs[xi + Math.floor(o / multiplier)] * w[wi + o];
          }
        }
      }
      const base = (oy * outW + ox) * O;
      for (let o = 0; o < O; o++) out[base + o] = requantize(acc[o], conv.requant[o], conv);
    }
  }
  return { data: out, height: outH, width: outW, channels: O };
}

export interface QuantizedAdd {
  zeroA: number;
  zeroB: number;
  outputZero: number;
  leftShift: number; // 20 for uint8 / int8
  scaleA: QuantizedMultiplier; // scaleA / (2 * max(scaleA, scaleB)), shift <= 0
  scaleB: QuantizedMultiplier;
  output: QuantizedMultiplier; // 2 * max(scaleA, scaleB) / (2^leftShift * outputScale)
  min: number;
  max: number;
}

/** Elementwise a + b of two same-shape quantized tensors (TFLite's ADD, no broadcasting). */
export function addQuantized(a: Int32Array, b: Int32Array, p: QuantizedAdd): Int32Array {
  const out = new Int32Array(a.length);
  const lift = 2 ** p.leftShift;
  for (let i = 0; i < a.length; i++) {
    const sa = multiplyByQuantizedMultiplier((a[i] - p.zeroA) * lift, p.scaleA.multiplier, p.scaleA.shift);
    const sb = multiplyByQuantizedMultiplier((b[i] - p.zeroB) * lift, p.scaleB.multiplier, p.scaleB.shift);
    const v = multiplyByQuantizedMultiplier(sa + sb, p.output.multiplier, p.output.shift) + p.outputZero;
    out[i] = v < p.min ? p.min : v > p.max ? p.max : v;
  }
  return out;
}

/** Average pooling over the in-image cells of each window, rounded half away from zero. */
export function averagePoolQuantized(x: QuantizedImage, win: Window, min: number, max: number): QuantizedImage {
  const { height: H, width: W, channels: C } = x;
  const { outH, outW } = win;
  const out = new Int32Array(outH * outW * C);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const y0 = oy * win.strideH - win.padTop;
      const x0 = ox * win.strideW - win.padLeft;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        let count = 0;
        for (let iy = Math.max(0, y0); iy < Math.min(H, y0 + win.kernelH); iy++) {
          for (let ix = Math.max(0, x0); ix < Math.min(W, x0 + win.kernelW); ix++) {
            acc += x.data[(iy * W + ix) * C + c];
            count++;
          }
        }
        const half = Math.floor(count / 2);
        const v = count === 0 ? 0 : Math.trunc(acc >= 0 ? (acc + half) / count : (acc - half) / count);
        out[(oy * outW + ox) * C + c] = v < min ? min : v > max ? max : v;
      }
    }
  }
  return { data: out, height: outH, width: outW, channels: C };
}
