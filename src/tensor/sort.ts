// Ranking: argsortDescending and topk.
//
// Order: larger values first; equal values keep their original order (lower index
// first, like torch.sort(stable=True, descending=True)); -0 and 0 are equal.
// NaN sorts LAST (after -Infinity), in index order. This differs on purpose from
// torch, which treats NaN as larger than everything: a NaN score should never win
// a place in a top-k.
import { Tensor } from "./tensor.ts";

/** Indices that sort `values` in descending order (stable; NaN last). A Tensor is read as its flat data. */
export function argsortDescending(values: ArrayLike<number> | Tensor): Int32Array {
  const v = values instanceof Tensor ? values.data : values;
  const order = Array.from({ length: v.length }, (_, i) => i);
  order.sort((i, j) => {
    const a = v[i];
    const b = v[j];
    const aNaN = Number.isNaN(a);
    const bNaN = Number.isNaN(b);
    if (aNaN !== bNaN) return aNaN ? 1 : -1;
    if (!aNaN && a !== b) return a > b ? -1 : 1;
    return i - j;
  });
  return Int32Array.from(order);
}

/** The k largest values in descending order and their indices (ties: lower index first; NaN last). */
export function topk(values: ArrayLike<number> | Tensor, k: number): { values: Float32Array; indices: Int32Array } {
  const v = values instanceof Tensor ? values.data : values;
  if (!Number.isInteger(k) || k < 0 || k > v.length) {
    throw new RangeError(`topk: k = ${k} must be an integer in [0, ${v.length}] (number of values)`);
  }
  const indices = argsortDescending(v).slice(0, k);
  return { values: Float32Array.from(indices, (i) => v[i]), indices };
}
