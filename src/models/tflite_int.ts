// A TFLite model run with TFLite's own integer arithmetic (src/tensor/quantized.ts, fixed_point.ts):
// the operators of a quantized MobileNet-style graph, in the file's order, on uint8 / int8 tensors.
//
//   prepare (once):  every operator checked (types, shapes, quantization); weights centered on their
//                    zero point; per output channel, M = inputScale * filterScale / outputScale as
//                    (multiplier, shift); activation clamp = fused activation quantized with the
//                    output's scale and zero point (ReLU6: [max(qmin, z), min(qmax, z + round(6 / s))])
//   run (per image): CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D, RESHAPE in integers
//
// The graph's final SOFTMAX is not run in integers: `run` returns its quantized input (the logits,
// uint8 for this model) and their dequantized values; probabilities are a float softmax of those.
// (TFLite's uint8 softmax, a fixed-point exp, outputs 1/256 steps; its ranking is the logits'.)
//
// The scales' arithmetic follows TFLite: float32 scales widened to double, products and quotients in
// double, then quantizeMultiplier. Tensor data layout: NHWC, batch 1.
import { quantizeMultiplier, roundHalfAway, type QuantizedMultiplier } from "../tensor/fixed_point.ts";
import {
  addQuantized,
  averagePoolQuantized,
  conv2dQuantized,
  depthwiseQuantized,
  tfliteWindow,
  type QuantizedAdd,
  type QuantizedConv,
  type QuantizedImage,
  type Window,
} from "../tensor/quantized.ts";
import { addMacs } from "../tensor/mac_counter.ts";
import { quote } from "../tensor/quote.ts";
import { Tensor, expectShape } from "../tensor/tensor.ts";
import {
  TfliteError,
  tensorValues,
  type AddOptions,
  type ConvOptions,
  type FusedActivation,
  type PoolOptions,
  type TfliteModel,
  type TfliteOperator,
  type TfliteTensor,
} from "./load/tflite.ts";

type Step =
  | { kind: "conv" | "depthwise"; input: number; output: number; conv: QuantizedConv; window: Window; macs: number }
  | { kind: "add"; a: number; b: number; output: number; add: QuantizedAdd }
  | { kind: "pool"; input: number; output: number; window: Window; min: number; max: number }
  | { kind: "reshape"; input: number; output: number };

export interface IntegerRun {
  /** The quantized logits (the final SOFTMAX's input), e.g. [1001] uint8 values. */
  logits: Int32Array;
  /** scale * (logits - zeroPoint). */
  dequantized: Float32Array;
  /** Every tensor the run computed, by tensor index (NHWC quantized values). */
  tensors: Map<number, Int32Array>;
}

export interface IntegerModel {
  model: TfliteModel;
  input: TfliteTensor; // [1, H, W, 3]
  logits: TfliteTensor;
  /** The tensor PaPr reads its significance from: the last conv's output before the pooling. */
  features: TfliteTensor;
  /** Integer multiply-accumulates of one image (convolutions only; ADD / pooling are elementwise). */
  macs: number;
  /** The part of `macs` spent after the features tensor (the classifier). */
  classifierMacs: number;
  /** Runs the graph on quantized pixels [H, W, 3]; with `until` (a tensor index), stops once it is computed. */
  run(input: Int32Array, until?: number): IntegerRun;
}

const RANGE = { uint8: [0, 255], int8: [-128, 127] } as const;

/** Checks and prepares every operator of a quantized TFLite graph for integer execution. */
export function prepareIntegerModel(model: TfliteModel): IntegerModel {
  const fail = (message: string): never => {
    throw new TfliteError(model.source, message);
  };
  const tensor = (op: TfliteOperator, slot: number, role: string): TfliteTensor => {
    const index = op.inputs[slot];
    if (index === undefined || index < 0) fail(`operator ${op.index} (${op.opcode}): no ${role} input`);
    return model.tensors[index];
  };
  const where = (op: TfliteOperator, t: TfliteTensor) =>
    `operator ${op.index} (${op.opcode}) tensor ${quote(t.name, 60)}`;
  const quantized = (op: TfliteOperator, t: TfliteTensor) => {
    if (t.type !== "uint8" && t.type !== "int8") fail(`${where(op, t)}: type ${t.type}, expected uint8 or int8`);
    const q = t.quantization ?? fail(`${where(op, t)}: no quantization parameters`);
    if (q.scale.length !== 1) fail(`${where(op, t)}: per-channel quantization of an activation`);
    const range = RANGE[t.type as "uint8" | "int8"];
    const zero = q.zeroPoint[0];
    if (!(zero >= range[0] && zero <= range[1])) fail(`${where(op, t)}: zero point ${zero} outside [${range}]`);
    return { scale: q.scale[0], zero, range };
  };
  // x * 2^shift must stay an int32 for every accumulator x the operator can produce (in C++ an
  // overflow there is undefined behaviour): checked once here, so a run never meets it
  const requantizer = (op: TfliteOperator, real: number, maxAccumulator: number): QuantizedMultiplier => {
    const m = quantizeMultiplier(real);
    if (maxAccumulator * 2 ** Math.max(m.shift, 0) > 2 ** 31 - 1)
      fail(
        `operator ${op.index} (${op.opcode}): requantization multiplier ${real} overflows int32 on accumulators up to ${maxAccumulator}`,
      );
    return m;
  };
  const clamp = (op: TfliteOperator, out: TfliteTensor, activation: FusedActivation) => {
    const { scale, zero, range } = quantized(op, out);
    const q = (f: number) => zero + roundHalfAway(Math.fround(f / scale));
    if (activation === "none") return { min: range[0], max: range[1] };
    if (activation === "relu") return { min: Math.max(range[0], q(0)), max: range[1] };
    if (activation === "relu6") return { min: Math.max(range[0], q(0)), max: Math.min(range[1], q(6)) };
    if (activation === "relu_n1_to_1") return { min: Math.max(range[0], q(-1)), max: Math.min(range[1], q(1)) };
    return fail(`operator ${op.index} (${op.opcode}): fused activation ${activation} is not supported`);
  };
  const output = (op: TfliteOperator) => {
    if (op.outputs.length !== 1) fail(`operator ${op.index} (${op.opcode}): ${op.outputs.length} outputs, expected 1`);
    return model.tensors[op.outputs[0]];
  };
  const image = (op: TfliteOperator, t: TfliteTensor) => {
    if (t.shape.length !== 4 || t.shape[0] !== 1) fail(`${where(op, t)}: shape [${t.shape}], expected [1, H, W, C]`);
    return t.shape;
  };

  if (model.inputs.length !== 1) fail(`${model.inputs.length} graph inputs, expected 1 image`);
  const input = model.tensors[model.inputs[0]];
  if (input.shape.length !== 4 || input.shape[0] !== 1 || input.shape[3] !== 3)
    fail(`input ${quote(input.name, 60)}: shape [${input.shape}], expected [1, H, W, 3]`);

  const steps: Step[] = [];
  let logits: TfliteTensor | null = null;
  let features: TfliteTensor | null = null;
  let lastConvOutput: TfliteTensor | null = null;
  let macs = 0;
  for (const op of model.operators) {
    if (logits) fail(`operator ${op.index} (${op.opcode}) follows the SOFTMAX; only a final SOFTMAX is supported`);
    switch (op.opcode) {
      case "CONV_2D":
      case "DEPTHWISE_CONV_2D": {
        const o = op.options as ConvOptions;
        const depthwise = op.opcode === "DEPTHWISE_CONV_2D";
        const x = tensor(op, 0, "input");
        const w = tensor(op, 1, "filter");
        const b = tensor(op, 2, "bias");
        const out = output(op);
        const [, H, W, C] = image(op, x);
        const [, OH, OW, O] = image(op, out);
        const xq = quantized(op, x);
        const outq = quantized(op, out);
        if (w.type !== x.type) fail(`${where(op, w)}: filter type ${w.type} differs from the input's ${x.type}`);
        const wq = w.quantization ?? fail(`${where(op, w)}: no quantization parameters`);
        if (w.shape.length !== 4) fail(`${where(op, w)}: filter shape [${w.shape}], expected rank 4`);
        const [kh, kw] = [w.shape[1], w.shape[2]];
        const expected = depthwise ? [1, kh, kw, O] : [O, kh, kw, C];
        if (w.shape.join() !== expected.join())
          fail(`${where(op, w)}: filter shape [${w.shape}], expected [${expected}]`);
        if (depthwise && O !== C * o.depthMultiplier)
          fail(`${where(op, out)}: ${O} channels, expected ${C} x depth_multiplier ${o.depthMultiplier}`);
        if (b.type !== "int32" || b.shape.join() !== String(O)) fail(`${where(op, b)}: bias must be int32 [${O}]`);
        if (new Set(wq.zeroPoint).size !== 1) fail(`${where(op, w)}: per-channel zero points are not supported`);
        const window = tfliteWindow(H, W, [kh, kw], [o.strideH, o.strideW], [o.dilationH, o.dilationW], o.padding);
        if (window.outH !== OH || window.outW !== OW)
          fail(`${where(op, out)}: shape [${out.shape}], the ${o.padding} window gives ${window.outH}x${window.outW}`);
        const weight = Int32Array.from(tensorValues(model, w));
        for (let i = 0; i < weight.length; i++) weight[i] -= wq.zeroPoint[0];
        const wRange = RANGE[w.type as "uint8" | "int8"];
        if (!(wq.zeroPoint[0] >= wRange[0] && wq.zeroPoint[0] <= wRange[1]))
          fail(`${where(op, w)}: zero point ${wq.zeroPoint[0]} outside [${wRange}]`);
        const bias = Int32Array.from(tensorValues(model, b));
        const maxProducts = kh * kw * (depthwise ? 1 : C) * 255 * 255;
        const requant: QuantizedMultiplier[] = [];
        for (let c = 0; c < O; c++) {
          const filterScale = wq.scale.length === 1 ? wq.scale[0] : wq.scale[c];
          requant.push(requantizer(op, (xq.scale * filterScale) / outq.scale, Math.abs(bias[c]) + maxProducts));
        }
        const conv: QuantizedConv = {
          weight,
          bias,
          outChannels: O,
          inputZero: xq.zero,
          outputZero: outq.zero,
          requant,
          ...clamp(op, out, o.activation),
        };
        const opMacs = OH * OW * O * kh * kw * (depthwise ? 1 : C);
        macs += opMacs;
        steps.push({
          kind: depthwise ? "depthwise" : "conv",
          input: x.index,
          output: out.index,
          conv,
          window,
          macs: opMacs,
        });
        lastConvOutput = out;
        break;
      }
      case "ADD": {
        const o = op.options as AddOptions;
        const a = tensor(op, 0, "first");
        const b = tensor(op, 1, "second");
        const out = output(op);
        if (a.shape.join() !== b.shape.join() || a.shape.join() !== out.shape.join())
          fail(`operator ${op.index} (ADD): shapes [${a.shape}] + [${b.shape}] -> [${out.shape}] (no broadcasting)`);
        const [aq, bq, outq] = [quantized(op, a), quantized(op, b), quantized(op, out)];
        const leftShift = 20;
        const twiceMax = 2 * Math.max(aq.scale, bq.scale);
        const add: QuantizedAdd = {
          zeroA: aq.zero,
          zeroB: bq.zero,
          outputZero: outq.zero,
          leftShift,
          scaleA: requantizer(op, aq.scale / twiceMax, 255 * 2 ** leftShift),
          scaleB: requantizer(op, bq.scale / twiceMax, 255 * 2 ** leftShift),
          output: requantizer(op, twiceMax / (2 ** leftShift * outq.scale), 255 * 2 ** leftShift), // |scaled a + scaled b| <= 255 * 2^19 * 2
          ...clamp(op, out, o.activation),
        };
        steps.push({ kind: "add", a: a.index, b: b.index, output: out.index, add });
        break;
      }
      case "AVERAGE_POOL_2D": {
        const o = op.options as PoolOptions;
        const x = tensor(op, 0, "input");
        const out = output(op);
        const [, H, W, C] = image(op, x);
        const [, OH, OW, OC] = image(op, out);
        const [xq, outq] = [quantized(op, x), quantized(op, out)];
        if (xq.scale !== outq.scale || xq.zero !== outq.zero)
          fail(`operator ${op.index} (AVERAGE_POOL_2D): input and output quantization differ`);
        const window = tfliteWindow(H, W, [o.filterH, o.filterW], [o.strideH, o.strideW], [1, 1], o.padding);
        if (window.outH !== OH || window.outW !== OW || OC !== C)
          fail(
            `${where(op, out)}: shape [${out.shape}], the pooling window gives [1, ${window.outH}, ${window.outW}, ${C}]`,
          );
        steps.push({ kind: "pool", input: x.index, output: out.index, window, ...clamp(op, out, o.activation) });
        features = lastConvOutput;
        break;
      }
      case "RESHAPE": {
        const x = tensor(op, 0, "input");
        const out = output(op);
        const [xq, outq] = [quantized(op, x), quantized(op, out)];
        if (xq.scale !== outq.scale || xq.zero !== outq.zero)
          fail(`operator ${op.index} (RESHAPE): input and output quantization differ`);
        const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
        if (count(x.shape) !== count(out.shape))
          fail(`operator ${op.index} (RESHAPE): [${x.shape}] -> [${out.shape}] changes the element count`);
        steps.push({ kind: "reshape", input: x.index, output: out.index });
        break;
      }
      case "SOFTMAX": {
        if (!model.outputs.includes(output(op).index))
          fail(`operator ${op.index} (SOFTMAX): only a final softmax is supported`);
        logits = tensor(op, 0, "logits");
        quantized(op, logits);
        break;
      }
      default:
        fail(`operator ${op.index}: ${op.opcode} is not supported by the integer path`);
    }
  }
  if (!logits) {
    // no softmax: the graph's output is the logits
    if (model.outputs.length !== 1) fail(`${model.outputs.length} graph outputs, expected 1`);
    logits = model.tensors[model.outputs[0]];
  }
  const logitsTensor: TfliteTensor = logits;
  const featuresTensor: TfliteTensor = features ?? lastConvOutput ?? fail("the graph has no convolution");
  const [H, W] = [input.shape[1], input.shape[2]];
  const inputQ = quantized(model.operators[0], input);

  function run(pixels: Int32Array, until?: number): IntegerRun {
    if (pixels.length !== H * W * 3) fail(`run: input has ${pixels.length} values, expected ${H}x${W}x3`);
    for (let i = 0; i < pixels.length; i++)
      if (!(pixels[i] >= inputQ.range[0] && pixels[i] <= inputQ.range[1]))
        fail(`run: input value ${pixels[i]} at ${i} is outside [${inputQ.range}]`);
    const values = new Map<number, Int32Array>([[input.index, pixels]]);
    const imageOf = (index: number): QuantizedImage => {
      const [, h, w, c] = model.tensors[index].shape;
      return { data: values.get(index)!, height: h, width: w, channels: c };
    };
    const get = (index: number): Int32Array =>
      values.get(index) ?? fail(`run: tensor ${index} is read before any operator computes it`);
    for (const s of steps) {
      if (s.kind === "conv" || s.kind === "depthwise") {
        get(s.input);
        const kernel = s.kind === "conv" ? conv2dQuantized : depthwiseQuantized;
        values.set(s.output, kernel(imageOf(s.input), s.conv, s.window).data);
      } else if (s.kind === "add") {
        values.set(s.output, addQuantized(get(s.a), get(s.b), s.add));
      } else if (s.kind === "pool") {
        get(s.input);
        values.set(s.output, averagePoolQuantized(imageOf(s.input), s.window, s.min, s.max).data);
      } else {
        values.set(s.output, get(s.input));
      }
      if (s.output === until) return { logits: new Int32Array(0), dequantized: new Float32Array(0), tensors: values };
    }
    const out = get(logitsTensor.index);
    const q = logitsTensor.quantization!;
    const dequantized = Float32Array.from(out, (v) => q.scale[0] * (v - q.zeroPoint[0]));
    return { logits: out, dequantized, tensors: values };
  }

  let after = 0;
  let seen = false;
  for (const s of steps) {
    if (seen && (s.kind === "conv" || s.kind === "depthwise")) after += s.macs;
    if (s.output === featuresTensor.index) seen = true;
  }
  return { model, input, logits: logitsTensor, features: featuresTensor, macs, classifierMacs: after, run };
}

/**
 * The integer model as a ConvNet for PaPr and the classifier commands: the float image tensor
 * [1, 3, H, W] (preprocessed so that it holds real input values) is quantized as TFLite's QUANTIZE
 * does, q = clamp(round(x / scale) + zeroPoint); features and logits come back dequantized
 * (features NCHW [1, 1280, 7, 7], logits [1, 1001]). Each call adds the graph's integer MACs to the
 * MAC counter (int8 x int8 -> int32 multiply-accumulates, counted like float ones).
 */
export function integerConvNet(m: IntegerModel) {
  const [, H, W] = m.input.shape;
  const q = m.input.quantization!;
  const range = RANGE[m.input.type as "uint8" | "int8"];
  const quantizeInput = (x: Tensor): Int32Array => {
    expectShape("tflite integer model", "x", x, [1, 3, H, W]);
    const out = new Int32Array(H * W * 3);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < H * W; i++) {
        const v = roundHalfAway(x.data[c * H * W + i] / q.scale[0]) + q.zeroPoint[0];
        out[i * 3 + c] = Math.min(range[1], Math.max(range[0], v));
      }
    return out;
  };
  const dequantizeNchw = (t: TfliteTensor, values: Int32Array): Tensor => {
    const [, h, w, c] = t.shape;
    const tq = t.quantization!;
    const out = new Float32Array(values.length);
    for (let i = 0; i < h * w; i++)
      for (let k = 0; k < c; k++) out[k * h * w + i] = tq.scale[0] * (values[i * c + k] - tq.zeroPoint[0]);
    return new Tensor(out, [1, c, h, w]);
  };
  const featureMacs = m.macs - m.classifierMacs;
  return {
    imageSize: H,
    integer: m,
    features(x: Tensor): Tensor {
      const run = m.run(quantizeInput(x), m.features.index);
      addMacs(featureMacs);
      return dequantizeNchw(m.features, run.tensors.get(m.features.index)!);
    },
    forward(x: Tensor): Tensor {
      const run = m.run(quantizeInput(x));
      addMacs(m.macs);
      return new Tensor(run.dequantized, [1, run.dequantized.length]);
    },
  };
}
