// interpolate against torch.nn.functional.interpolate (gen_conv_kernels.py): bicubic and bilinear with
// align_corners false and true, nearest; up, down, non-square, 1x1 -> 14x14, out = 1, same size,
// and the PaPr proposal resize 7x7 -> 14x14 bicubic align_corners=True.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { interpolate, type InterpolateMode } from "../../src/tensor/interpolate.ts";
import { tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError, throwsWith } from "./golden_cases.ts";

const golden = fixture("kernel_interpolate");
const TOL = 1e-5; // float32 kernel

// RESIZE_CASES of gen_conv_kernels.py: name, size, mode, alignCorners (undefined for nearest)
const CASES: [string, [number, number], InterpolateMode, boolean | undefined][] = [];
for (const mode of ["bicubic", "bilinear"] as const) {
  for (const align of [false, true]) {
    const tag = `${mode}_${align ? "align" : "noalign"}`;
    CASES.push(
      [`${tag}_up`, [9, 11], mode, align],
      [`${tag}_down`, [5, 7], mode, align],
      [`${tag}_1x1_to_14x14`, [14, 14], mode, align],
      [`${tag}_to_1x3`, [1, 3], mode, align],
      [`${tag}_same_size`, [6, 6], mode, align],
    );
  }
}
CASES.push(
  ["bicubic_align_7x7_to_14x14", [14, 14], "bicubic", true],
  ["bicubic_align_7x7_to_14x14_batch2", [14, 14], "bicubic", true],
  ["nearest_up", [9, 11], "nearest", undefined],
  ["nearest_down", [5, 7], "nearest", undefined],
  ["nearest_exact_double", [8, 6], "nearest", undefined],
  ["nearest_3_to_7", [7, 7], "nearest", undefined],
  ["nearest_1x1_to_14x14", [14, 14], "nearest", undefined],
);

test("the fixture has exactly the cases of this table", () => {
  assertSameCases(
    golden.keys,
    CASES.map(([n]) => n),
  );
});

for (const [name, size, mode, alignCorners] of CASES) {
  test(`interpolate ${name} matches torch`, () => {
    const out = interpolate(golden.get(`${name}.x`), { size, mode, alignCorners });
    assertClose(out, golden.get(`${name}.out`), TOL, name);
  });
}

test("interpolate by hand: align_corners=True keeps the corners, bilinear midpoints average", () => {
  const x = tensor([0, 10, 20, 30], [1, 1, 2, 2]);
  const bilinear = interpolate(x, { size: [3, 3], mode: "bilinear", alignCorners: true });
  assert.equal([...bilinear.data], [0, 5, 10, 10, 15, 20, 20, 25, 30]);
  const bicubic = interpolate(x, { size: [5, 5], mode: "bicubic", alignCorners: true });
  assert.equal([bicubic.data[0], bicubic.data[4], bicubic.data[20], bicubic.data[24]], [0, 10, 20, 30]);
});

test("interpolate errors: bad sizes, modes and alignCorners with nearest", () => {
  const x = zeros([1, 2, 4, 4]);
  for (const size of [[7.5, 3], [0, 3], [3], [3, 3, 3], "14"]) {
    throwsShapeError(
      () => interpolate(x, { size: size as never, mode: "bilinear" }),
      "interpolate",
      "size must be",
      JSON.stringify(size),
      "[1, 2, 4, 4]",
    );
  }
  throwsShapeError(
    () => interpolate(zeros([2, 4, 4]), { size: [2, 2], mode: "bilinear" }),
    "interpolate",
    "x must have rank 4",
  );
  throwsWith(RangeError, () => interpolate(x, { size: [2, 2], mode: "area" as never }), [
    "interpolate",
    "mode",
    "area",
  ]);
  throwsWith(RangeError, () => interpolate(x, { size: [2, 2], mode: "nearest", alignCorners: true }), [
    "interpolate",
    "alignCorners",
  ]);
});

test.run();
