// The merged-groups panel of the --explain picture, on a 4x4 image with a 2x2 patch grid (2x2 pixels a patch).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { explainPicture, explainPictureWithGroups, mergedGroupsPanel } from "../../src/papr/explain.ts";
import { tensor } from "../../src/tensor/tensor.ts";
import type { RgbImage } from "../../src/image/image.ts";

const image: RgbImage = { width: 4, height: 4, data: new Uint8Array(4 * 4 * 3).fill(200) };
const pixel = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

test("merged groups are tinted and outlined, single tokens untouched, pruned patches dimmed", () => {
  // patches: 0 and 1 (top row) merged into token 5; patch 2 alone (token 3); patch 3 pruned
  const panel = mergedGroupsPanel(image, Int32Array.of(5, 5, 3, -1), [2, 2]);
  assert.is(panel.width, 4);
  assert.equal(pixel(panel, 0, 2), [200, 200, 200], "a patch held alone is shown as is");
  assert.equal(pixel(panel, 3, 3), [50, 50, 50], "a pruned patch is dimmed (0.25)");
  assert.equal(pixel(panel, 0, 1), [0, 0, 0], "the merged group's bottom edge borders another group: outlined");
  assert.equal(pixel(panel, 0, 0), pixel(panel, 3, 0), "one colour for the whole group");
  assert.not.equal(
    pixel(panel, 1, 0),
    [0, 0, 0],
    "inside the group (patch 0 next to patch 1 of the same group): no outline",
  );
  assert.not.equal(pixel(panel, 1, 0), [200, 200, 200], "the merged group is tinted");
  const other = mergedGroupsPanel(image, Int32Array.of(6, 6, 3, -1), [2, 2]);
  assert.not.equal(pixel(other, 1, 0), pixel(panel, 1, 0), "another group id gets another colour");
  assert.throws(
    () => mergedGroupsPanel(image, Int32Array.of(1, 2, 3), [2, 2]),
    /groupOf has 3 entries for a 2x2 patch grid/,
  );
});

test("explainPictureWithGroups = the three explain panels, a gap, the groups panel", () => {
  const significance = tensor([1, 2, 3, 4], [2, 2]);
  const mask = Uint8Array.of(1, 1, 1, 0);
  const groups = Int32Array.of(5, 5, 3, -1);
  const three = explainPicture(image, significance, mask);
  const four = explainPictureWithGroups(image, significance, mask, groups);
  assert.is(four.width, three.width + 8 + 4);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < three.width; x++) assert.equal(pixel(four, x, y), pixel(three, x, y));
    for (let x = 0; x < 4; x++)
      assert.equal(pixel(four, three.width + 8 + x, y), pixel(mergedGroupsPanel(image, groups, [2, 2]), x, y));
  }
});

test.run();
