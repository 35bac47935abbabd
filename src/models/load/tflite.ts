// TFLite model files (.tflite): a FlatBuffer (flatbuffer.ts) with TFLite's schema (schema.fbs in the
// TensorFlow repository). Fields by their index in the schema's declaration order:
//
//   Model               0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers
//   OperatorCode        0 deprecated_builtin_code (i8), 1 custom_code, 2 version, 3 builtin_code (i32)
//                       (the operator is the larger of the two codes: files older than 127 operators
//                       only set the deprecated one)
//   SubGraph            0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name
//   Tensor              0 shape, 1 type, 2 buffer, 3 name, 4 quantization
//   Buffer              0 data [ubyte], 1 offset (u64), 2 size (u64)  (offset/size: data stored after
//                       the flatbuffer, for files over 2 GB)
//   QuantizationParameters  0 min, 1 max, 2 scale [f32], 3 zero_point [i64], 6 quantized_dimension
//   Operator            0 opcode_index, 1 inputs, 2 outputs, 3 builtin_options_type, 4 builtin_options
//
// Only the first subgraph (the model's main function) is read. Options tables are decoded for the
// operators MobileNet-style models use (see OPTIONS below); other operators keep their code and an
// empty options object, so a runner can refuse them by name.
//
// Every tensor is checked: shape of non-negative safe integers, a known type, buffer index in range,
// a non-empty buffer's byte length equal to shape x element size, quantization vectors of one
// length (1 = per-tensor, or the size of quantized_dimension = per-channel) with finite positive
// scales; operator tensor indices in range (-1 = optional input absent). Errors name the file and
// the field (FlatbufferError / TfliteError).
import { escapeText, quote } from "../../tensor/quote.ts";
import { withLimits } from "../../tensor/limits.ts";
import { Flatbuffer, type Table } from "./flatbuffer.ts";

export class TfliteError extends Error {
  constructor(source: string, message: string) {
    super(`tflite ${source}: ${message}`);
    this.name = "TfliteError";
  }
}

/** TensorType enum, by value. */
const TENSOR_TYPES = [
  "float32",
  "float16",
  "int32",
  "uint8",
  "int64",
  "string",
  "bool",
  "int16",
  "complex64",
  "int8",
  "float64",
] as const;
export type TfliteType = (typeof TENSOR_TYPES)[number];
const TYPE_BYTES: Record<TfliteType, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  uint8: 1,
  int64: 8,
  string: 0, // variable length: no size check
  bool: 1,
  int16: 2,
  complex64: 8,
  int8: 1,
  float64: 8,
};

/** BuiltinOperator codes of the operators this project names (others read as BUILTIN_<code>). */
const OPERATOR_NAMES: Record<number, string> = {
  0: "ADD",
  1: "AVERAGE_POOL_2D",
  2: "CONCATENATION",
  3: "CONV_2D",
  4: "DEPTHWISE_CONV_2D",
  6: "DEQUANTIZE",
  9: "FULLY_CONNECTED",
  14: "LOGISTIC",
  17: "MAX_POOL_2D",
  18: "MUL",
  19: "RELU",
  21: "RELU6",
  22: "RESHAPE",
  25: "SOFTMAX",
  40: "MEAN",
  114: "QUANTIZE",
  117: "HARD_SWISH",
};

export type Padding = "same" | "valid";
export type FusedActivation = "none" | "relu" | "relu_n1_to_1" | "relu6" | "tanh" | "sign_bit";
const ACTIVATIONS: FusedActivation[] = ["none", "relu", "relu_n1_to_1", "relu6", "tanh", "sign_bit"];

export interface ConvOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  depthMultiplier: number; // DEPTHWISE_CONV_2D only (1 for CONV_2D)
  activation: FusedActivation;
  dilationW: number;
  dilationH: number;
}
export interface PoolOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: FusedActivation;
}
export interface AddOptions {
  activation: FusedActivation;
}
export interface SoftmaxOptions {
  beta: number;
}
export interface ReshapeOptions {
  newShape: number[] | null;
}
export type OperatorOptions = ConvOptions | PoolOptions | AddOptions | SoftmaxOptions | ReshapeOptions | object;

export interface TfliteQuantization {
  scale: number[]; // float32 values, one per channel (or one)
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: TfliteType;
  /** The constant data (a view of the file's bytes, little-endian), or null for activations. */
  data: Uint8Array | null;
  quantization: TfliteQuantization | null;
}

export interface TfliteOperator {
  index: number;
  opcode: string; // "CONV_2D", ..., or "BUILTIN_<code>" / "CUSTOM:<name>"
  inputs: number[]; // tensor indices, -1 = absent optional input
  outputs: number[];
  options: OperatorOptions;
}

export interface TfliteModel {
  source: string;
  version: number;
  description: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

export interface TfliteLimits {
  maxTensorElements: number; // any tensor's shape product (activations are allocated from it)
  maxRank: number;
}

export const TFLITE_LIMITS: Readonly<TfliteLimits> = {
  maxTensorElements: 2 ** 26, // 256 MiB as int32 activations: 50x the largest MobileNetV2 activation (1.2 M at 224)
  maxRank: 8,
};

export function readTflite(
  bytes: Uint8Array,
  source = "model.tflite",
  options: Partial<TfliteLimits> = {},
): TfliteModel {
  const limits = withLimits(TFLITE_LIMITS, options);
  const fail = (message: string): never => {
    throw new TfliteError(source, message);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes: too short for a TFLite file`);
  const identifier = String.fromCharCode(...bytes.subarray(4, 8));
  if (identifier !== "TFL3") fail(`file identifier ${quote(identifier)} at bytes 4..8, expected 'TFL3'`);
  const buf = new Flatbuffer(bytes, `tflite ${source}`);
  const model = buf.root("Model");

  const version = model.scalar(0, "version", "u32", 0);
  const codes = model.tables(1, "operator_codes", readOperatorCode);
  const buffers = model.tables(4, "buffers", (t) => readBuffer(buf, t));
  const subgraphs = model.vector(2, "subgraphs", 4);
  if (!subgraphs || subgraphs.length === 0) return fail("Model.subgraphs: the file has no subgraph");
  const graph = buf.tableAt("Model.subgraphs[0]", buf.follow("Model.subgraphs[0]", subgraphs.start));

  const tensors = graph.tables(0, "tensors", (t, i) => readTensor(t, i, buffers, limits, fail));
  const tensorIndex = (path: string, value: number, optional: boolean) => {
    if (optional && value === -1) return value;
    if (!(value >= 0 && value < tensors.length)) fail(`${path}: tensor index ${value} of ${tensors.length} tensors`);
    return value;
  };
  const indices = (path: string, values: number[] | null, optional: boolean) =>
    (values ?? []).map((v, i) => tensorIndex(`${path}[${i}]`, v, optional));

  const operators = graph.tables(3, "operators", (t, i): TfliteOperator => {
    const path = `SubGraph.operators[${i}]`;
    const codeIndex = t.scalar(0, "opcode_index", "u32", 0);
    if (codeIndex >= codes.length) fail(`${path}.opcode_index ${codeIndex} of ${codes.length} operator codes`);
    const opcode = codes[codeIndex];
    return {
      index: i,
      opcode,
      inputs: indices(`${path}.inputs`, t.scalars(1, "inputs", "i32"), true),
      outputs: indices(`${path}.outputs`, t.scalars(2, "outputs", "i32"), false),
      options: readOptions(t, opcode, path, fail),
    };
  });
  return {
    source,
    version,
    description: model.string(3, "description") ?? "",
    tensors,
    operators,
    inputs: indices("SubGraph.inputs", graph.scalars(1, "inputs", "i32"), false),
    outputs: indices("SubGraph.outputs", graph.scalars(2, "outputs", "i32"), false),
  };
}

function readOperatorCode(t: Table): string {
  const deprecated = t.scalar(0, "deprecated_builtin_code", "i8", 0);
  const code = Math.max(deprecated, t.scalar(3, "builtin_code", "i32", 0));
  if (code === 32) return `CUSTOM:${escapeText(t.string(1, "custom_code") ?? "", 40)}`;
  return OPERATOR_NAMES[code] ?? `BUILTIN_${code}`;
}

function readBuffer(buf: Flatbuffer, t: Table): Uint8Array {
  const data = t.bytes(0, "data");
  if (data && data.length > 0) return data;
  const offset = t.scalar(1, "offset", "u64", 0);
  const size = t.scalar(2, "size", "u64", 0);
  if (offset > 1) {
    // data stored after the flatbuffer (offset 1 is the schema's "empty" marker)
    buf.check(`${t.path}.offset`, offset, size, "buffer data");
    return buf.bytes.subarray(offset, offset + size);
  }
  return new Uint8Array(0);
}

function readTensor(
  t: Table,
  index: number,
  buffers: Uint8Array[],
  limits: TfliteLimits,
  fail: (message: string) => never,
): TfliteTensor {
  const name = t.string(3, "name") ?? "";
  const where = `tensor ${index} ${quote(name, 60)}`;
  const shape = t.scalars(0, "shape", "i32") ?? [];
  if (shape.length > limits.maxRank) fail(`${where}: rank ${shape.length} over the limit of ${limits.maxRank}`);
  let count = 1;
  for (const d of shape) {
    if (d < 0) fail(`${where}: shape [${shape.join(", ")}] has a negative dimension`);
    count *= d;
  }
  if (count > limits.maxTensorElements)
    fail(`${where}: shape [${shape.join(", ")}] has ${count} elements, over the limit of ${limits.maxTensorElements}`);
  const typeCode = t.scalar(1, "type", "i8", 0);
  const type = TENSOR_TYPES[typeCode] ?? fail(`${where}: unknown tensor type ${typeCode}`);
  const bufferIndex = t.scalar(2, "buffer", "u32", 0);
  if (bufferIndex >= buffers.length) fail(`${where}: buffer ${bufferIndex} of ${buffers.length} buffers`);
  let data: Uint8Array | null = buffers[bufferIndex];
  if (data.length === 0) data = null;
  else if (TYPE_BYTES[type] > 0 && data.length !== count * TYPE_BYTES[type]) {
    fail(
      `${where}: buffer ${bufferIndex} holds ${data.length} bytes, shape [${shape.join(", ")}] of ${type} needs ${count * TYPE_BYTES[type]}`,
    );
  }
  const q = t.table(4, "quantization");
  return { index, name, shape, type, data, quantization: q ? readQuantization(q, shape, where, fail) : null };
}

function readQuantization(
  q: Table,
  shape: number[],
  where: string,
  fail: (message: string) => never,
): TfliteQuantization | null {
  const scale = q.scalars(2, "scale", "f32");
  const zeroPoint = q.scalars(3, "zero_point", "i64");
  if (!scale || scale.length === 0) return null; // min/max only, or an empty table: not quantized
  const quantizedDimension = q.scalar(6, "quantized_dimension", "i32", 0);
  if (!zeroPoint || zeroPoint.length !== scale.length)
    fail(`${where}: quantization has ${scale.length} scales and ${zeroPoint?.length ?? 0} zero points`);
  if (scale.length > 1) {
    if (!(quantizedDimension >= 0 && quantizedDimension < shape.length))
      fail(`${where}: quantized_dimension ${quantizedDimension} of a rank-${shape.length} tensor`);
    if (shape[quantizedDimension] !== scale.length)
      fail(`${where}: ${scale.length} scales for dimension ${quantizedDimension} of size ${shape[quantizedDimension]}`);
  }
  const bad = scale.findIndex((s) => !(Number.isFinite(s) && s > 0));
  if (bad >= 0) fail(`${where}: quantization scale[${bad}] = ${scale[bad]} (must be finite and > 0)`);
  return { scale, zeroPoint: zeroPoint!, quantizedDimension };
}

/** builtin_options: union type (u8) + table, decoded for the operators named here. */
function readOptions(t: Table, opcode: string, path: string, fail: (message: string) => never): OperatorOptions {
  const type = t.scalar(3, "builtin_options_type", "u8", 0);
  const expected: Record<string, number> = {
    CONV_2D: 1,
    DEPTHWISE_CONV_2D: 2,
    AVERAGE_POOL_2D: 5,
    MAX_POOL_2D: 5,
    SOFTMAX: 9,
    ADD: 11,
    RESHAPE: 17,
  };
  if (!(opcode in expected)) return {};
  const options = t.table(4, "builtin_options");
  if (type !== 0 && type !== expected[opcode])
    fail(`${path}: ${opcode} with builtin_options_type ${type}, expected ${expected[opcode]}`);
  const o = type === 0 ? null : options;
  const get = (index: number, name: string, kind: "u8" | "i8" | "i32" | "f32", fallback: number) =>
    o ? o.scalar(index, name, kind, fallback) : fallback;
  const padding = (index: number): Padding => {
    const p = get(index, "padding", "i8", 0);
    return p === 0 ? "same" : p === 1 ? "valid" : fail(`${path}: padding ${p} (0 = SAME, 1 = VALID)`);
  };
  const activation = (index: number): FusedActivation => {
    const a = get(index, "fused_activation_function", "i8", 0);
    return ACTIVATIONS[a] ?? fail(`${path}: fused_activation_function ${a}`);
  };
  const positive = (index: number, name: string): number => {
    const v = get(index, name, "i32", 1);
    return v >= 1 ? v : fail(`${path}: ${name} ${v} (must be >= 1)`);
  };
  switch (opcode) {
    case "CONV_2D":
      return {
        padding: padding(0),
        strideW: positive(1, "stride_w"),
        strideH: positive(2, "stride_h"),
        depthMultiplier: 1,
        activation: activation(3),
        dilationW: positive(4, "dilation_w_factor"),
        dilationH: positive(5, "dilation_h_factor"),
      } satisfies ConvOptions;
    case "DEPTHWISE_CONV_2D":
      return {
        padding: padding(0),
        strideW: positive(1, "stride_w"),
        strideH: positive(2, "stride_h"),
        depthMultiplier: positive(3, "depth_multiplier"),
        activation: activation(4),
        dilationW: positive(5, "dilation_w_factor"),
        dilationH: positive(6, "dilation_h_factor"),
      } satisfies ConvOptions;
    case "AVERAGE_POOL_2D":
    case "MAX_POOL_2D":
      return {
        padding: padding(0),
        strideW: positive(1, "stride_w"),
        strideH: positive(2, "stride_h"),
        filterW: positive(3, "filter_width"),
        filterH: positive(4, "filter_height"),
        activation: activation(5),
      } satisfies PoolOptions;
    case "SOFTMAX":
      return { beta: get(0, "beta", "f32", 0) } satisfies SoftmaxOptions;
    case "ADD":
      return { activation: activation(0) } satisfies AddOptions;
    case "RESHAPE":
      return { newShape: o?.scalars(0, "new_shape", "i32") ?? null } satisfies ReshapeOptions;
  }
  return {};
}

/** A constant tensor's values as numbers (int32 / uint8 / int8 / float32 data), checked to exist. */
export function tensorValues(model: TfliteModel, t: TfliteTensor): Float64Array {
  if (!t.data) throw new TfliteError(model.source, `tensor ${t.index} ${quote(t.name, 60)}: expected constant data`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (t.type === "uint8") out[i] = view.getUint8(i);
    else if (t.type === "int8") out[i] = view.getInt8(i);
    else if (t.type === "int32") out[i] = view.getInt32(4 * i, true);
    else if (t.type === "float32") out[i] = view.getFloat32(4 * i, true);
    else throw new TfliteError(model.source, `tensor ${t.index} ${quote(t.name, 60)}: ${t.type} data is not supported`);
  }
  return out;
}
