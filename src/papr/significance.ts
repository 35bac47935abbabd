// docs/algorithm.md step 4: the patch significance map P = the proposal map R [h, w]
// resized to the ViT's patch grid [H, W] with bicubic interpolation,
// align_corners = true (PyTorch's kernel: A = -0.75, border taps clamped).
import { interpolate } from "../tensor/interpolate.ts";
import { Tensor, expectRank } from "../tensor/tensor.ts";

export function patchSignificance(proposal: Tensor, grid: [number, number]): Tensor {
  expectRank("patchSignificance", "proposal", proposal, 2);
  const [h, w] = proposal.shape;
  const resized = interpolate(proposal.reshape([1, 1, h, w]), { size: grid, mode: "bicubic", alignCorners: true });
  return resized.reshape(grid);
}
