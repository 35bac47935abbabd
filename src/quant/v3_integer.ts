// Integer execution of the power-of-two quantized MobileNetV3 (docs/quantization.md §10): int8 image,
// int8 / int4 / int2 weights, activations as small integers in typed arrays, exact integer sums, and
// every rescale between power-of-two grids a shift (v3_activations.ts intActivation; the constant 1/6 of
// hard-sigmoid / hardswish a fixed-point multiply then a shift). The SE: the pooled mean is an integer
// division rounded half up, floor((2S + HW) / (2HW)) (TFLite uses a fixed-point multiply for 1/HW;
// a division is exact and as cheap here), the channel product x * gate (grids 2^e_x and 2^-A) shifted
// onto the SE output's grid. The residual: both operands shifted onto the finer of their two grids,
// added, and the sum shifted onto the output's grid.
import type { Tensor } from "../tensor/tensor.ts";
import { convSums, type IntImage } from "./integer.ts";
import { exponentOf, INPUT_RANGE } from "./quantized_net.ts";
import { quantizeValue, type IntRange } from "./quantizer.ts";
import { intActivation, shiftRound } from "./v3_activations.ts";
import type { QuantV3Block, QuantV3Conv, QuantV3Net } from "./v3_net.ts";

/** A typed array that holds the integers of `range` (int8 / uint8 where they fit). */
export function intStore(range: IntRange, n: number): Int8Array | Uint8Array | Int16Array {
  if (range.lo >= -128 && range.hi <= 127) return new Int8Array(n);
  if (range.lo >= 0 && range.hi <= 255) return new Uint8Array(n);
  return new Int16Array(n);
}

const clamp = (q: number, r: IntRange) => (q < r.lo ? r.lo : q > r.hi ? r.hi : q);

/** conv + activation + requantization on integers. */
export function integerV3Conv(conv: QuantV3Conv, x: IntImage): IntImage {
  const s = convSums(conv, x);
  const ex = exponentOf(conv.inputScale, `${conv.name} input`);
  const ey = exponentOf(conv.outputScale, `${conv.name} output`);
  const area = s.height * s.width;
  const out = intStore(conv.outputRange, s.sums.length);
  for (let o = 0; o < s.channels; o++) {
    const a = exponentOf(conv.weightScale[o], `${conv.name} weight ${o}`) + ex;
    for (let i = o * area; i < (o + 1) * area; i++)
      out[i] = intActivation(s.sums[i], a, ey, conv.act, conv.outputRange);
  }
  return { data: out, channels: s.channels, height: s.height, width: s.width };
}

/** Global average pool, round half up, on the same grid: [C, 1, 1]. */
export function integerPool(x: IntImage, range: IntRange): IntImage {
  const area = x.height * x.width;
  const out = intStore(range, x.channels);
  for (let c = 0; c < x.channels; c++) {
    let s = 0;
    for (let i = c * area; i < (c + 1) * area; i++) s += x.data[i];
    out[c] = Math.floor((2 * s + area) / (2 * area));
  }
  return { data: out, channels: x.channels, height: 1, width: 1 };
}

export function integerV3Block(b: QuantV3Block, x: IntImage): IntImage {
  let h = x;
  if (b.expand) h = integerV3Conv(b.expand, h);
  if (b.depthwise) h = integerV3Conv(b.depthwise, h);
  if (b.se) {
    const { reduce, expand, outputScale, outputRange } = b.se;
    const gate = integerV3Conv(expand, integerV3Conv(reduce, integerPool(h, reduce.inputRange)));
    const n =
      exponentOf(outputScale, `${b.plan.name}.se output`) - exponentOf(reduce.inputScale, `${b.plan.name}.se input`);
    const gateExponent = exponentOf(expand.outputScale, `${expand.name} output`);
    const area = h.height * h.width;
    const out = intStore(outputRange, h.data.length);
    for (let i = 0; i < out.length; i++)
      out[i] = clamp(shiftRound(h.data[i] * gate.data[Math.floor(i / area)], n - gateExponent), outputRange);
    h = { ...h, data: out };
  }
  const y = integerV3Conv(b.project, h);
  if (!b.add) return y;
  const ex = exponentOf(blockInputScale(b), `${b.plan.name} input`);
  const eh = exponentOf(b.project.outputScale, `${b.project.name} output`);
  const e = Math.min(ex, eh);
  const ey = exponentOf(b.add.outputScale, `${b.plan.name}.add output`);
  const out = intStore(b.add.outputRange, y.data.length);
  for (let i = 0; i < out.length; i++)
    out[i] = clamp(shiftRound(x.data[i] * 2 ** (ex - e) + y.data[i] * 2 ** (eh - e), ey - e), b.add.outputRange);
  return { ...y, data: out };
}

/** The grid of a block's input: its first conv's input scale. */
export function blockInputScale(b: QuantV3Block): number {
  return (b.expand ?? b.depthwise ?? b.project).inputScale;
}

export interface IntegerV3Result {
  features: IntImage; // the last block's output integers
  sums: Float64Array; // the classifier's integer sums (bias included)
  logits: Float32Array; // sums[o] * 2^(e_w[o] + e_x): the one dequantization, at the end
}

/** The image [1, 3, H, W] as signed 8-bit integers on the stem's input grid. */
export function integerV3Input(net: QuantV3Net, x: Tensor): IntImage {
  const [, C, H, W] = x.shape;
  const data = new Int8Array(x.size);
  for (let i = 0; i < x.size; i++) data[i] = quantizeValue(x.data[i], net.inputScale, INPUT_RANGE);
  return { data, channels: C, height: H, width: W };
}

export function integerV3Forward(net: QuantV3Net, x: Tensor): IntegerV3Result {
  if (net.scheme !== "pow2") throw new Error(`integer execution needs power-of-two scales (scheme '${net.scheme}')`);
  let h = integerV3Conv(net.stem, integerV3Input(net, x));
  for (const b of net.blocks) h = integerV3Block(b, h);
  const hidden = integerV3Conv(net.convHead, integerPool(h, net.convHead.inputRange));
  const c = net.classifier;
  const { sums } = convSums(c, hidden);
  const logits = Float32Array.from(sums, (s, o) => s * c.weightScale[o] * c.inputScale);
  return { features: h, sums, logits };
}
