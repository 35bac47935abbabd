// A quantized model folder (docs/quantization.md §6): the float model's config.json with a
// `quantization` section (scheme, bits, every conv's geometry and scales), and model.safetensors
// holding each conv's integer weights `<name>.qweight` and integer bias `<name>.qbias` (stored as
// float32, which holds them exactly: weights are 2..8-bit, biases below 2^22). Loading checks every
// field and every integer before building the net, and names the field or tensor that is wrong.
import type { Conv2dOptions } from "../tensor/conv.ts";
import type { ModelFile } from "../models/registry.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  EXACT_SUM_LIMIT,
  FIRST_LAST_BITS,
  INPUT_RANGE,
  type QuantConv,
  type QuantizedNet,
  type Scheme,
} from "./quantized_net.ts";
import { MIN_EXPONENT, signedRange, unsignedRange, type IntRange } from "./quantizer.ts";

export const QUANT_FORMAT = "papr-ts-quant/1";

export interface ConvEntry {
  name: string;
  shape: number[];
  stride: number;
  padding: "same" | number;
  groups: number;
  weightBits: number;
  weightScale: number[];
  inputScale: number;
  outputScale: number;
  outputMax: number;
}

/** What every quantized folder's config.json section says first (MobileNetV1 chain or MobileNetV3 graph). */
export interface QuantizationHeader {
  format: typeof QUANT_FORMAT;
  scheme: Scheme;
  method: string;
  weightBits: number;
  activationBits: number;
  imageSize: number;
  calibration: { images: number; source: string };
}

export interface QuantizationSection extends QuantizationHeader {
  units: ConvEntry[];
  head: ConvEntry;
}

export type QuantizedModelFile = ModelFile & { quantization: QuantizationSection };

export function entry(conv: QuantConv, weightBits: number): ConvEntry {
  const stride = conv.options.stride ?? 1;
  return {
    name: conv.name,
    shape: conv.shape,
    stride: typeof stride === "number" ? stride : stride[0],
    padding: (conv.options.padding ?? 0) as "same" | number,
    groups: conv.options.groups ?? 1,
    weightBits,
    weightScale: [...conv.weightScale],
    inputScale: conv.inputScale,
    outputScale: conv.outputScale,
    outputMax: conv.outputMax,
  };
}

/** Each conv's integer weights and bias as float32 tensors (exact): `<name>.qweight`, `<name>.qbias`. */
export function convTensors(
  convs: { name: string; weight: ArrayLike<number>; bias: ArrayLike<number>; shape: number[] }[],
): Map<string, Tensor> {
  const weights = new Map<string, Tensor>();
  for (const conv of convs) {
    weights.set(`${conv.name}.qweight`, new Tensor(Float32Array.from(conv.weight), conv.shape));
    weights.set(`${conv.name}.qbias`, new Tensor(Float32Array.from(conv.bias), [conv.shape[0]]));
  }
  return weights;
}

/** The section's common fields, from a quantized net (MobileNetV1 chain or MobileNetV3 graph). */
export function quantizationHeader(
  net: { scheme: Scheme; weightBits: number; activationBits: number; imageSize: number },
  method: string,
  calibration: { images: number; source: string },
): QuantizationHeader {
  const { scheme, weightBits, activationBits, imageSize } = net;
  return { format: QUANT_FORMAT, scheme, method, weightBits, activationBits, imageSize, calibration };
}

/** config.json and the tensors of a quantized net. */
export function quantizedModelFile(
  base: ModelFile,
  net: QuantizedNet,
  method: string,
  calibration: { images: number; source: string },
): { file: QuantizedModelFile; weights: Map<string, Tensor> } {
  const weights = convTensors([...net.units, net.head]);
  const quantization: QuantizationSection = {
    ...quantizationHeader(net, method, calibration),
    units: net.units.map((u, l) => entry(u, l === 0 ? FIRST_LAST_BITS : net.weightBits)),
    head: entry(net.head, FIRST_LAST_BITS),
  };
  return { file: { ...base, quantization }, weights };
}

const isPositiveFinite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

export function convFrom(
  e: ConvEntry,
  where: string,
  weights: Map<string, Tensor>,
  scheme: Scheme,
  inputRange: IntRange,
  activationBits: number,
  outputTop = unsignedRange(activationBits).hi,
): QuantConv {
  const fail = (m: string): never => {
    throw new Error(`${where}: ${m}`);
  };
  if (typeof e !== "object" || e === null) fail("not an object");
  if (typeof e.name !== "string" || !/^[A-Za-z0-9_.]+$/.test(e.name))
    fail(`name ${JSON.stringify(e.name)} is not a layer name`);
  if (
    !Array.isArray(e.shape) ||
    e.shape.length !== 4 ||
    !e.shape.every((d) => Number.isInteger(d) && d > 0 && d <= 65536)
  )
    fail(`shape ${JSON.stringify(e.shape)} is not [O, C/groups, kh, kw] of positive integers`);
  if (!Number.isInteger(e.stride) || e.stride < 1 || e.stride > 8) fail(`stride ${JSON.stringify(e.stride)}`);
  if (e.padding !== "same" && !(Number.isInteger(e.padding) && e.padding >= 0 && e.padding < 16))
    fail(`padding ${JSON.stringify(e.padding)} is neither "same" nor a small integer`);
  if (!Number.isInteger(e.groups) || e.groups < 1 || e.shape[0] % e.groups !== 0)
    fail(`groups ${JSON.stringify(e.groups)}`);
  if (!Number.isInteger(e.weightBits) || e.weightBits < 2 || e.weightBits > 8)
    fail(`weightBits ${JSON.stringify(e.weightBits)}`);
  const O = e.shape[0];
  if (!Array.isArray(e.weightScale) || e.weightScale.length !== O || !e.weightScale.every(isPositiveFinite))
    fail(`weightScale must be ${O} positive numbers`);
  for (const [key, v] of [
    ["inputScale", e.inputScale],
    ["outputScale", e.outputScale],
  ] as const)
    if (!isPositiveFinite(v)) fail(`${key} ${JSON.stringify(v)} is not a positive number`);
  for (const s of [...e.weightScale, e.inputScale, e.outputScale]) {
    if (scheme === "pow2" && !Number.isInteger(Math.log2(s))) fail(`scale ${s} is not a power of two (scheme pow2)`);
    // grid values q * s and sums must stay normal float32 numbers (2^-40 .. 2^20 leaves room both ways)
    if (s < 2 ** MIN_EXPONENT || s > 2 ** 20) fail(`scale ${s} is outside [2^${MIN_EXPONENT}, 2^20]`);
  }
  const top = outputTop;
  if (!Number.isInteger(e.outputMax) || e.outputMax < 0 || e.outputMax > top)
    fail(`outputMax ${JSON.stringify(e.outputMax)} is not an integer in [0, ${top}]`);
  const qweight = weights.get(`${e.name}.qweight`);
  const qbias = weights.get(`${e.name}.qbias`);
  if (!qweight) fail(`model.safetensors has no tensor '${e.name}.qweight'`);
  if (!qbias) fail(`model.safetensors has no tensor '${e.name}.qbias'`);
  if (qweight!.shape.join() !== e.shape.join())
    fail(`'${e.name}.qweight' has shape [${qweight!.shape}], config says [${e.shape}]`);
  if (qbias!.shape.join() !== String(O)) fail(`'${e.name}.qbias' has shape [${qbias!.shape}], expected [${O}]`);
  const range = signedRange(e.weightBits);
  const weight = new Int8Array(qweight!.size);
  qweight!.data.forEach((v, i) => {
    if (!Number.isInteger(v) || v < range.lo || v > range.hi)
      fail(`'${e.name}.qweight' element ${i} is ${v}, not an integer in [${range.lo}, ${range.hi}]`);
    weight[i] = v;
  });
  const bias = new Int32Array(O);
  const inputMax = Math.max(-inputRange.lo, inputRange.hi);
  const per = weight.length / O;
  qbias!.data.forEach((v, o) => {
    if (!Number.isInteger(v)) fail(`'${e.name}.qbias' element ${o} is ${v}, not an integer`);
    let sum = Math.abs(v);
    for (let i = o * per; i < (o + 1) * per; i++) sum += Math.abs(weight[i]) * inputMax;
    if (sum >= EXACT_SUM_LIMIT) fail(`channel ${o} can sum to ${sum} grid units, over 2^24`);
    bias[o] = v;
  });
  const options: Conv2dOptions = { stride: e.stride, padding: e.padding, groups: e.groups };
  return {
    name: e.name,
    shape: [...e.shape],
    options,
    weight,
    weightScale: Float64Array.from(e.weightScale),
    bias,
    inputScale: e.inputScale,
    inputRange,
    outputScale: e.outputScale,
    outputMax: e.outputMax,
  };
}

/** The quantized net of a model folder's config.json section and tensors (everything checked). */
export function quantizedNetFrom(q: QuantizationSection, weights: Map<string, Tensor>): QuantizedNet {
  const where = "config.json quantization";
  if (typeof q !== "object" || q === null) throw new Error(`${where}: not an object`);
  if (q.format !== QUANT_FORMAT)
    throw new Error(`${where}: format ${JSON.stringify(q.format)} is not '${QUANT_FORMAT}'`);
  if (q.scheme !== "pow2" && q.scheme !== "uniform") throw new Error(`${where}: scheme ${JSON.stringify(q.scheme)}`);
  for (const key of ["weightBits", "activationBits"] as const)
    if (!Number.isInteger(q[key]) || q[key] < 2 || q[key] > 8)
      throw new Error(`${where}: ${key} ${JSON.stringify(q[key])}`);
  if (!Number.isInteger(q.imageSize) || q.imageSize < 8 || q.imageSize > 4096)
    throw new Error(`${where}: imageSize ${JSON.stringify(q.imageSize)}`);
  if (!Array.isArray(q.units) || q.units.length === 0 || q.units.length > 1000)
    throw new Error(`${where}: units must be a non-empty list`);
  const act = unsignedRange(q.activationBits);
  const units = q.units.map((e, l) =>
    convFrom(e, `${where}.units[${l}]`, weights, q.scheme, l === 0 ? INPUT_RANGE : act, q.activationBits),
  );
  units.forEach((u, l) => {
    if (l === 0) {
      if (u.shape[1] * (u.options.groups ?? 1) !== 3)
        throw new Error(`${where}.units[0]: the first conv must read 3 channels`);
      return;
    }
    const prev = units[l - 1];
    if (u.shape[1] * (u.options.groups ?? 1) !== prev.shape[0])
      throw new Error(
        `${where}.units[${l}] (${u.name}): reads ${u.shape[1] * (u.options.groups ?? 1)} channels, ${prev.name} gives ${prev.shape[0]}`,
      );
    if (u.inputScale !== prev.outputScale)
      throw new Error(
        `${where}.units[${l}] (${u.name}): inputScale ${u.inputScale} differs from ${prev.name}'s outputScale ${prev.outputScale}`,
      );
  });
  const head = convFrom(q.head, `${where}.head`, weights, q.scheme, act, FIRST_LAST_BITS);
  const last = units[units.length - 1];
  if (head.shape[1] !== last.shape[0] || head.shape[2] !== 1 || head.shape[3] !== 1 || (head.options.groups ?? 1) !== 1)
    throw new Error(`${where}.head: shape [${head.shape}] is not [classes, ${last.shape[0]}, 1, 1]`);
  if (head.inputScale !== last.outputScale)
    throw new Error(
      `${where}.head: inputScale ${head.inputScale} differs from ${last.name}'s outputScale ${last.outputScale}`,
    );
  return {
    scheme: q.scheme,
    weightBits: q.weightBits,
    activationBits: q.activationBits,
    imageSize: q.imageSize,
    units,
    head,
  };
}
