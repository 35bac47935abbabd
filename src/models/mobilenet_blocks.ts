// The blocks MobileNetV2 and MobileNetV3 are built from, in timm's layout and names
// (timm/models/_efficientnet_blocks.py). One table row describes `repeat` blocks; only the
// first of them has the row's stride.
//
//   ds  depthwise-separable:  conv_dw kxk/s (groups = C) + bn1 + act, [se], conv_pw 1x1 + bn2
//   ir  inverted residual:    conv_pw 1x1 + bn1 + act (C -> mid = C * expand),
//                             conv_dw kxk/s + bn2 + act, [se], conv_pwl 1x1 + bn3 (mid -> out)
//   cn  conv-bn-act:          conv kxk/s + bn1 + act
//
// ds and ir blocks add their input when stride = 1 and in = out channels. The squeeze-excite
// (se.conv_reduce, se.conv_expand: 1x1 convs with bias) always uses ReLU inside and a
// hard-sigmoid gate, and reduces to makeDivisible(mid / 4) channels. BatchNorm is folded into
// the conv before it at load time.
import { add } from "../tensor/elementwise.ts";
import { squeezeExcite } from "../tensor/se.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { bnSpec, foldConvBn, runConv, type FusedConv } from "./conv_bn.ts";
import { type ModelSpec } from "./model_spec.ts";

export type Activation = "relu" | "relu6" | "hardswish";
export type BlockKind = "ds" | "ir" | "cn";

/** One architecture-table row: `repeat` blocks of one kind. `out` is before the width multiplier. */
export interface BlockRow {
  kind: BlockKind;
  repeat: number;
  kernel: number;
  stride: number;
  expand: number; // mid = makeDivisible(in * expand) (ir only)
  out: number;
  se: boolean;
  act: Activation;
}

/** Table rows are written [kind, repeat, kernel, stride, expand, out, se, act]. */
export type RowTuple = [BlockKind, number, number, number, number, number, boolean, Activation];

/** Stages of table rows -> BlockRow objects. */
export function table(stages: RowTuple[][]): BlockRow[][] {
  return stages.map((rows) =>
    rows.map(([kind, repeat, kernel, stride, expand, out, se, act]) => ({
      kind,
      repeat,
      kernel,
      stride,
      expand,
      out,
      se,
      act,
    })),
  );
}

/** One block with its channels resolved. */
export interface BlockPlan {
  name: string; // "blocks.2.1"
  kind: BlockKind;
  inChannels: number;
  midChannels: number; // = inChannels for ds, = outChannels for cn
  outChannels: number;
  seChannels: number; // 0 = no squeeze-excite
  kernel: number;
  stride: number;
  act: Activation;
  residual: boolean;
}

/** timm's make_divisible: round to a multiple of `divisor`, never down by more than 10%. */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

/** Channel count under a width multiplier (timm's round_channels). */
export function roundChannels(channels: number, width: number): number {
  return width === 1 ? channels : makeDivisible(channels * width);
}

/** Resolves a table (stages of rows) into blocks named blocks.<stage>.<index>. */
export function planBlocks(stages: BlockRow[][], inChannels: number, width: number): BlockPlan[] {
  const blocks: BlockPlan[] = [];
  let channels = inChannels;
  stages.forEach((rows, stage) => {
    let index = 0;
    for (const r of rows) {
      for (let k = 0; k < r.repeat; k++) {
        const stride = k === 0 ? r.stride : 1;
        const out = roundChannels(r.out, width);
        const mid = r.kind === "ir" ? makeDivisible(channels * r.expand) : r.kind === "ds" ? channels : out;
        blocks.push({
          name: `blocks.${stage}.${index++}`,
          kind: r.kind,
          inChannels: channels,
          midChannels: mid,
          outChannels: out,
          seChannels: r.se ? makeDivisible(mid * 0.25) : 0,
          kernel: r.kernel,
          stride,
          act: r.act,
          residual: r.kind !== "cn" && stride === 1 && channels === out,
        });
        channels = out;
      }
    }
  });
  return blocks;
}

// ---- spec ---------------------------------------------------------------------

export function convSpec(spec: ModelSpec, name: string, out: number, inPerGroup: number, kernel: number): void {
  spec.set(`${name}.weight`, [out, inPerGroup, kernel, kernel]);
}

/** Every parameter of one block, in timm's order. */
export function blockSpec(spec: ModelSpec, b: BlockPlan): void {
  const n = b.name;
  const se = () => {
    if (b.seChannels === 0) return;
    convSpec(spec, `${n}.se.conv_reduce`, b.seChannels, b.midChannels, 1);
    spec.set(`${n}.se.conv_reduce.bias`, [b.seChannels]);
    convSpec(spec, `${n}.se.conv_expand`, b.midChannels, b.seChannels, 1);
    spec.set(`${n}.se.conv_expand.bias`, [b.midChannels]);
  };
  if (b.kind === "cn") {
    convSpec(spec, `${n}.conv`, b.outChannels, b.inChannels, b.kernel);
    bnSpec(spec, `${n}.bn1`, b.outChannels);
  } else if (b.kind === "ds") {
    convSpec(spec, `${n}.conv_dw`, b.inChannels, 1, b.kernel);
    bnSpec(spec, `${n}.bn1`, b.inChannels);
    se();
    convSpec(spec, `${n}.conv_pw`, b.outChannels, b.inChannels, 1);
    bnSpec(spec, `${n}.bn2`, b.outChannels);
  } else {
    convSpec(spec, `${n}.conv_pw`, b.midChannels, b.inChannels, 1);
    bnSpec(spec, `${n}.bn1`, b.midChannels);
    convSpec(spec, `${n}.conv_dw`, b.midChannels, 1, b.kernel);
    bnSpec(spec, `${n}.bn2`, b.midChannels);
    se();
    convSpec(spec, `${n}.conv_pwl`, b.outChannels, b.midChannels, 1);
    bnSpec(spec, `${n}.bn3`, b.outChannels);
  }
}

// ---- load and run -----------------------------------------------------------------

/** timm's symmetric padding for pad_type '': ((stride - 1) + (kernel - 1)) / 2. */
export function samePadding(kernel: number, stride: number): number {
  return Math.floor((stride - 1 + (kernel - 1)) / 2);
}

interface SqueezeExcite {
  reduceWeight: Tensor; // [rd, mid, 1, 1]
  reduceBias: Tensor; // [rd]
  expandWeight: Tensor; // [mid, rd, 1, 1]
  expandBias: Tensor; // [mid]
}

/** A block with BatchNorm folded: its convs in the order they run. */
export interface LoadedBlock {
  plan: BlockPlan;
  expand: FusedConv | null; // ir: conv_pw + bn1
  depthwise: FusedConv | null; // ds: conv_dw + bn1, ir: conv_dw + bn2
  se: SqueezeExcite | null;
  project: FusedConv; // ds: conv_pw + bn2, ir: conv_pwl + bn3, cn: conv + bn1
}

/** Conv padding: timm's symmetric `samePadding`, or TF's "same" (the odd pixel after, for TF-trained weights). */
export type PaddingMode = "symmetric" | "tf";

export function convPadding(mode: PaddingMode, kernel: number, stride: number): number | "same" {
  return mode === "tf" ? "same" : samePadding(kernel, stride);
}

export function loadBlock(
  b: BlockPlan,
  weights: Map<string, Tensor>,
  bnEps: number,
  padding: PaddingMode = "symmetric",
): LoadedBlock {
  const n = b.name;
  const fold = (conv: string, bn: string, kernel: number, stride: number, groups: number) =>
    foldConvBn(weights, `${n}.${conv}`, `${n}.${bn}`, bnEps, {
      stride,
      padding: convPadding(padding, kernel, stride),
      groups,
    });
  const se =
    b.seChannels === 0
      ? null
      : {
          reduceWeight: weights.get(`${n}.se.conv_reduce.weight`)!,
          reduceBias: weights.get(`${n}.se.conv_reduce.bias`)!,
          expandWeight: weights.get(`${n}.se.conv_expand.weight`)!,
          expandBias: weights.get(`${n}.se.conv_expand.bias`)!,
        };
  if (b.kind === "cn") {
    return { plan: b, expand: null, depthwise: null, se: null, project: fold("conv", "bn1", b.kernel, b.stride, 1) };
  }
  if (b.kind === "ds") {
    return {
      plan: b,
      expand: null,
      depthwise: fold("conv_dw", "bn1", b.kernel, b.stride, b.inChannels),
      se,
      project: fold("conv_pw", "bn2", 1, 1, 1),
    };
  }
  return {
    plan: b,
    expand: fold("conv_pw", "bn1", 1, 1, 1),
    depthwise: fold("conv_dw", "bn2", b.kernel, b.stride, b.midChannels),
    se,
    project: fold("conv_pwl", "bn3", 1, 1, 1),
  };
}

/** x[1, in, H, W] -> [1, out, H/stride, W/stride] */
export function runBlock(block: LoadedBlock, x: Tensor): Tensor {
  const { plan, expand, depthwise, se, project } = block;
  if (plan.kind === "cn") return runConv(x, project, plan.act);
  let h = x;
  if (expand) h = runConv(h, expand, plan.act); // activation fused into the conv's store
  if (depthwise) h = runConv(h, depthwise, plan.act);
  if (se) h = squeezeExcite(h, { ...se, activation: "relu", gate: "hardsigmoid" });
  h = runConv(h, project); // linear bottleneck: no activation
  return plan.residual ? add(h, x) : h;
}
