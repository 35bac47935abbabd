// The --explain picture: three panels side by side,
//   [ input | patch significance heatmap | input with pruned patches dimmed ]
// drawn into an RGB buffer (no Node built-ins, so it also runs in a browser).
import type { RgbImage } from "../image/image.ts";
import type { Tensor } from "../tensor/tensor.ts";

const GAP = 8; // pixels between panels

/**
 * image: the preprocessed input as RGB pixels (S x S); significance [H, W]; mask [H * W] (1 = kept).
 */
export function explainPicture(image: RgbImage, significance: Tensor, mask: Uint8Array, dim = 0.25): RgbImage {
  const { width: S, height: T } = image;
  const [H, W] = significance.shape;
  const out: RgbImage = { width: 3 * S + 2 * GAP, height: T, data: new Uint8Array((3 * S + 2 * GAP) * T * 3).fill(255) };
  const [lo, hi] = range(significance.data);
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < S; x++) {
      const src = (y * S + x) * 3;
      const patch = Math.min(H - 1, Math.floor((y * H) / T)) * W + Math.min(W - 1, Math.floor((x * W) / S));
      const heat = colormap((significance.data[patch] - lo) / (hi - lo || 1));
      const keep = mask[patch] === 1;
      for (let c = 0; c < 3; c++) {
        const v = image.data[src + c];
        out.data[(y * out.width + x) * 3 + c] = v;
        out.data[(y * out.width + S + GAP + x) * 3 + c] = Math.round(0.35 * v + 0.65 * heat[c]);
        out.data[(y * out.width + 2 * (S + GAP) + x) * 3 + c] = keep ? v : Math.round(v * dim);
      }
    }
  }
  return out;
}

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

// A perceptually ordered dark-blue -> magenta -> orange -> yellow ramp (inferno-like), t in [0, 1].
const STOPS: [number, number, number][] = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]];

export function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}
