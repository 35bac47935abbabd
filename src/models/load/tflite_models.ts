// A quantized TFLite MobileNetV2 (TF-slim's mobilenet_v2_1.0_224_quant, BatchNorm folded into the
// convs) -> this project's MobileNetV2 (src/models/mobilenetv2.ts) in timm names, dequantized:
//
//   weight = scale * (q - zeroPoint)                (per channel when the file has per-channel scales)
//   bias   = biasScale * q_int32                    (biasScale = inputScale * weightScale)
//   CONV_2D filter [O, kh, kw, I] -> [O, I, kh, kw];  DEPTHWISE_CONV_2D [1, kh, kw, C] -> [C, 1, kh, kw]
//   BatchNorm: identity (weight 1, bias = the folded bias, mean 0, var 1 - eps), so folding it back
//   at load time gives the file's conv and bias.
//
// The operators are walked in the file's order against the block table of mobilenetv2.ts:
//   CONV_2D 3x3/2 ReLU6 (conv_stem) ; DEPTHWISE + CONV_2D (blocks.0.0, ds) ;
//   per inverted residual: CONV_2D 1x1 ReLU6 (conv_pw), DEPTHWISE ReLU6 (conv_dw), CONV_2D 1x1 linear
//   (conv_pwl), then ADD where the block has a residual ; CONV_2D 1x1 ReLU6 (conv_head) ;
//   AVERAGE_POOL_2D over the whole map ; CONV_2D 1x1 with bias (classifier) ; RESHAPE ; SOFTMAX
// Every convolution must use TF's SAME padding (the model runs with padding "tf") and the
// block's stride; any other graph is refused naming the operator.
import { Tensor } from "../../tensor/tensor.ts";
import { quote } from "../../tensor/quote.ts";
import { MOBILENETV2, type MobileNetV2Config } from "../mobilenetv2.ts";
import { planBlocks } from "../mobilenet_blocks.ts";
import { TfliteError, tensorValues, type ConvOptions, type TfliteModel, type TfliteOperator } from "./tflite.ts";

const BN_EPS = 1e-5; // mobilenetv2.ts folds BatchNorm with this epsilon

export interface ConvertedTflite {
  config: Required<MobileNetV2Config>;
  weights: Map<string, Tensor>;
}

/** Dequantized float32 values of a constant tensor. */
function dequantize(model: TfliteModel, index: number, channelAxis: number): Float32Array {
  const t = model.tensors[index];
  const values = tensorValues(model, t);
  const q = t.quantization;
  if (t.type === "float32" || !q) {
    if (t.type !== "float32") throw new TfliteError(model.source, `tensor ${quote(t.name, 60)}: no quantization`);
    return Float32Array.from(values);
  }
  const out = new Float32Array(values.length);
  const perChannel = q.scale.length > 1;
  const inner = t.shape.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
  const size = t.shape[channelAxis] ?? 1;
  for (let i = 0; i < values.length; i++) {
    const c = perChannel ? Math.floor(i / inner) % size : 0;
    out[i] = q.scale[c] * (values[i] - q.zeroPoint[c]);
  }
  return out;
}

export function mobilenetV2FromTflite(model: TfliteModel): ConvertedTflite {
  const fail = (op: TfliteOperator | undefined, message: string): never => {
    throw new TfliteError(model.source, op ? `operator ${op.index} (${op.opcode}): ${message}` : message);
  };
  const ops = model.operators;
  let at = 0;
  const take = (opcode: string, what: string): TfliteOperator => {
    const op = ops[at];
    if (!op) fail(undefined, `the graph ends where ${what} (${opcode}) was expected`);
    if (op.opcode !== opcode) fail(op, `expected ${what} (${opcode})`);
    at++;
    return op;
  };
  const weights = new Map<string, Tensor>();

  /** A conv (or depthwise) op -> `${name}.weight` + identity BatchNorm `${bn}` holding its bias. */
  const conv = (opcode: "CONV_2D" | "DEPTHWISE_CONV_2D", name: string, bn: string, stride: number, act: string) => {
    const op = take(opcode, name);
    const o = op.options as ConvOptions;
    if (o.padding !== "same") fail(op, `padding ${o.padding}, expected SAME`);
    if (o.strideH !== stride || o.strideW !== stride) fail(op, `stride ${o.strideH}x${o.strideW}, expected ${stride}`);
    if (o.dilationH !== 1 || o.dilationW !== 1) fail(op, "dilated convolutions are not supported");
    if (o.activation !== act) fail(op, `fused activation ${o.activation}, expected ${act}`);
    const w = model.tensors[op.inputs[1]];
    const [a, kh, kw, b] = w.shape;
    if (w.shape.length !== 4) fail(op, `filter shape [${w.shape}]`);
    const depthwise = opcode === "DEPTHWISE_CONV_2D";
    const raw = dequantize(model, w.index, depthwise ? 3 : 0);
    // CONV_2D [O, kh, kw, I] -> [O, I, kh, kw]; DEPTHWISE [1, kh, kw, C] -> [C, 1, kh, kw]
    const [O, I] = depthwise ? [b, 1] : [a, b];
    const out = new Float32Array(O * I * kh * kw);
    for (let oc = 0; oc < O; oc++)
      for (let ic = 0; ic < I; ic++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            out[((oc * I + ic) * kh + y) * kw + x] = depthwise
              ? raw[(y * kw + x) * O + oc]
              : raw[((oc * kh + y) * kw + x) * I + ic];
    weights.set(`${name}.weight`, new Tensor(out, [O, I, kh, kw]));
    const bias = op.inputs[2] >= 0 ? dequantize(model, op.inputs[2], 0) : new Float32Array(O);
    if (bias.length !== O) fail(op, `bias of ${bias.length} values for ${O} output channels`);
    if (bn === "") {
      weights.set(`${name}.bias`, new Tensor(bias, [O]));
    } else {
      weights.set(`${bn}.weight`, new Tensor(new Float32Array(O).fill(1), [O]));
      weights.set(`${bn}.bias`, new Tensor(bias, [O]));
      weights.set(`${bn}.running_mean`, new Tensor(new Float32Array(O), [O]));
      weights.set(`${bn}.running_var`, new Tensor(new Float32Array(O).fill(1 - BN_EPS), [O]));
    }
    return op;
  };

  conv("CONV_2D", "conv_stem", "bn1", 2, "relu6");
  for (const b of planBlocks(MOBILENETV2, 32, 1)) {
    const n = b.name;
    if (b.kind === "ds") {
      conv("DEPTHWISE_CONV_2D", `${n}.conv_dw`, `${n}.bn1`, b.stride, "relu6");
      conv("CONV_2D", `${n}.conv_pw`, `${n}.bn2`, 1, "none");
    } else {
      conv("CONV_2D", `${n}.conv_pw`, `${n}.bn1`, 1, "relu6");
      conv("DEPTHWISE_CONV_2D", `${n}.conv_dw`, `${n}.bn2`, b.stride, "relu6");
      conv("CONV_2D", `${n}.conv_pwl`, `${n}.bn3`, 1, "none");
    }
    if (b.residual) take("ADD", `${n}'s residual`);
  }
  conv("CONV_2D", "conv_head", "bn2", 1, "relu6");
  const pool = take("AVERAGE_POOL_2D", "the global average pooling");
  const poolOut = model.tensors[pool.outputs[0]];
  if (poolOut.shape[1] !== 1 || poolOut.shape[2] !== 1) fail(pool, `output [${poolOut.shape}], expected [1, 1, 1, C]`);
  const head = conv("CONV_2D", "classifier", "", 1, "none");
  const classifier = weights.get("classifier.weight")!;
  const [numClasses, channels] = classifier.shape;
  weights.set("classifier.weight", new Tensor(classifier.data, [numClasses, channels]));
  while (at < ops.length) {
    const op = ops[at++];
    if (op.opcode !== "RESHAPE" && op.opcode !== "SOFTMAX")
      fail(op, "expected only RESHAPE / SOFTMAX after the classifier");
  }
  if (!head) fail(undefined, "no classifier");
  return { config: { width: 1, numClasses, padding: "tf" }, weights };
}
