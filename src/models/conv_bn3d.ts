// Helpers shared by the 3-D ConvNet proposers (R3D, X3D): a Conv3d without bias followed by BatchNorm3d,
// folded into one conv3d at load time (conv_bn.ts's foldConvBn: foldBatchNorm works on weights of any rank).
import { conv3d, type Conv3dOptions } from "../tensor/conv3d.ts";
import { foldConvBn, type FusedConv } from "./conv_bn.ts";
import type { FusedActivation } from "../tensor/gemm.ts";
import { expectShape, type Tensor } from "../tensor/tensor.ts";

/** A 3-D convolution with BatchNorm already folded in: y = conv3d(x, weight) + bias. */
export type FusedConv3d = FusedConv<Conv3dOptions>;

/** conv `convName` (bias optional) followed by BatchNorm3d `bnName`, folded into one conv3d at load time. */
export function foldConv3dBn(
  weights: Map<string, Tensor>,
  convName: string,
  bnName: string,
  eps: number,
  options: Conv3dOptions,
): FusedConv3d {
  return foldConvBn(weights, convName, bnName, eps, options);
}

/** The conv, with `activation` fused into its store (the same values as applying it afterwards). */
export function runConv3d(x: Tensor, conv: FusedConv3d, activation: FusedActivation = "none"): Tensor {
  return conv3d(x, conv.weight, conv.bias, activation === "none" ? conv.options : { ...conv.options, activation });
}

/** Throws unless x is a batch of RGB clips [N, 3, T, H, W]. */
export function expectClip(op: string, x: Tensor): void {
  expectShape(op, "x", x, [-1, 3, -1, -1, -1]);
}
