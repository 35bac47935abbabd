// Helpers shared by the ConvNet proposers (ResNet, MobileOne, MobileNets, Darknet-Tiny): BatchNorm spec
// lines, and folding BatchNorm into the conv before it at load time.
import { conv2d, type Conv2dOptions } from "../tensor/conv.ts";
import type { FusedActivation } from "../tensor/gemm.ts";
import { declareConstant } from "../tensor/constants.ts";
import { foldBatchNorm } from "../tensor/norm.ts";
import { expectShape, type Tensor } from "../tensor/tensor.ts";
import type { ModelSpec } from "./model_spec.ts";

/** The four BatchNorm entries of `prefix` (weight, bias, running_mean, running_var) as spec lines. */
export function bnSpec(spec: ModelSpec, prefix: string, channels: number): void {
  for (const key of ["weight", "bias", "running_mean", "running_var"]) spec.set(`${prefix}.${key}`, [channels]);
}

/** A convolution with BatchNorm (if any) already folded in: y = conv(x, weight) + bias (2-D, or 3-D in conv_bn3d.ts). */
export interface FusedConv<Options = Conv2dOptions> {
  weight: Tensor; // [O, C/groups, kh, kw] ([O, C/groups, kt, kh, kw] for 3-D)
  bias: Tensor; // [O]
  options: Options;
}

/** conv `convName` (bias optional) followed by BatchNorm `bnName`, folded into one conv at load time (any rank). */
export function foldConvBn<Options = Conv2dOptions>(
  weights: Map<string, Tensor>,
  convName: string,
  bnName: string,
  eps: number,
  options: Options,
): FusedConv<Options> {
  const get = (name: string) => weights.get(name)!; // names were checked against the spec
  const folded = foldBatchNorm(get(`${convName}.weight`), weights.get(`${convName}.bias`) ?? null, {
    weight: get(`${bnName}.weight`),
    bias: get(`${bnName}.bias`),
    runningMean: get(`${bnName}.running_mean`),
    runningVar: get(`${bnName}.running_var`),
    eps,
  });
  declareConstant(folded.weight, folded.bias); // the model's from now on
  return { weight: folded.weight, bias: folded.bias, options };
}

/** The conv, with `activation` fused into its store (the same values as applying it afterwards). */
export function runConv(x: Tensor, conv: FusedConv, activation: FusedActivation = "none"): Tensor {
  return conv2d(x, conv.weight, conv.bias, activation === "none" ? conv.options : { ...conv.options, activation });
}

/** Throws unless x is one RGB image [1, 3, H, W]. */
export function expectImage(op: string, x: Tensor): void {
  expectShape(op, "x", x, [1, 3, -1, -1]);
}
