// The tensor type: a float32 buffer plus a shape (row-major, contiguous).
// Kernels take and return these; `nd()` gives an ndarray view for the code that
// prefers strided access (ndarray-ops), without copying.
import ndarray, { type NdArray } from "ndarray";

export type Shape = readonly number[];

export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "ShapeError";
  }
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: number[];

  constructor(data: Float32Array, shape: Shape) {
    const size = sizeOf(shape);
    if (!(data instanceof Float32Array)) {
      throw new ShapeError("Tensor", `data must be a Float32Array, got ${describeValue(data)}`);
    }
    if (data.length !== size) {
      throw new ShapeError("Tensor", `data has ${data.length} elements but shape [${shape.join(", ")}] needs ${size}`);
    }
    this.data = data;
    this.shape = [...shape];
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** A view with another shape of the same size (no copy). */
  reshape(shape: Shape): Tensor {
    const resolved = resolveShape(shape, this.size, "reshape");
    return new Tensor(this.data, resolved);
  }

  /** An ndarray view over the same buffer (no copy). */
  nd(): NdArray<Float32Array> {
    return ndarray(this.data, this.shape);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  toString(): string {
    return `Tensor[${this.shape.join("x")}]`;
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError("shape", `invalid dimension ${d} in [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

function resolveShape(shape: Shape, size: number, op: string): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0)
      throw new ShapeError(op, `cannot infer -1 in [${shape.join(", ")}] for ${size} elements`);
    out[free] = size / rest;
  }
  if (sizeOf(out) !== size) throw new ShapeError(op, `cannot view ${size} elements as [${shape.join(", ")}]`);
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

// ---- constructors ----------------------------------------------------------

export function tensor(data: ArrayLike<number>, shape: Shape): Tensor {
  return new Tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape);
}

export function zeros(shape: Shape): Tensor {
  return new Tensor(new Float32Array(sizeOf(shape)), shape);
}

export function full(shape: Shape, value: number): Tensor {
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

// ---- checks shared by the kernels -------------------------------------------

export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Throws a ShapeError naming `op` unless `t` has rank `rank`. */
export function expectRank(op: string, name: string, t: Tensor, rank: number | number[]): void {
  const ranks = Array.isArray(rank) ? rank : [rank];
  if (!(t instanceof Tensor)) throw new ShapeError(op, `${name} must be a Tensor, got ${describeValue(t)}`);
  if (!ranks.includes(t.rank)) {
    throw new ShapeError(op, `${name} must have rank ${ranks.join(" or ")}, got shape ${shapeStr(t.shape)}`);
  }
}

/** Throws unless `t.shape` equals `expected` (-1 = any size on that axis). */
export function expectShape(op: string, name: string, t: Tensor, expected: Shape): void {
  if (!(t instanceof Tensor)) throw new ShapeError(op, `${name} must be a Tensor, got ${describeValue(t)}`);
  const ok = t.rank === expected.length && expected.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d) => (d === -1 ? "*" : String(d))).join(", ");
    throw new ShapeError(op, `${name} must have shape [${want}], got ${shapeStr(t.shape)}`);
  }
}
