// What a model expects of its weights, and the one check every model runs at construction: a
// weight map against the model's spec, with one error listing every problem.
import { declareConstant } from "../tensor/constants.ts";
import { listSome } from "../tensor/quote.ts";
import { ShapeError, shapeStr, type Tensor } from "../tensor/tensor.ts";

/** Every parameter a model expects, name -> shape, in checkpoint order. */
export type ModelSpec = Map<string, number[]>;

/** Names shown per list in checkWeights' error (a checkpoint for another model can have thousands). */
const LISTED_NAMES = 12;

/**
 * Throws ONE ShapeError naming `op` and listing (up to LISTED_NAMES of) every missing, unexpected and mis-shaped
 * weight (expected vs actual shape), or returns when `weights` matches `spec` exactly. Weights that match are
 * declared constant (tensor/constants.ts): the model treats them as immutable from then on.
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
  if (missing.length + misShaped.length + unexpected.length === 0) {
    declareConstant(...weights.values());
    return;
  }
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

/** What every ConvNet here offers (each is a possible PaPr proposer): its last feature map, its head, the whole forward. */
export interface ConvNetModel<Config> {
  readonly config: Required<Config>;
  readonly imageSize: number; // what the pretrained weights were trained at (any size runs)
  readonly featureChannels: number; // K of features()
  features(x: Tensor): Tensor; // [1, 3, H, W] -> [1, K, h, w], the last conv stage after its activation
  head(features: Tensor): Tensor; // [1, K, h, w] -> [1, numClasses]
  forward(x: Tensor): Tensor; // [1, 3, H, W] -> [1, numClasses] logits
}

/** What every 3-D ConvNet here offers (a possible proposer for video PaPr): like ConvNetModel, over clips. */
export interface VideoConvNetModel<Config> {
  readonly config: Required<Config>;
  readonly clipSize: readonly [number, number, number]; // [T, H, W] the pretrained weights were trained at (any size runs)
  readonly featureChannels: number; // K of features()
  features(x: Tensor): Tensor; // [N, 3, T, H, W] -> [N, K, t, h, w], the last conv stage after its activation
  head(features: Tensor): Tensor; // [N, K, t, h, w] -> [N, numClasses]
  forward(x: Tensor): Tensor; // [N, 3, T, H, W] -> [N, numClasses] logits
}
