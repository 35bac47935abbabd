// interpolateTrilinear: torch.nn.functional.interpolate(x, size, mode="trilinear", align_corners) for
// NCTHW clips (PaPr's video proposer map is resized this way to the ViT's token grid).
//
// Separable, like the bilinear resize of interpolate.ts and with its taps (axisTaps "bilinear": two input
// indices and weights per output index, torch's source coordinates in float32):
//   out[ot, oy, ox] = sum_a sum_b sum_c wt[a] wy[b] wx[c] x[it[a], iy[b], ix[c]]     (float64 sums)
import { allocFloat32 } from "./arena.ts";
import { axisTaps } from "./interpolate.ts";
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";

/** x[N,C,T,H,W] -> [N,C,outT,outH,outW] */
export function interpolateTrilinear(
  x: Tensor,
  size: readonly [number, number, number],
  alignCorners: boolean,
): Tensor {
  expectRank("interpolateTrilinear", "x", x, 5);
  const [N, C, T, H, W] = x.shape;
  if (!Array.isArray(size) || size.length !== 3 || !size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new ShapeError(
      "interpolateTrilinear",
      `size must be three integers >= 1 [outT, outH, outW], got ${JSON.stringify(size)} (x ${shapeStr(x.shape)})`,
    );
  }
  if (T === 0 || H === 0 || W === 0)
    throw new ShapeError("interpolateTrilinear", `x ${shapeStr(x.shape)} has no cells`);
  if (typeof alignCorners !== "boolean") {
    throw new TypeError(
      `interpolateTrilinear: alignCorners must be true or false, got ${JSON.stringify(alignCorners)}`,
    );
  }
  const [outT, outH, outW] = size;
  const frames = axisTaps("bilinear", T, outT, alignCorners);
  const rows = axisTaps("bilinear", H, outH, alignCorners);
  const cols = axisTaps("bilinear", W, outW, alignCorners);
  const out = allocFloat32(N * C * outT * outH * outW);
  let at = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const volume = nc * T * H * W;
    for (let ot = 0; ot < outT; ot++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let sum = 0;
          for (let a = 2 * ot; a < 2 * ot + 2; a++) {
            const frame = volume + frames.index[a] * H * W;
            let frameSum = 0;
            for (let b = 2 * oy; b < 2 * oy + 2; b++) {
              const row = frame + rows.index[b] * W;
              const rowSum =
                cols.weight[2 * ox] * x.data[row + cols.index[2 * ox]] +
                cols.weight[2 * ox + 1] * x.data[row + cols.index[2 * ox + 1]];
              frameSum += rows.weight[b] * rowSum;
            }
            sum += frames.weight[a] * frameSum;
          }
          out[at++] = sum;
        }
      }
    }
  }
  return new Tensor(out, [N, C, outT, outH, outW]);
}
