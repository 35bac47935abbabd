// Helpers shared by the 3-D ConvNet proposers (R3D, X3D): a Conv3d without bias followed by BatchNorm3d,
// folded into one conv3d at load time (foldBatchNorm works on weights of any rank).
import { conv3d, type Conv3dOptions } from "../tensor/conv3d.ts";
import type { FusedActivation } from "../tensor/gemm.ts";
import { declareConstant } from "../tensor/constants.ts";
import { foldBatchNorm } from "../tensor/norm.ts";
import { expectShape, type Tensor } from "../tensor/tensor.ts";

/** A 3-D convolution with BatchNorm already folded in: y = conv3d(x, weight) + bias. */
export interface FusedConv3d {
  weight: Tensor; // [O, C/groups, kt, kh, kw]
  bias: Tensor; // [O]
  options: Conv3dOptions;
}

/** conv `convName` (bias optional) followed by BatchNorm3d `bnName`, folded into one conv at load time. */
export function foldConv3dBn(
  weights: Map<string, Tensor>,
  convName: string,
  bnName: string,
  eps: number,
  options: Conv3dOptions,
): FusedConv3d {
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
export function runConv3d(x: Tensor, conv: FusedConv3d, activation: FusedActivation = "none"): Tensor {
  return conv3d(x, conv.weight, conv.bias, activation === "none" ? conv.options : { ...conv.options, activation });
}

/** Throws unless x is a batch of RGB clips [N, 3, T, H, W]. */
export function expectClip(op: string, x: Tensor): void {
  expectShape(op, "x", x, [-1, 3, -1, -1, -1]);
}
