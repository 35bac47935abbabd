// Helpers shared by the ConvNet proposers (ResNet, MobileOne, MobileNetV1, Darknet-Tiny):
// checking a weight map against a model's spec, and folding BatchNorm into the conv before it.
import { conv2d, type Conv2dOptions } from "../tensor/conv.ts";
import { foldBatchNorm } from "../tensor/norm.ts";
import { ShapeError, expectShape, shapeStr, type Tensor } from "../tensor/tensor.ts";
import { listSome } from "../tensor/quote.ts";

/** Every parameter a model expects, name -> shape, in checkpoint order. */
export type ModelSpec = Map<string, number[]>;

/** Names shown per list in checkWeights' error (a checkpoint for another model can have thousands). */
const LISTED_NAMES = 12;

/**
 * Throws ONE ShapeError naming `op` and listing (up to LISTED_NAMES of) every missing, unexpected and mis-shaped
 * weight (expected vs actual shape), or returns when `weights` matches `spec` exactly.
 */
export function checkWeights(op: string, spec: ModelSpec, weights: Map<string, Tensor>): void {
  const missing: string[] = [];
  const misShaped: string[] = [];
  for (const [name, shape] of spec) {
    const t = weights.get(name);
    if (!t) missing.push(`${name} ${shapeStr(shape)}`);
    else if (t.shape.join() !== shape.join())
      misShaped.push(`${name}: expected ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  const unexpected = [...weights.keys()]
    .filter((name) => !spec.has(name))
    .map((name) => `${name} ${shapeStr(weights.get(name)!.shape)}`);
  if (missing.length + misShaped.length + unexpected.length === 0) return;
  const parts = [];
  const found = spec.size - missing.length;
  if (found < spec.size / 10) {
    parts.push(
      `only ${found} of the ${spec.size} expected tensors are present: is this checkpoint for another architecture or naming scheme?`,
    );
  }
  if (missing.length) parts.push(`missing (${missing.length}): ${listSome(missing, LISTED_NAMES)}`);
  if (unexpected.length) parts.push(`unexpected (${unexpected.length}): ${listSome(unexpected, LISTED_NAMES)}`);
  if (misShaped.length) parts.push(`wrong shape (${misShaped.length}): ${listSome(misShaped, LISTED_NAMES, "; ")}`);
  throw new ShapeError(
    op,
    `weights do not match the model spec (${spec.size} tensors expected):\n  ${parts.join("\n  ")}`,
  );
}

/** The four BatchNorm entries of `prefix` (weight, bias, running_mean, running_var) as spec lines. */
export function bnSpec(spec: ModelSpec, prefix: string, channels: number): void {
  for (const key of ["weight", "bias", "running_mean", "running_var"]) spec.set(`${prefix}.${key}`, [channels]);
}

/** A convolution with BatchNorm (if any) already folded in: y = conv(x, weight) + bias. */
export interface FusedConv {
  weight: Tensor; // [O, C/groups, kh, kw]
  bias: Tensor; // [O]
  options: Conv2dOptions;
}

/** conv `convName` (no bias) followed by BatchNorm `bnName`, folded into one conv at load time. */
export function foldConvBn(
  weights: Map<string, Tensor>,
  convName: string,
  bnName: string,
  eps: number,
  options: Conv2dOptions,
): FusedConv {
  const get = (name: string) => weights.get(name)!; // names were checked against the spec
  const folded = foldBatchNorm(get(`${convName}.weight`), weights.get(`${convName}.bias`) ?? null, {
    weight: get(`${bnName}.weight`),
    bias: get(`${bnName}.bias`),
    runningMean: get(`${bnName}.running_mean`),
    runningVar: get(`${bnName}.running_var`),
    eps,
  });
  return { weight: folded.weight, bias: folded.bias, options };
}

export function runConv(x: Tensor, conv: FusedConv): Tensor {
  return conv2d(x, conv.weight, conv.bias, conv.options);
}

/** Throws unless x is one RGB image [1, 3, H, W]. */
export function expectImage(op: string, x: Tensor): void {
  expectShape(op, "x", x, [1, 3, -1, -1]);
}
