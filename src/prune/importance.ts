// Weight importance scores for unstructured pruning, from the weights alone (docs/dimap.md).
//
// DIMAP (He & Zhou, ICLR 2024, section 3): within one layer, order the weights by magnitude, largest first
// (p_1 the largest, ties by flat index), and score weight p_j by the share of the information distortion its
// removal adds among the weights ranked at or above it:
//   Imp(W_pj) = W_pj^2 / sum_{i <= j} W_pi^2
// The largest weight of every layer scores 1; scores fall with the rank inside a layer (numerator
// non-increasing, denominator non-decreasing, also in float64 rounding), so the layer's own magnitude order is
// kept, while layers with very different weight scales become comparable (the score is a ratio within the
// layer). The paper writes the sum as "i <= p_j"; read with ascending order (p_1 the smallest) the score would
// be largest for the smallest weights and invert the layer's ranking, which the paper says DIMAP preserves, so
// the order is descending. Magnitude pruning's score is |W|.
//
// Sums in float64, in rank order (the PyTorch reference, tools/golden/dimap_ref.py, does the same so that
// masks compare exactly). Both scores are non-increasing along the rank order, so the ascending order that
// mask.ts needs is the rank order reversed (checked, with a sort as the fallback).

export type ScoreName = "dimap" | "magnitude";

export interface LayerScores {
  byIndex: Float64Array; // score of weight i (flat order)
  ascending: Float64Array; // the same scores sorted ascending
}

/**
 * Flat indices of `w` by |w| descending, ties by index ascending: a stable least-significant-digit radix sort
 * (two 16-bit passes) on 0x7fffffff - (the float32 bits of |w|), which are monotone in |w|.
 */
export function magnitudeOrder(w: Float32Array): Uint32Array {
  const n = w.length;
  const bits = new Uint32Array(w.buffer, w.byteOffset, n);
  const key = new Uint32Array(n);
  for (let i = 0; i < n; i++) key[i] = 0x7fffffff - (bits[i] & 0x7fffffff);
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  for (const shift of [0, 16]) {
    const counts = new Uint32Array(65537);
    for (let i = 0; i < n; i++) counts[((key[i] >>> shift) & 0xffff) + 1]++;
    for (let d = 1; d <= 65536; d++) counts[d] += counts[d - 1];
    for (let k = 0; k < n; k++) {
      const i = order[k];
      next[counts[(key[i] >>> shift) & 0xffff]++] = i;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** The scores of one layer's weights (float32 values, flat order). */
export function layerScores(w: Float32Array, score: ScoreName): LayerScores {
  const order = magnitudeOrder(w);
  const n = w.length;
  const ranked = new Float64Array(n); // scores in rank order (non-increasing)
  if (score === "magnitude") {
    for (let k = 0; k < n; k++) ranked[k] = Math.abs(w[order[k]]);
  } else {
    let energy = 0;
    for (let k = 0; k < n; k++) {
      const square = w[order[k]] * w[order[k]];
      energy += square;
      ranked[k] = energy > 0 ? square / energy : 0;
    }
  }
  const byIndex = new Float64Array(n);
  for (let k = 0; k < n; k++) byIndex[order[k]] = ranked[k];
  const ascending = ranked.reverse();
  for (let k = 1; k < n; k++)
    if (ascending[k] < ascending[k - 1]) return { byIndex, ascending: byIndex.slice().sort() };
  return { byIndex, ascending };
}

/** DIMAP's score of every weight of one layer, in the layer's flat order. */
export function dimapScores(w: Float32Array): Float64Array {
  return layerScores(w, "dimap").byIndex;
}
