// Small argument checks shared by the kernels (beside expectRank / expectShape in tensor.ts).
import { Tensor, ShapeError, expectRank, shapeStr } from "./tensor.ts";

/** Throws a ShapeError naming `op` unless `t` is a Tensor of rank >= `min`. */
export function expectMinRank(op: string, name: string, t: Tensor, min: number): void {
  if (!(t instanceof Tensor)) expectRank(op, name, t, min); // throws "... must be a Tensor"
  if (t.rank < min) throw new ShapeError(op, `${name} must have rank >= ${min}, got shape ${shapeStr(t.shape)}`);
}

/** Resolves a possibly negative axis for a tensor of rank `rank`; throws naming `op` when out of range. */
export function resolveAxis(op: string, axis: number, shape: readonly number[]): number {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(op, `axis ${axis} is out of range for shape ${shapeStr(shape)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Thrown when a stage of a forward produces NaN or infinity: a ranking of NaNs is not a ranking. */
export class NonFiniteError extends Error {
  constructor(
    readonly stage: string,
    count: number,
    size: number,
  ) {
    super(
      `PaPr: ${stage} has ${count} non-finite values (NaN or infinity) of ${size}; the weights or the input are broken`,
    );
    this.name = "NonFiniteError";
  }
}

/** Returns `t` unless it holds a NaN or an infinity; then throws a NonFiniteError naming `stage`. */
export function checkFinite(stage: string, t: Tensor): Tensor {
  let bad = 0;
  for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) bad++;
  if (bad > 0) throw new NonFiniteError(stage, bad, t.data.length);
  return t;
}
