// Shared checks for the ConvNet model goldens written by tools/golden/gen_{resnet,mobileone,tfjs_models}.py.
import * as assert from "uvu/assert";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";

type Fixture = ReturnType<typeof fixture>;

/** rand(name, shape) of tools/golden/common.py, checked against the committed first 64 values. */
export function goldenInput(golden: Fixture, name: string, shape: number[], headKey = "input_head"): Tensor {
  const x = syntheticTensor(name, shape, 1.0);
  assert.equal([...x.data.subarray(0, 64)], [...golden.get(headKey).data], "input rebuilt from the shared generator");
  return x;
}

/** The spec committed by the generator (model.state_dict() names and shapes, num_batches_tracked dropped). */
export function goldenSpec(golden: Fixture): [string, number[]][] {
  return Object.entries(JSON.parse(golden.metadata?.spec ?? "null") as Record<string, number[]>);
}

/** Spec as sorted "name [shape]" lines, for a readable diff when they differ. */
export function specLines(spec: Iterable<[string, readonly number[]]>): string[] {
  return [...spec].map(([name, shape]) => `${name} [${shape.join(",")}]`).sort();
}

/** Channel mean [h,w], spatial mean per channel [C], first 8 channels [8,h,w] of features [1,C,h,w]. */
export function compactFeatures(features: Tensor) {
  const [, C, h, w] = features.shape;
  const hw = h * w;
  const channelMean = new Float32Array(hw);
  const spatialMean = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let p = 0; p < hw; p++) {
      const v = features.data[c * hw + p];
      sum += v;
      channelMean[p] += v / C;
    }
    spatialMean[c] = sum / hw;
  }
  return {
    channelMean: new Tensor(channelMean, [h, w]),
    spatialMean: new Tensor(spatialMean, [C]),
    first8: new Tensor(features.data.slice(0, 8 * hw), [8, h, w]),
  };
}

/** Compares features (compact view) and logits with the fixture entries `${prefix}features_*`, `${prefix}logits`. */
export function assertGoldenOutputs(golden: Fixture, features: Tensor, logits: Tensor, tol: number, prefix = ""): void {
  const view = compactFeatures(features);
  assertClose(view.spatialMean, golden.get(`${prefix}features_spatial_mean`), tol, "features spatial mean");
  assertClose(view.channelMean, golden.get(`${prefix}features_channel_mean`), tol, "features channel mean");
  assertClose(view.first8, golden.get(`${prefix}features_first8`), tol, "features first 8 channels");
  assertClose(logits, golden.get(`${prefix}logits`), tol, "logits");
}

/** A 3-D proposer's features [1, C, t, h, w] and logits against its fixture (compact view over (t, h, w)). */
export function assertClipGolden(golden: Fixture, features: Tensor, logits: Tensor, tol: number): void {
  const [, C, t, h, w] = features.shape;
  const view = compactFeatures(features.reshape([1, C, t * h, w]));
  assertClose(view.spatialMean, golden.get("features_spatial_mean"), tol, "features mean per channel");
  const channelMean = golden.get("features_channel_mean");
  assertClose(view.channelMean.reshape(channelMean.shape), channelMean, tol, "features channel mean");
  const first8 = golden.get("features_first8");
  assertClose(view.first8.reshape(first8.shape), first8, tol, "features first 8 channels");
  assertClose(logits, golden.get("logits"), tol, "logits");
}
