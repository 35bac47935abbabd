// Kernels that move values without arithmetic: concat, gatherRows, transpose.
import { allocFloat32 } from "./arena.ts";
import { Tensor, ShapeError, expectRank, shapeStr, sizeOf } from "./tensor.ts";
import { expectMinRank, resolveAxis } from "./checks.ts";

/** Joins tensors of equal rank along `axis` (negative counts from the end); other sizes must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!(tensors instanceof Array) || tensors.length === 0) {
    throw new ShapeError("concat", "needs a non-empty array of tensors");
  }
  tensors.forEach((t, i) => expectMinRank("concat", `tensors[${i}]`, t, 1));
  const first = tensors[0].shape;
  const ax = resolveAxis("concat", axis, first);
  tensors.forEach((t, i) => {
    const sameOutsideAxis = t.rank === first.length && t.shape.every((d, k) => k === ax || d === first[k]);
    if (!sameOutsideAxis) {
      throw new ShapeError(
        "concat",
        `tensors[${i}] ${shapeStr(t.shape)} does not match tensors[0] ${shapeStr(first)} outside axis ${ax}`,
      );
    }
  });
  // View each tensor as [outer, chunk]: chunk = its size on the axis times everything after it.
  const outer = sizeOf(first.slice(0, ax));
  const inner = sizeOf(first.slice(ax + 1));
  const shape = [...first];
  shape[ax] = tensors.reduce((sum, t) => sum + t.shape[ax], 0);
  const out = allocFloat32(sizeOf(shape));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of tensors) {
      const chunk = t.shape[ax] * inner;
      out.set(t.data.subarray(o * chunk, (o + 1) * chunk), offset);
      offset += chunk;
    }
  }
  return new Tensor(out, shape);
}

/** Rows x[indices[0]], x[indices[1]], ... of x[N,D] -> [k,D]. Every index must be an integer in [0, N). */
export function gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
  expectRank("gatherRows", "x", x, 2);
  const [N, D] = x.shape;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= N) {
      throw new RangeError(
        `gatherRows: indices[${i}] = ${index} is not an integer row index in [0, ${N}) of x ${shapeStr(x.shape)}`,
      );
    }
  }
  const out = allocFloat32(indices.length * D);
  for (let i = 0; i < indices.length; i++) {
    out.set(x.data.subarray(indices[i] * D, (indices[i] + 1) * D), i * D);
  }
  return new Tensor(out, [indices.length, D]);
}

/** Permutes axes: out.shape[i] = x.shape[perm[i]] (torch's x.permute(perm), made contiguous). */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  expectMinRank("transpose", "x", x, 0);
  const rank = x.rank;
  const isPermutation =
    perm instanceof Array && perm.length === rank && [...perm].sort((p, q) => p - q).every((p, i) => p === i);
  if (!isPermutation) {
    throw new ShapeError(
      "transpose",
      `perm [${perm}] is not a permutation of 0..${rank - 1} for x ${shapeStr(x.shape)}`,
    );
  }
  const shape = perm.map((p) => x.shape[p]);
  const out = allocFloat32(x.size);
  if (out.length === 0) return new Tensor(out, shape);
  // Strides of x, listed in output axis order; an odometer walks the output in order.
  const xStrides = new Array<number>(rank);
  for (let axis = rank - 1, s = 1; axis >= 0; axis--) {
    xStrides[axis] = s;
    s *= x.shape[axis];
  }
  const stride = perm.map((p) => xStrides[p]);
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let to = 0; to < out.length; to++) {
    out[to] = x.data[from];
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      from += stride[axis];
      if (index[axis] < shape[axis]) break;
      from -= stride[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return new Tensor(out, shape);
}
