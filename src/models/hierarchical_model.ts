// What hierarchical PaPr (PAPR-SPEC.md section 5, src/papr/hierarchical.ts) asks of a multi-stage
// backbone (ConvNeXt, Swin): its stage grids, its stage outputs, and a forward that masks the
// per-position work of every block of a stage where a stage mask says "background".
import { ShapeError, Tensor, shapeStr } from "../tensor/tensor.ts";

/** The part of src/papr/hierarchical.ts's StageMask a backbone reads: which positions of a stage are foreground. */
export interface SpatialMask {
  readonly height: number;
  readonly width: number;
  readonly foreground: Uint8Array; // [height * width] row-major, 1 = foreground
}

export interface MaskedForward {
  logits: Tensor; // [1, numClasses]
  stages: Tensor[]; // the output of every stage, [1, C_i, H_i, W_i]
}

export interface HierarchicalModel<Config = object> {
  readonly config: Required<Config>;
  readonly imageSize: number; // what the weights were trained at
  readonly numStages: number;
  /** The [H, W] grid of every stage's output for a square input of `imageSize` pixels. */
  stageGrids(imageSize: number): Array<[number, number]>;
  /** x [1, 3, S, S] -> the output of every stage. */
  features(x: Tensor): Tensor[];
  /** x [1, 3, S, S] -> logits [1, numClasses]. */
  forward(x: Tensor): Tensor;
  /** The forward with masks[i] applied in every block of stage i (null: stage i unmasked). */
  forwardMasked(x: Tensor, masks: ReadonlyArray<SpatialMask | null>): MaskedForward;
}

/** Row-major positions where the mask is foreground, ascending. */
export function foregroundIndices(mask: SpatialMask): Int32Array {
  const out = new Int32Array(mask.foreground.reduce((n, v) => n + (v ? 1 : 0), 0));
  let k = 0;
  for (let p = 0; p < mask.foreground.length; p++) if (mask.foreground[p]) out[k++] = p;
  return out;
}

/** rows [k, D] placed at positions `indices` of a zero [n, D] (the inverse of gatherRows). */
export function scatterRows(rows: Tensor, indices: Int32Array, n: number): Tensor {
  const [k, D] = rows.shape;
  if (rows.rank !== 2 || k !== indices.length)
    throw new ShapeError("scatterRows", `rows ${shapeStr(rows.shape)} do not match ${indices.length} indices`);
  const out = new Float32Array(n * D);
  for (let r = 0; r < k; r++) {
    const p = indices[r];
    if (!(p >= 0 && p < n)) throw new ShapeError("scatterRows", `index ${p} outside [0, ${n})`);
    out.set(rows.data.subarray(r * D, (r + 1) * D), p * D);
  }
  return new Tensor(out, [n, D]);
}

/** Checks a stage's mask against the stage's grid before any work. */
export function expectMaskFits(op: string, mask: SpatialMask, height: number, width: number): void {
  if (mask.height !== height || mask.width !== width || mask.foreground.length !== height * width)
    throw new ShapeError(
      op,
      `mask for a ${mask.height}x${mask.width} grid (${mask.foreground.length} values) given to a ${height}x${width} stage`,
    );
}
