// Integer execution of a power-of-two quantized net (docs/quantization.md §2): int8 image, int8 / int4
// / int2 weights and uint8 / uint4 activations in typed arrays, int32 sums, and requantization by
// shifts only. With s_x = 2^e_x, s_w[o] = 2^e_w[o] and s_y = 2^e_y, unit o's output integer is
//   q = clamp((sum + 2^(n-1)) >> n, 0, outputMax),   n = e_y - e_w[o] - e_x   (n <= 0: sum << -n)
// which is floor(sum * 2^-n + 1/2): the round-half-up of the simulated path (simulated.ts).
import { samePadding } from "../tensor/window.ts";
import { Tensor } from "../tensor/tensor.ts";
import { exponentOf, INPUT_RANGE, type QuantConv, type QuantizedNet } from "./quantized_net.ts";
import { quantizeValue } from "./quantizer.ts";

/** One image's integers, channel-major [C, H, W]. */
export interface IntImage {
  data: Int8Array | Uint8Array | Int16Array;
  channels: number;
  height: number;
  width: number;
}

export interface IntegerResult {
  features: IntImage; // the last unit's output integers
  pooled: Uint8Array; // global average pool, round half up, on the features' grid
  sums: Int32Array; // the classifier's int32 sums (bias included)
  logits: Float32Array; // sums[o] * 2^(e_w[o] + e_x): the one dequantization, at the end
}

/** The image [1, 3, H, W] as signed 8-bit integers on the first conv's input grid. */
export function integerInput(net: QuantizedNet, x: Tensor): IntImage {
  const [, C, H, W] = x.shape;
  const scale = net.units[0].inputScale;
  const data = new Int8Array(x.size);
  for (let i = 0; i < x.size; i++) data[i] = quantizeValue(x.data[i], scale, INPUT_RANGE);
  return { data, channels: C, height: H, width: W };
}

/** Right shift by n with a half-step offset (round half up), or left shift by -n, saturated to [0, max]. */
export function requantize(sum: number, n: number, max: number): number {
  let q: number;
  if (n > 0)
    q = n > 30 ? 0 : (sum + (1 << (n - 1))) >> n; // |sum| < 2^24: no int32 overflow
  else if (sum <= 0) q = 0;
  else if (-n >= 24) q = max;
  else q = sum > max >> -n ? max : sum << -n;
  return q < 0 ? 0 : q > max ? max : q;
}

/** Per output channel shift n[o] = e_y - e_w[o] - e_x. */
function shifts(conv: QuantConv): Int32Array {
  const ex = exponentOf(conv.inputScale, `${conv.name} input`);
  const ey = exponentOf(conv.outputScale, `${conv.name} output`);
  return Int32Array.from(conv.weightScale, (s, o) => ey - exponentOf(s, `${conv.name} weight ${o}`) - ex);
}

function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/** A conv's exact integer sums (bias included), channel-major [O, outH, outW]. */
export function convSums(
  conv: QuantConv,
  x: IntImage,
): { sums: Float64Array; channels: number; height: number; width: number } {
  const [O, Cg, kh, kw] = conv.shape;
  const groups = conv.options.groups ?? 1;
  if (x.channels !== Cg * groups)
    throw new Error(`${conv.name}: input has ${x.channels} channels, expected ${Cg * groups}`);
  const [sh, sw] = pair(conv.options.stride as number | number[] | undefined, 1);
  const padding = conv.options.padding ?? 0;
  let top: number, left: number, outH: number, outW: number;
  if (padding === "same") {
    [top] = samePadding(x.height, kh, sh);
    [left] = samePadding(x.width, kw, sw);
    outH = Math.ceil(x.height / sh);
    outW = Math.ceil(x.width / sw);
  } else if (typeof padding === "number") {
    top = left = padding;
    outH = Math.floor((x.height + 2 * padding - kh) / sh) + 1;
    outW = Math.floor((x.width + 2 * padding - kw) / sw) + 1;
  } else throw new Error(`${conv.name}: the integer path supports "same" or one number as padding`);
  const sums = new Float64Array(O * outH * outW);
  const outPerGroup = O / groups;
  const H = x.height;
  const W = x.width;
  for (let o = 0; o < O; o++) {
    const c0 = Math.floor(o / outPerGroup) * Cg;
    const wBase = o * Cg * kh * kw;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let sum = conv.bias[o];
        for (let c = 0; c < Cg; c++) {
          const xBase = (c0 + c) * H * W;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - top + ky;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - left + kx;
              if (ix < 0 || ix >= W) continue;
              sum += conv.weight[wBase + (c * kh + ky) * kw + kx] * x.data[xBase + iy * W + ix];
            }
          }
        }
        sums[(o * outH + oy) * outW + ox] = sum;
      }
    }
  }
  return { sums, channels: O, height: outH, width: outW };
}

/** conv (int32 sums) + ReLU6 + requantization, on integers. */
export function integerUnit(conv: QuantConv, x: IntImage): IntImage {
  const s = convSums(conv, x);
  const n = shifts(conv);
  const area = s.height * s.width;
  const out = new Uint8Array(s.sums.length);
  for (let o = 0; o < s.channels; o++)
    for (let i = o * area; i < (o + 1) * area; i++) out[i] = requantize(s.sums[i], n[o], conv.outputMax);
  return { data: out, channels: s.channels, height: s.height, width: s.width };
}

/** The whole net on integers: features, pooled features, the classifier's int32 sums, and the logits. */
export function integerForward(net: QuantizedNet, x: Tensor): IntegerResult {
  if (net.scheme !== "pow2") throw new Error(`integer execution needs power-of-two scales (scheme '${net.scheme}')`);
  let y = integerInput(net, x);
  for (const conv of net.units) y = integerUnit(conv, y);
  const area = y.height * y.width;
  const pooled = new Uint8Array(y.channels);
  for (let c = 0; c < y.channels; c++) {
    let s = 0;
    for (let i = c * area; i < (c + 1) * area; i++) s += y.data[i];
    pooled[c] = Math.floor((2 * s + area) / (2 * area)); // round half up of s / area
  }
  const head = net.head;
  const [O, K] = head.shape;
  const sums = new Int32Array(O);
  const logits = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    let sum = head.bias[o];
    for (let k = 0; k < K; k++) sum += head.weight[o * K + k] * pooled[k];
    sums[o] = sum;
    logits[o] = sum * head.weightScale[o] * head.inputScale;
  }
  return { features: y, pooled, sums, logits };
}
