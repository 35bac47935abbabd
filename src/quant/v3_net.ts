// The quantized MobileNetV3 (docs/quantization.md §10) and the scale plan that makes it. Every conv is
// a QuantConv (integer weights per output channel, integer bias on the grid of its sum) plus its
// activation and output range; the SE's scaled output and the residual sum get grids of their own.
// Conventions: signed 8-bit image; 8-bit weights for the stem, conv_head and the classifier, the
// setting's weight bits elsewhere (SE convs included); activations of the setting's bits: unsigned after
// ReLU, signed after hardswish, after a projection (no activation) and after a residual add; the SE
// gate on the grid 2^-A with integers [0, 2^A] (A = activation bits, so a gate of 1 is exact).
import { Tensor } from "../tensor/tensor.ts";
import { FIRST_LAST_BITS, INPUT_RANGE, quantizeConv, type QuantConv, type Scheme } from "./quantized_net.ts";
import type { IntRange } from "./quantizer.ts";
import { activationRange, MIN_GATE_SUM_EXPONENT } from "./v3_activations.ts";
import type { V3Activation, V3Conv, V3Graph } from "./v3_graph.ts";
import type { BlockPlan } from "../models/mobilenet_blocks.ts";

export interface QuantV3Conv extends QuantConv {
  act: V3Activation;
  outputRange: IntRange; // the output's integers (outputMax = outputRange.hi)
}

export interface QuantV3Block {
  plan: BlockPlan;
  expand: QuantV3Conv | null;
  depthwise: QuantV3Conv | null;
  se: { reduce: QuantV3Conv; expand: QuantV3Conv; outputScale: number; outputRange: IntRange } | null;
  project: QuantV3Conv;
  add: { outputScale: number; outputRange: IntRange } | null; // the residual sum's grid
}

export interface QuantV3Net {
  scheme: Scheme;
  weightBits: number;
  activationBits: number;
  imageSize: number;
  inputScale: number;
  stem: QuantV3Conv;
  blocks: QuantV3Block[];
  convHead: QuantV3Conv;
  classifier: QuantV3Conv; // act none; the logits stay on its sum's grid
}

/** The scales (and float biases, weight gains) a method chooses, by tensor / conv name (v3_graph.ts). */
export interface V3Plan {
  scheme: Scheme;
  weightBits: number;
  activationBits: number;
  actScales: Record<string, number>; // "input", every conv but the gate and the classifier, "<block>.se", "<block>.add"
  weightScales: Record<string, Float64Array>; // per conv, per output channel
  biases: Record<string, Float32Array>; // per conv (the graph's, or reconstructed)
  gains: Record<string, Float32Array>; // per conv, per output channel: factor on the float weights
}

export function copyV3Plan(p: V3Plan): V3Plan {
  const copy = <T extends Float64Array | Float32Array>(r: Record<string, T>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice() as T]));
  return {
    ...p,
    actScales: { ...p.actScales },
    weightScales: copy(p.weightScales),
    biases: copy(p.biases),
    gains: copy(p.gains),
  };
}

/** The weight bits of a conv: 8 for the stem, conv_head and the classifier. */
export function convWeightBits(g: V3Graph, c: V3Conv, weightBits: number): number {
  return c === g.stem || c === g.convHead || c === g.classifier ? FIRST_LAST_BITS : weightBits;
}

type Grid = { scale: number; range: IntRange };

/** What a quantized conv was built from: the same inputs give the same conv (the searches rebuild often). */
interface Built {
  inputScale: number;
  inputRange: IntRange;
  outputScale: number;
  bits: string;
  weightScales: Float64Array;
  biases: Float32Array;
  gains: Float32Array;
  conv: QuantV3Conv;
}
const built = new WeakMap<V3Conv, Built>();
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
};

function planConv(g: V3Graph, plan: V3Plan, c: V3Conv, input: Grid): QuantV3Conv {
  const A = plan.activationBits;
  const outputScale = c === g.classifier ? 1 : c.act === "hardsigmoid" ? 2 ** -A : plan.actScales[c.name];
  const bits = `${plan.scheme}/${plan.weightBits}/${A}`;
  const last = built.get(c);
  if (
    last &&
    last.inputScale === input.scale &&
    last.inputRange.lo === input.range.lo &&
    last.inputRange.hi === input.range.hi &&
    last.outputScale === outputScale &&
    last.bits === bits &&
    same(last.weightScales, plan.weightScales[c.name]) &&
    same(last.biases, plan.biases[c.name]) &&
    same(last.gains, plan.gains[c.name])
  )
    return last.conv;
  const conv = buildConv(g, plan, c, input, outputScale);
  built.set(c, {
    inputScale: input.scale,
    inputRange: input.range,
    outputScale,
    bits,
    weightScales: plan.weightScales[c.name].slice(),
    biases: plan.biases[c.name].slice(),
    gains: plan.gains[c.name].slice(),
    conv,
  });
  return conv;
}

function buildConv(g: V3Graph, plan: V3Plan, c: V3Conv, input: Grid, outputScale: number): QuantV3Conv {
  const A = plan.activationBits;
  const gains = plan.gains[c.name];
  const per = c.weight.size / gains.length;
  const weight = c.weight.data.map((w, i) => w * gains[Math.floor(i / per)]);
  const outputRange = c === g.classifier ? { lo: 0, hi: 0 } : activationRange(c.act, A);
  const q = quantizeConv(
    {
      name: c.name,
      weight: new Tensor(weight, c.weight.shape),
      bias: new Tensor(plan.biases[c.name], [gains.length]),
      options: c.options,
    },
    plan.weightScales[c.name],
    convWeightBits(g, c, plan.weightBits),
    input,
    { scale: outputScale, bits: A },
    plan.scheme,
  );
  if (c.act === "hardsigmoid" || c.act === "hardswish") {
    for (const s of q.weightScale) {
      if (Math.log2(s * input.scale) < MIN_GATE_SUM_EXPONENT)
        throw new Error(
          `quantize ${c.name}: its sum's grid 2^${Math.log2(s * input.scale)} is below 2^${MIN_GATE_SUM_EXPONENT}`,
        );
    }
  }
  return { ...q, act: c.act, outputMax: outputRange.hi, outputRange };
}

const gridOf = (q: { outputScale: number; outputRange: IntRange }): Grid => ({
  scale: q.outputScale,
  range: q.outputRange,
});

/** The quantized net of a graph and a plan. */
export function planV3Net(g: V3Graph, plan: V3Plan): QuantV3Net {
  const A = plan.activationBits;
  const stem = planConv(g, plan, g.stem, { scale: plan.actScales.input, range: INPUT_RANGE });
  let x = gridOf(stem);
  const blocks = g.blocks.map((b): QuantV3Block => {
    let h = x;
    const expand = b.expand ? planConv(g, plan, b.expand, h) : null;
    if (expand) h = gridOf(expand);
    const depthwise = b.depthwise ? planConv(g, plan, b.depthwise, h) : null;
    if (depthwise) h = gridOf(depthwise);
    let se: QuantV3Block["se"] = null;
    if (b.se) {
      const reduce = planConv(g, plan, b.se.reduce, h); // reads the pooled h, on h's grid
      const gate = planConv(g, plan, b.se.expand, gridOf(reduce));
      se = { reduce, expand: gate, outputScale: plan.actScales[`${b.plan.name}.se`], outputRange: h.range };
      h = gridOf(se);
    }
    const project = planConv(g, plan, b.project, h);
    h = gridOf(project);
    let add: QuantV3Block["add"] = null;
    if (b.plan.residual) {
      add = { outputScale: plan.actScales[`${b.plan.name}.add`], outputRange: activationRange("add", A) };
      h = gridOf(add);
    }
    x = h;
    return { plan: b.plan, expand, depthwise, se, project, add };
  });
  const convHead = planConv(g, plan, g.convHead, x); // reads the pooled features, on their grid
  const classifier = planConv(g, plan, g.classifier, gridOf(convHead));
  return {
    scheme: plan.scheme,
    weightBits: plan.weightBits,
    activationBits: plan.activationBits,
    imageSize: g.imageSize,
    inputScale: plan.actScales.input,
    stem,
    blocks,
    convHead,
    classifier,
  };
}

/** Every conv of the net in execution order (the graph's order). */
export function netConvs(net: QuantV3Net): QuantV3Conv[] {
  const convs = [net.stem];
  for (const b of net.blocks)
    for (const c of [b.expand, b.depthwise, b.se?.reduce, b.se?.expand, b.project]) if (c) convs.push(c);
  return [...convs, net.convHead, net.classifier];
}
