// TF.js *layers* models: model.json = { modelTopology, weightsManifest } plus
// binary shard files. Pure TS, no Node built-ins: the caller passes the parsed
// JSON and a function returning a shard's bytes by its manifest path.
//
// weightsManifest is a list of groups { paths: [shard, ...], weights: [{ name,
// shape, dtype, quantization? }] }; a group's shards, concatenated, hold its
// weights back to back (little-endian). Quantized weights store uint8 / uint16
// codes with value = code * scale + min, or float16 halves.
//
// Weights keep their Keras names ("conv1/kernel", "conv1_bn/moving_variance")
// and Keras layouts: Conv2D kernel [kh, kw, in, out], DepthwiseConv2D kernel
// [kh, kw, in, multiplier], Dense kernel [in, out]. `kerasKernelToTorch`
// converts conv kernels to PyTorch's [out, in/groups, kh, kw].
//
// Hostile manifests: every weight spec is checked (name, shape of non-negative safe integers,
// dtype, quantization with finite scale and min) and each group's byte count computed before any
// shard is read. A shard path must be relative and stay inside the model's folder (no "..", no
// absolute path, no drive or URL scheme, no control character); `readShard` gets the number of
// bytes the group still needs, so an adapter can refuse a larger file before reading it (node.ts
// also resolves symlinks and reads regular files only).
//
// Limits (override through the options argument):
//   maxWeights     100_000        about 100x the weights of the largest TF.js layers models
//   maxGroupBytes  2^31 - 1       one group's shards are concatenated into one buffer; also
//                                 Node's largest single file read
//   maxShardPaths  10_000         TF.js writes 4 MB shards, so this is 40 GB of weights

import { Tensor } from "../../tensor/tensor.ts";
import { halfToFloat } from "../../tensor/safetensors.ts";
import { escapePath, escapeText, listSome, quote } from "../../tensor/quote.ts";
import { withLimits } from "../../tensor/limits.ts";
import { concatBytes } from "../../tensor/bytes.ts";

export interface TfjsQuantization {
  dtype: "uint8" | "uint16" | "float16";
  scale?: number;
  min?: number;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: TfjsQuantization;
}

export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

export interface TfjsLayersModel {
  /** The modelTopology object as written (Keras model config). */
  topology: Record<string, unknown>;
  /** Every weight as float32, by manifest name. */
  weights: Map<string, Tensor>;
}

export class TfjsError extends Error {
  constructor(source: string, message: string) {
    super(`tfjs ${escapePath(source)}: ${message}`);
    this.name = "TfjsError";
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
const QUANTIZED = new Set(["uint8", "uint16", "float16"]); // quantization.dtype: how the values are stored
const LOGICAL_DTYPES = new Set(["float32", "int32", "bool"]); // spec.dtype: what the values are

export interface TfjsLimits {
  maxWeights: number;
  maxGroupBytes: number;
  maxShardPaths: number;
}

export const TFJS_LIMITS: Readonly<TfjsLimits> = {
  maxWeights: 100_000,
  maxGroupBytes: 2 ** 31 - 1,
  maxShardPaths: 10_000,
};

/** Returns a shard's bytes by its manifest path; `maxBytes` is what its group still needs (a longer shard is an error). */
export type ShardReader = (path: string, maxBytes: number) => Uint8Array;

/** A weight spec checked against the manifest rules, with its element count and stored bytes. */
interface CheckedSpec extends TfjsWeightSpec {
  count: number;
  bytes: number;
  stored: string;
}

export function readTfjsLayersModel(
  modelJson: unknown,
  readShard: ShardReader,
  source = "model.json",
  options: Partial<TfjsLimits> = {},
): TfjsLayersModel {
  const limits = withLimits(TFJS_LIMITS, options);
  const fail = (message: string): never => {
    throw new TfjsError(source, message);
  };
  const json = asObject(modelJson) ?? fail("model.json must be a JSON object");
  if (json.format === "graph-model" || asObject(json.modelTopology)?.node !== undefined) {
    fail("this is a TF.js graph model; only layers models (Keras topology) are supported");
  }
  const topology = asObject(json.modelTopology) ?? fail("no modelTopology object (is this a TF.js layers model.json?)");
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) return fail("no weightsManifest list");
  const groups = checkManifest(manifest, limits, fail);

  const weights = new Map<string, Tensor>();
  groups.forEach(({ paths, specs }, groupIndex) => {
    const needed = specs.reduce((n, s) => n + s.bytes, 0);
    if (needed > limits.maxGroupBytes)
      fail(`group ${groupIndex}: its weights need ${needed} bytes, over the limit of ${limits.maxGroupBytes}`);
    let readSoFar = 0;
    const shards = paths.map((path) => {
      const bytes = readShard(path, Math.max(0, needed - readSoFar));
      readSoFar += bytes.length;
      if (readSoFar > limits.maxGroupBytes)
        fail(`group ${groupIndex}: shards hold more than ${limits.maxGroupBytes} bytes`);
      return { path, bytes };
    });
    const data = concatBytes(shards.map((s) => s.bytes));
    let offset = 0;
    for (const spec of specs) {
      const end = offset + spec.bytes;
      if (end > data.length) {
        fail(
          `weight ${quote(spec.name)} [${listShape(spec.shape)}] ${spec.stored} needs bytes ${offset}..${end} of group ${groupIndex}, ` +
            `but its shards hold ${data.length} (${shardSizes(shards)}): shard ${quote(shardAt(shards, Math.min(end, data.length) - 1))} is short`,
        );
      }
      if (weights.has(spec.name)) fail(`weight ${quote(spec.name)} appears twice in the manifest`);
      const values = decodeWeight(data.subarray(offset, end), spec, spec.count, fail);
      weights.set(spec.name, new Tensor(values, spec.shape));
      offset = end;
    }
    if (offset !== data.length) {
      const lastName = specs.length ? quote(specs[specs.length - 1].name) : "(none)";
      fail(
        `group ${groupIndex}: shards hold ${data.length} bytes (${shardSizes(shards)}) but the manifest's weights use ${offset}; ` +
          `shard ${quote(shardAt(shards, data.length - 1))} has ${data.length - offset} bytes after the last weight ${lastName}`,
      );
    }
  });
  return { topology, weights };
}

/** Every group's shard paths and weight specs, checked before any shard is read. */
function checkManifest(
  manifest: unknown[],
  limits: TfjsLimits,
  fail: (m: string) => never,
): { paths: string[]; specs: CheckedSpec[] }[] {
  let weightCount = 0;
  let pathCount = 0;
  return manifest.map((entry, groupIndex) => {
    const group = asObject(entry);
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      fail(`weightsManifest[${groupIndex}] needs 'paths' and 'weights' lists`);
    const { paths, weights } = group as unknown as { paths: unknown[]; weights: unknown[] };
    pathCount += paths.length;
    weightCount += weights.length;
    if (pathCount > limits.maxShardPaths) fail(`weightsManifest lists more than ${limits.maxShardPaths} shard paths`);
    if (weightCount > limits.maxWeights) fail(`weightsManifest lists more than ${limits.maxWeights} weights`);
    paths.forEach((p, i) => checkShardPath(p, `weightsManifest[${groupIndex}].paths[${i}]`, fail));
    return {
      paths: paths as string[],
      specs: weights.map((w, i) => checkSpec(w, `weightsManifest[${groupIndex}].weights[${i}]`, fail)),
    };
  });
}

/**
 * A shard path must name a file inside the model's folder: relative, no ".." segment, no
 * absolute path, drive letter or URL scheme, no control character or NUL.
 */
export function checkShardPath(path: unknown, where: string, fail: (m: string) => never): void {
  if (typeof path !== "string" || path === "") fail(`${where} must be a non-empty string, got ${describeJson(path)}`);
  const p = path as string;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) fail(`${where} ${quote(p)} contains a control character`);
  if (/^[\\/]/.test(p) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(p))
    fail(`${where} ${quote(p)} is absolute; shard paths must be relative to the model.json's folder`);
  if (p.split(/[\\/]/).includes(".."))
    fail(`${where} ${quote(p)} leaves the model.json's folder ('..'); shard paths must stay inside it`);
}

function checkSpec(value: unknown, where: string, fail: (m: string) => never): CheckedSpec {
  const spec = asObject(value) ?? fail(`${where} must be an object { name, shape, dtype }, got ${describeJson(value)}`);
  const { name, shape, dtype, quantization } = spec;
  if (typeof name !== "string" || name === "")
    fail(`${where}: name must be a non-empty string, got ${describeJson(name)}`);
  const what = `weight ${quote(name)}`;
  if (!Array.isArray(shape) || !shape.every(isCount))
    fail(`${what}: shape must be a list of non-negative integers, got ${describeJson(shape)}`);
  if (typeof dtype !== "string" || !LOGICAL_DTYPES.has(dtype))
    fail(`${what} has unsupported dtype ${typeof dtype === "string" ? quote(dtype, 20) : describeJson(dtype)}`);
  let stored = dtype as string;
  if (quantization !== undefined) {
    const q =
      asObject(quantization) ?? fail(`${what}: quantization must be an object, got ${describeJson(quantization)}`);
    if (typeof q.dtype !== "string" || !QUANTIZED.has(q.dtype))
      fail(`${what} has unsupported dtype ${describeJson(q.dtype)} (quantization: uint8, uint16 or float16)`);
    if (q.dtype !== "float16" && !(Number.isFinite(q.scale) && Number.isFinite(q.min))) {
      fail(
        `${what}: ${String(q.dtype)} quantization needs finite numeric scale and min, got scale ${describeJson(q.scale)}, min ${describeJson(q.min)}`,
      );
    }
    stored = q.dtype as string;
  }
  const count = (shape as number[]).reduce((n, d) => n * d, 1);
  const bytes = count * DTYPE_BYTES[stored];
  if (!Number.isSafeInteger(bytes)) fail(`${what}: shape [${listShape(shape as number[])}] is too large`);
  return { ...(spec as unknown as TfjsWeightSpec), count, bytes, stored };
}

function isCount(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function listShape(shape: number[]): string {
  return listSome(shape, 8);
}

function describeJson(v: unknown): string {
  return escapeText(typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v)), 60);
}

function decodeWeight(raw: Uint8Array, spec: TfjsWeightSpec, count: number, fail: (m: string) => never): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  const q = spec.quantization;
  if (q && q.dtype !== "float16") {
    const code = q.dtype === "uint8" ? (i: number) => raw[i] : (i: number) => view.getUint16(2 * i, true);
    const round = spec.dtype === "int32" ? Math.round : (v: number) => v;
    for (let i = 0; i < count; i++) out[i] = round(code(i) * q.scale! + q.min!); // as tfjs: double math, stored as float32
    return out;
  }
  if (q) {
    // float16
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    return out;
  }
  switch (spec.dtype) {
    case "float32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "int32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "bool":
      for (let i = 0; i < count; i++) out[i] = raw[i];
      break;
    default:
      fail(`weight ${quote(spec.name)} has unsupported dtype ${quote(spec.dtype, 20)}`);
  }
  return out;
}

function shardSizes(shards: { path: string; bytes: Uint8Array }[]): string {
  return listSome(
    shards.map((s) => `${s.path}: ${s.bytes.length} bytes`),
    4,
  );
}

/** The shard holding byte `at` of the concatenated group (the last shard when past the end). */
function shardAt(shards: { path: string; bytes: Uint8Array }[], at: number): string {
  for (const s of shards) {
    if (at < s.bytes.length) return s.path;
    at -= s.bytes.length;
  }
  return shards.length ? shards[shards.length - 1].path : "(no shards)";
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

// ---- the layer sequence ----------------------------------------------------

export interface TfjsLayer {
  name: string;
  /** Keras class: Conv2D, DepthwiseConv2D, BatchNormalization, Activation, ReLU, LeakyReLU, MaxPooling2D, ... */
  className: string;
  /** Names of the layers feeding this one (the previous layer in a Sequential model). */
  inbound: string[];
  filters?: number;
  kernelSize?: [number, number];
  strides?: [number, number];
  padding?: string; // "same" | "valid"
  dilationRate?: [number, number];
  depthMultiplier?: number;
  activation?: string; // "linear", "relu", "relu6", "softmax", ...
  useBias?: boolean;
  epsilon?: number;
  alpha?: number; // LeakyReLU slope
  maxValue?: number; // ReLU cap (ReLU(max_value=6))
  poolSize?: [number, number];
  units?: number;
  rate?: number;
  targetShape?: number[];
  /** This layer's weights by suffix ("kernel", "depthwise_kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"). */
  weights: Map<string, Tensor>;
  /** The layer's raw Keras config. */
  config: Record<string, unknown>;
}

/**
 * The layers of a Keras/TF.js topology in file order (execution order for the
 * chain-shaped models here), with the common config fields normalised
 * (snake_case or camelCase, scalar or pair). Pass `weights` to attach each
 * layer's weights: a weight named "<layer>/<suffix>" (optionally under a scope,
 * ".../<layer>/<suffix>") goes to that layer's `weights` map.
 */
export function tfjsLayers(
  topology: Record<string, unknown>,
  weights?: Map<string, Tensor>,
  source = "topology",
): TfjsLayer[] {
  const model = asObject(topology.model_config) ?? topology; // Keras export wraps it in model_config
  const config = model.config;
  const rawLayers = Array.isArray(config) ? config : asObject(config)?.layers;
  if (!Array.isArray(rawLayers))
    throw new TfjsError(source, `model ${quote(model.class_name, 40)} in modelTopology has no layer list`);
  const sequential = model.class_name === "Sequential";

  const layers = rawLayers.map((raw, i): TfjsLayer => {
    const layer = asObject(raw) ?? {};
    const cfg = asObject(layer.config) ?? {};
    const name = String(layer.name ?? cfg.name ?? `layer_${i}`);
    const field = (snake: string) => cfg[snake] ?? cfg[snakeToCamel(snake)];
    const num = (snake: string) => (typeof field(snake) === "number" ? (field(snake) as number) : undefined);
    const pair = (snake: string) => asPair(field(snake));
    const str = (snake: string) => (typeof field(snake) === "string" ? (field(snake) as string) : undefined);
    return {
      name,
      className: String(layer.class_name ?? layer.className),
      inbound: sequential ? [] : inboundNames(layer.inbound_nodes ?? layer.inboundNodes),
      filters: num("filters"),
      kernelSize: pair("kernel_size"),
      strides: pair("strides"),
      padding: str("padding"),
      dilationRate: pair("dilation_rate"),
      depthMultiplier: num("depth_multiplier"),
      activation: str("activation"),
      useBias: typeof field("use_bias") === "boolean" ? (field("use_bias") as boolean) : undefined,
      epsilon: num("epsilon"),
      alpha: num("alpha"),
      maxValue: num("max_value"),
      poolSize: pair("pool_size"),
      units: num("units"),
      rate: num("rate"),
      targetShape: Array.isArray(field("target_shape")) ? (field("target_shape") as number[]) : undefined,
      weights: new Map(),
      config: cfg,
    };
  });
  if (sequential) layers.forEach((l, i) => (l.inbound = i > 0 ? [layers[i - 1].name] : []));
  if (weights) {
    const byName = new Map(layers.map((l) => [l.name, l]));
    for (const [full, t] of weights) {
      const parts = full.split("/");
      for (let i = parts.length - 2; i >= 0; i--) {
        // the innermost path part naming a layer owns it
        const owner = byName.get(parts[i]);
        if (owner) {
          owner.weights.set(parts.slice(i + 1).join("/"), t);
          break;
        }
      }
    }
  }
  return layers;
}

function inboundNames(nodes: unknown): string[] {
  if (!Array.isArray(nodes)) return [];
  const names: string[] = [];
  for (const node of nodes) {
    if (!Array.isArray(node)) continue;
    for (const input of node) if (Array.isArray(input) && typeof input[0] === "string") names.push(input[0]);
  }
  return names;
}

function asPair(v: unknown): [number, number] | undefined {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) return [v[0], v[1]];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "number") return [v[0], v[0]];
  return undefined;
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A Keras conv kernel in PyTorch layout:
 *   Conv2D          [kh, kw, in, out]        -> [out, in, kh, kw]
 *   DepthwiseConv2D [kh, kw, in, multiplier] -> [in * multiplier, 1, kh, kw]  (groups = in)
 */
export function kerasKernelToTorch(kernel: Tensor, depthwise = false): Tensor {
  if (kernel.rank !== 4)
    throw new TfjsError("kerasKernelToTorch", `kernel must be [kh, kw, in, out], got [${kernel.shape.join(", ")}]`);
  const [kh, kw, cin, cout] = kernel.shape;
  const out = new Float32Array(kernel.size);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          const value = kernel.data[((y * kw + x) * cin + i) * cout + o];
          // depthwise: output channel i * multiplier + o reads input channel i
          const at = depthwise ? ((i * cout + o) * kh + y) * kw + x : ((o * cin + i) * kh + y) * kw + x;
          out[at] = value;
        }
      }
    }
  }
  return new Tensor(out, depthwise ? [cin * cout, 1, kh, kw] : [cout, cin, kh, kw]);
}
