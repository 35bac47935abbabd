// The quantized MobileNetV3 model folder (docs/quantization.md §10): the float model's config.json
// (family mobilenetv3, its `model` config) with a `quantization` section of graph "mobilenetv3" —
// scheme, bits, the input grid, every conv's geometry, scales, activation and output range, the
// grids of the SE outputs and residual sums — and model.safetensors with each conv's integer weights
// `<name>.qweight` and biases `<name>.qbias` (float32, exact). Loading rebuilds the net from the
// config's block layout and checks every conv against it (name, shape, geometry, activation, the grid
// it reads), naming what is wrong.
import { mobilenetV3Blocks, mobilenetV3Spec, type MobileNetV3Config } from "../models/mobilenetv3.ts";
import { convPadding } from "../models/mobilenet_blocks.ts";
import type { ModelFile } from "../models/registry.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  convFrom,
  convTensors,
  entry,
  quantizationHeader,
  QUANT_FORMAT,
  type ConvEntry,
  type QuantizationHeader,
} from "./model_file.ts";
import { FIRST_LAST_BITS, INPUT_RANGE } from "./quantized_net.ts";
import { MIN_EXPONENT, type IntRange } from "./quantizer.ts";
import { activationRange } from "./v3_activations.ts";
import type { V3Activation } from "./v3_graph.ts";
import { netConvs, type QuantV3Block, type QuantV3Conv, type QuantV3Net } from "./v3_net.ts";

export const V3_GRAPH = "mobilenetv3";

export interface V3ConvEntry extends ConvEntry {
  act: V3Activation;
}

export interface V3QuantizationSection extends QuantizationHeader {
  graph: typeof V3_GRAPH;
  inputScale: number;
  convs: V3ConvEntry[];
  grids: Record<string, number>; // "<block>.se" and "<block>.add": their output scales
}

/** config.json and the tensors of a quantized MobileNetV3. */
export function quantizedV3ModelFile(
  base: ModelFile,
  net: QuantV3Net,
  method: string,
  calibration: { images: number; source: string },
): { file: ModelFile & { quantization: V3QuantizationSection }; weights: Map<string, Tensor> } {
  const convs = netConvs(net);
  const weights = convTensors(convs);
  const eight = new Set([net.stem, net.convHead, net.classifier]);
  const grids: Record<string, number> = {};
  for (const b of net.blocks) {
    if (b.se) grids[`${b.plan.name}.se`] = b.se.outputScale;
    if (b.add) grids[`${b.plan.name}.add`] = b.add.outputScale;
  }
  const quantization: V3QuantizationSection = {
    ...quantizationHeader(net, method, calibration),
    graph: V3_GRAPH,
    inputScale: net.inputScale,
    convs: convs.map((c) => ({ ...entry(c, eight.has(c) ? FIRST_LAST_BITS : net.weightBits), act: c.act })),
    grids,
  };
  return { file: { ...base, quantization }, weights };
}

type Grid = { scale: number; range: IntRange };

/** The quantized net of a config.json section, the float config's block layout and the tensors. */
export function v3NetFrom(q: V3QuantizationSection, model: unknown, weights: Map<string, Tensor>): QuantV3Net {
  const where = "config.json quantization";
  const fail = (m: string): never => {
    throw new Error(`${where}: ${m}`);
  };
  if (typeof q !== "object" || q === null) fail("not an object");
  if (q.format !== QUANT_FORMAT) fail(`format ${JSON.stringify(q.format)} is not '${QUANT_FORMAT}'`);
  if (q.scheme !== "pow2" && q.scheme !== "uniform") fail(`scheme ${JSON.stringify(q.scheme)}`);
  for (const key of ["weightBits", "activationBits"] as const)
    if (!Number.isInteger(q[key]) || q[key] < 2 || q[key] > 8) fail(`${key} ${JSON.stringify(q[key])}`);
  if (!Number.isInteger(q.imageSize) || q.imageSize < 8 || q.imageSize > 4096)
    fail(`imageSize ${JSON.stringify(q.imageSize)}`);
  if (!Array.isArray(q.convs)) fail("convs must be a list");
  if (typeof q.grids !== "object" || q.grids === null) fail("grids must be an object");
  const scale = (v: unknown, what: string): number => {
    if (typeof v !== "number" || !(v >= 2 ** MIN_EXPONENT && v <= 2 ** 20))
      fail(`${what} ${JSON.stringify(v)} is not a scale in [2^${MIN_EXPONENT}, 2^20]`);
    if (q.scheme === "pow2" && !Number.isInteger(Math.log2(v as number)))
      fail(`${what} ${v} is not a power of two (scheme pow2)`);
    return v as number;
  };
  const config = model as MobileNetV3Config;
  const blocks = mobilenetV3Blocks(config);
  const spec = mobilenetV3Spec(config);
  const byName = new Map<string, V3ConvEntry>();
  q.convs.forEach((e, i) => {
    if (typeof e !== "object" || e === null || typeof e.name !== "string") fail(`convs[${i}] has no name`);
    if (byName.has(e.name)) fail(`convs[${i}]: '${e.name}' appears twice`);
    byName.set(e.name, e);
  });
  const A = q.activationBits;
  const used = new Set<string>();
  const conv = (
    name: string,
    act: V3Activation,
    input: Grid,
    options: { stride: number; padding: number; groups: number },
  ): QuantV3Conv => {
    const e = byName.get(name) ?? fail(`no conv '${name}' (the model config's layout has it)`);
    used.add(name);
    const at = `${where} conv '${name}'`;
    const expected = spec.get(`${name}.weight`)!;
    const shape = expected.length === 2 ? [...expected, 1, 1] : expected;
    if (!Array.isArray(e.shape) || e.shape.join() !== shape.join())
      throw new Error(`${at}: shape ${JSON.stringify(e.shape)}, the layout needs [${shape}]`);
    if (e.stride !== options.stride || e.padding !== options.padding || e.groups !== options.groups)
      throw new Error(
        `${at}: stride / padding / groups ${e.stride} / ${e.padding} / ${e.groups}, the layout needs ${options.stride} / ${options.padding} / ${options.groups}`,
      );
    if (e.act !== act) throw new Error(`${at}: activation ${JSON.stringify(e.act)}, the layout needs '${act}'`);
    if (e.inputScale !== input.scale)
      throw new Error(`${at}: inputScale ${e.inputScale} differs from the grid it reads (${input.scale})`);
    const classifier = name === "classifier";
    const outputRange = classifier ? { lo: 0, hi: 0 } : activationRange(act, A);
    const c = convFrom(e, at, weights, q.scheme, input.range, A, outputRange.hi);
    if (act === "hardsigmoid" && e.outputScale !== 2 ** -A)
      throw new Error(`${at}: a gate's outputScale must be 2^-${A}`);
    return { ...c, act, outputRange };
  };
  const gridOf = (c: { outputScale: number; outputRange: IntRange }): Grid => ({
    scale: c.outputScale,
    range: c.outputRange,
  });
  const one = { stride: 1, padding: 0, groups: 1 };
  const inputScale = scale(q.inputScale, "inputScale");
  const stem = conv(
    "conv_stem",
    "hardswish",
    { scale: inputScale, range: INPUT_RANGE },
    { stride: 2, padding: 1, groups: 1 },
  );
  let x = gridOf(stem);
  const qblocks = blocks.map((b): QuantV3Block => {
    if (b.act === "relu6") fail(`${b.name}: relu6 blocks are not supported`);
    const act = b.act as "relu" | "hardswish";
    const n = b.name;
    let h = x;
    let expand: QuantV3Conv | null = null;
    let depthwise: QuantV3Conv | null = null;
    let project: QuantV3Conv;
    let se: QuantV3Block["se"] = null;
    if (b.kind === "cn") {
      project = conv(`${n}.conv`, act, h, {
        stride: b.stride,
        padding: convPadding("symmetric", b.kernel, b.stride) as number,
        groups: 1,
      });
      x = gridOf(project);
      return { plan: b, expand, depthwise, se, project, add: null };
    }
    if (b.kind === "ir") {
      expand = conv(`${n}.conv_pw`, act, h, one);
      h = gridOf(expand);
    }
    const mid = b.kind === "ir" ? b.midChannels : b.inChannels;
    depthwise = conv(`${n}.conv_dw`, act, h, {
      stride: b.stride,
      padding: convPadding("symmetric", b.kernel, b.stride) as number,
      groups: mid,
    });
    h = gridOf(depthwise);
    if (b.seChannels > 0) {
      const reduce = conv(`${n}.se.conv_reduce`, "relu", h, one);
      const gate = conv(`${n}.se.conv_expand`, "hardsigmoid", gridOf(reduce), one);
      se = { reduce, expand: gate, outputScale: scale(q.grids[`${n}.se`], `grids['${n}.se']`), outputRange: h.range };
      h = gridOf(se);
    }
    project = conv(`${n}.${b.kind === "ir" ? "conv_pwl" : "conv_pw"}`, "none", h, one);
    h = gridOf(project);
    let add: QuantV3Block["add"] = null;
    if (b.residual) {
      add = { outputScale: scale(q.grids[`${n}.add`], `grids['${n}.add']`), outputRange: activationRange("add", A) };
      h = gridOf(add);
    }
    x = h;
    return { plan: b, expand, depthwise, se, project, add };
  });
  const convHead = conv("conv_head", "hardswish", x, one);
  const classifier = conv("classifier", "none", gridOf(convHead), one);
  for (const name of byName.keys()) if (!used.has(name)) fail(`conv '${name}' is not in the model config's layout`);
  return {
    scheme: q.scheme,
    weightBits: q.weightBits,
    activationBits: A,
    imageSize: q.imageSize,
    inputScale,
    stem,
    blocks: qblocks,
    convHead,
    classifier,
  };
}
