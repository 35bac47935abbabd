// Both quantization tests' check that the simulated path (float kernels on grid values) gives the integer
// path's results bit for bit: the last feature map (integers times its scale) and the logits.
import * as assert from "uvu/assert";
import type { Tensor } from "../../src/tensor/tensor.ts";

interface Simulated {
  features(x: Tensor): Tensor;
  forward(x: Tensor): Tensor;
}

export function assertSimulatedEqualsInteger(
  sim: Simulated,
  integer: { features: { data: ArrayLike<number> }; logits: ArrayLike<number> },
  featureScale: number,
  probe: Tensor,
  what: string,
): void {
  const features = sim.features(probe);
  assert.ok(
    features.data.every((v, i) => v === integer.features.data[i] * featureScale),
    `${what}: features differ`,
  );
  const logits = sim.forward(probe).data;
  assert.ok(
    logits.every((v, k) => Object.is(v, integer.logits[k])),
    `${what}: logits differ`,
  );
}
