// softmax along one axis, numerically stable: exp(x - max) / sum(exp(x - max)),
// sums in float64. A lane of all -Infinity gives NaN, as in torch.
import { allocFloat32 } from "./arena.ts";
import { Tensor } from "./tensor.ts";
import { expectMinRank, resolveAxis } from "./checks.ts";

export function softmax(x: Tensor, axis = -1): Tensor {
  expectMinRank("softmax", "x", x, 1);
  const ax = resolveAxis("softmax", axis, x.shape);
  // View x as [outer, length, inner]: the lane (o, i) is x[o, 0..length-1, i].
  const length = x.shape[ax];
  const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const out = allocFloat32(x.size);
  const exps = new Float64Array(length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      softmaxLane(x.data, out, start, inner, length, exps);
    }
  }
  return new Tensor(out, x.shape);
}

/** out[start + t*step] = softmax of x[start + t*step], t < length; `exps` is scratch of that length. */
export function softmaxLane(
  x: ArrayLike<number>,
  out: { [i: number]: number },
  start: number,
  step: number,
  length: number,
  exps: Float64Array,
): void {
  let max = -Infinity;
  for (let t = 0; t < length; t++) {
    const v = x[start + t * step];
    if (v > max || Number.isNaN(v)) max = v;
  }
  let sum = 0;
  for (let t = 0; t < length; t++) {
    exps[t] = Math.exp(x[start + t * step] - max);
    sum += exps[t];
  }
  for (let t = 0; t < length; t++) out[start + t * step] = exps[t] / sum;
}
