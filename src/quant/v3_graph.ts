// The float MobileNetV3 that post-training quantization starts from (docs/quantization.md §10): every
// conv with its BatchNorm folded, its activation, and (for the convs that have a BatchNorm) the BN's
// beta and |gamma| — the targets of the BN-based reconstruction. The graph's units, in order:
//   stem        conv_stem + bn1, hardswish
//   block       [expand: conv_pw + bn, act] -> depthwise + bn, act -> [SE] -> project + bn (none)
//               [-> + input (residual)];   cn blocks: one conv + bn, act
//   SE          global average pool -> conv_reduce (relu) -> conv_expand (hard-sigmoid gate) -> x * gate
//   head        global average pool -> conv_head (a linear, hardswish) -> classifier (linear)
// Each tensor the quantized net holds has a name: "input", a conv's name (its output after the
// activation), "<block>.se" (the SE's scaled output) and "<block>.add" (the residual sum).
import { foldConvBn } from "../models/conv_bn.ts";
import { checkWeights } from "../models/model_spec.ts";
import { mobilenetV3Blocks, mobilenetV3Spec, type MobileNetV3Config } from "../models/mobilenetv3.ts";
import { convPadding, type BlockPlan } from "../models/mobilenet_blocks.ts";
import { conv2d, type Conv2dOptions } from "../tensor/conv.ts";
import { Tensor } from "../tensor/tensor.ts";

/** The activation after a conv; "hardsigmoid" is the SE's gate. */
export type V3Activation = "none" | "relu" | "hardswish" | "hardsigmoid";

export interface V3Conv {
  name: string; // weight prefix, e.g. "blocks.2.1.conv_pw"
  weight: Tensor; // [O, C/groups, kh, kw], BatchNorm folded
  bias: Tensor; // [O]
  options: Conv2dOptions;
  act: V3Activation;
  bn: { mean: Float32Array; std: Float32Array } | null; // BN beta and |gamma| (null: no BatchNorm)
}

export interface V3Block {
  plan: BlockPlan;
  expand: V3Conv | null;
  depthwise: V3Conv | null;
  se: { reduce: V3Conv; expand: V3Conv } | null;
  project: V3Conv;
}

export interface V3Graph {
  imageSize: number;
  stem: V3Conv;
  blocks: V3Block[];
  convHead: V3Conv; // [N, K, 1, 1] on the pooled features
  classifier: V3Conv; // [numClasses, N, 1, 1]
}

const BN_EPS = 1e-5; // as src/models/mobilenetv3.ts

/** Every conv of the graph in execution order. */
export function graphConvs(g: V3Graph): V3Conv[] {
  const convs = [g.stem];
  for (const b of g.blocks) {
    for (const c of [b.expand, b.depthwise, b.se?.reduce, b.se?.expand, b.project]) if (c) convs.push(c);
  }
  return [...convs, g.convHead, g.classifier];
}

/** The graph of timm-named MobileNetV3 weights for a block layout (checked by the caller). */
export function v3GraphFromBlocks(blocks: BlockPlan[], weights: Map<string, Tensor>, imageSize = 224): V3Graph {
  const folded = (name: string, bn: string, options: Conv2dOptions, act: V3Activation): V3Conv => {
    const fused = foldConvBn(weights, name, bn, BN_EPS, options);
    return {
      name,
      weight: fused.weight,
      bias: fused.bias,
      options,
      act,
      bn: { mean: weights.get(`${bn}.bias`)!.data.slice(), std: weights.get(`${bn}.weight`)!.data.map(Math.abs) },
    };
  };
  const plain = (name: string, act: V3Activation): V3Conv => {
    const w = weights.get(`${name}.weight`)!;
    const shape = w.rank === 2 ? [...w.shape, 1, 1] : w.shape;
    return { name, weight: w.reshape(shape), bias: weights.get(`${name}.bias`)!, options: {}, act, bn: null };
  };
  const conv = (b: BlockPlan, conv: string, bn: string, k: number, s: number, groups: number, act: V3Activation) =>
    folded(`${b.name}.${conv}`, `${b.name}.${bn}`, { stride: s, padding: convPadding("symmetric", k, s), groups }, act);
  const graphBlocks = blocks.map((row): V3Block => {
    if (row.act === "relu6") throw new Error(`quantize ${row.name}: relu6 blocks (MobileNetV2) are not supported`);
    const b = row as BlockPlan & { act: "relu" | "hardswish" };
    const se =
      b.seChannels === 0
        ? null
        : {
            reduce: plain(`${b.name}.se.conv_reduce`, "relu"),
            expand: plain(`${b.name}.se.conv_expand`, "hardsigmoid"),
          };
    if (b.kind === "cn")
      return {
        plan: b,
        expand: null,
        depthwise: null,
        se: null,
        project: conv(b, "conv", "bn1", b.kernel, b.stride, 1, b.act),
      };
    if (b.kind === "ds")
      return {
        plan: b,
        expand: null,
        depthwise: conv(b, "conv_dw", "bn1", b.kernel, b.stride, b.inChannels, b.act),
        se,
        project: conv(b, "conv_pw", "bn2", 1, 1, 1, "none"),
      };
    return {
      plan: b,
      expand: conv(b, "conv_pw", "bn1", 1, 1, 1, b.act),
      depthwise: conv(b, "conv_dw", "bn2", b.kernel, b.stride, b.midChannels, b.act),
      se,
      project: conv(b, "conv_pwl", "bn3", 1, 1, 1, "none"),
    };
  });
  return {
    imageSize,
    stem: folded("conv_stem", "bn1", { stride: 2, padding: 1 }, "hardswish"),
    blocks: graphBlocks,
    convHead: plain("conv_head", "hardswish"),
    classifier: plain("classifier", "none"),
  };
}

/** MobileNetV3 (src/models/mobilenetv3.ts config and weights) as a quantizable graph. */
export function mobilenetV3Graph(config: MobileNetV3Config, weights: Map<string, Tensor>): V3Graph {
  checkWeights(`quantize mobilenetv3_${config.variant}`, mobilenetV3Spec(config), weights);
  return v3GraphFromBlocks(mobilenetV3Blocks(config), weights);
}

// ---- float execution, with a tap on every named tensor -----------------------------------------------

const hardsigmoidValue = (v: number) => Math.min(6, Math.max(0, v + 3)) / 6;
const ACT: Record<V3Activation, (v: number) => number> = {
  none: (v) => v,
  relu: (v) => (v > 0 ? v : 0),
  hardswish: (v) => v * hardsigmoidValue(v),
  hardsigmoid: hardsigmoidValue,
};

/** Sees a conv's pre-activation and every named tensor (after its activation). */
export interface V3Tap {
  preActivation?(conv: V3Conv, y: Tensor): void;
  tensor?(name: string, y: Tensor): void;
}

function mapTensor(x: Tensor, f: (v: number) => number): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) out[i] = f(x.data[i]);
  return new Tensor(out, x.shape);
}

/** Mean over positions of x [1, C, h, w] -> [1, C, 1, 1] (float64 sums). */
export function meanPool(x: Tensor): Tensor {
  const [, C, h, w] = x.shape;
  const area = h * w;
  const out = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = c * area; i < (c + 1) * area; i++) s += x.data[i];
    out[c] = s / area;
  }
  return new Tensor(out, [1, C, 1, 1]);
}

function floatConv(c: V3Conv, x: Tensor, tap?: V3Tap): Tensor {
  const pre = conv2d(x, c.weight, c.bias, c.options);
  tap?.preActivation?.(c, pre);
  const y = mapTensor(pre, ACT[c.act]);
  tap?.tensor?.(c.name, y);
  return y;
}

/** x * gate per channel: x [1, C, h, w], gate [1, C, 1, 1]. */
export function scaleChannels(x: Tensor, gate: Tensor): Tensor {
  const area = x.shape[2] * x.shape[3];
  const out = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) out[i] = x.data[i] * gate.data[Math.floor(i / area)];
  return new Tensor(out, x.shape);
}

export function floatBlock(b: V3Block, x: Tensor, tap?: V3Tap): Tensor {
  let h = x;
  if (b.expand) h = floatConv(b.expand, h, tap);
  if (b.depthwise) h = floatConv(b.depthwise, h, tap);
  if (b.se) {
    const gate = floatConv(b.se.expand, floatConv(b.se.reduce, meanPool(h), tap), tap);
    h = scaleChannels(h, gate);
    tap?.tensor?.(`${b.plan.name}.se`, h);
  }
  h = floatConv(b.project, h, tap);
  if (!b.plan.residual) return h;
  const sum = new Float32Array(h.size);
  for (let i = 0; i < h.size; i++) sum[i] = h.data[i] + x.data[i];
  const y = new Tensor(sum, h.shape);
  tap?.tensor?.(`${b.plan.name}.add`, y);
  return y;
}

/** [1, 3, H, W] -> the last block's output [1, K, h, w]. */
export function floatFeatures(g: V3Graph, x: Tensor, tap?: V3Tap): Tensor {
  tap?.tensor?.("input", x);
  let h = floatConv(g.stem, x, tap);
  for (const b of g.blocks) h = floatBlock(b, h, tap);
  return h;
}

/** features -> logits [1, numClasses]. */
export function floatHead(g: V3Graph, features: Tensor, tap?: V3Tap): Tensor {
  const logits = floatConv(g.classifier, floatConv(g.convHead, meanPool(features), tap), tap);
  return logits.reshape([1, logits.size]);
}
