// Step 3 of PaPr: the proposal map R = mean over the K channels of the
// proposer's last feature map F [1, K, h, w]. No abs, no softmax.
import { Tensor, ShapeError, expectRank } from "../tensor/tensor.ts";

export function proposalMap(features: Tensor): Tensor {
  expectRank("proposalMap", "features", features, 4);
  const [batch, K, h, w] = features.shape;
  if (batch !== 1)
    throw new ShapeError(
      "proposalMap",
      `features must hold one image, got batch ${batch} in [${features.shape.join(", ")}]`,
    );
  const R = new Float32Array(h * w);
  const F = features.data;
  for (let p = 0; p < h * w; p++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += F[k * h * w + p];
    R[p] = sum / K;
  }
  return new Tensor(R, [h, w]);
}
