// The video explain strip (src/plot/mask_strip.ts) on a synthetic clip: panel layout, kept tokens
// unchanged, pruned tokens grey and dimmed, the right frame per slice, box outlines, the animated form,
// and bad input refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { drawMaskStrip, maskedClip } from "../../src/plot/mask_strip.ts";
import type { RgbClip } from "../../src/image/clip.ts";

// 4 frames of 8 x 6 px, 2 slices (tubelet 2), token grid 3 x 4 (2 x 2 px per token).
// Frame t is a solid colour [40 + 50 t, 200 - 40 t, 100].
const W = 8;
const H = 6;
function clip(): RgbClip {
  const data = new Uint8Array(4 * W * H * 3);
  for (let t = 0; t < 4; t++)
    for (let p = 0; p < W * H; p++) data.set([40 + 50 * t, 200 - 40 * t, 100], (t * W * H + p) * 3);
  return { frames: 4, width: W, height: H, data };
}
const colour = (t: number) => [40 + 50 * t, 200 - 40 * t, 100];
const grey = (t: number, dim: number) => {
  const [r, g, b] = colour(t);
  const v = Math.round((0.299 * r + 0.587 * g + 0.114 * b) * dim);
  return [v, v, v];
};
// slice 0 keeps the top-left token only; slice 1 keeps all but the bottom-right one
const masks = [
  [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
];

test("layout: one panel per slice, gap between, label row above; pixels kept or greyed by token", () => {
  const strip = drawMaskStrip(clip(), masks, { grid: [3, 4], dim: 0.5, gap: 3 });
  const top = strip.height - H;
  assert.is(strip.width, 2 * W + 3);
  assert.ok(top > 0);
  const px = (x: number, y: number) => [
    ...strip.data.subarray((y * strip.width + x) * 3, (y * strip.width + x) * 3 + 3),
  ];
  // slice 0 shows frame 0: token (0, 0) covers pixels x 0..1, y 0..1
  assert.equal(px(1, top + 1), colour(0));
  assert.equal(px(2, top + 1), grey(0, 0.5));
  assert.equal(px(7, top + 5), grey(0, 0.5));
  // slice 1 shows frame 2 (first of its tubelet), at x = W + gap
  assert.equal(px(W + 3 + 0, top + 0), colour(2));
  assert.equal(px(W + 3 + 5, top + 3), colour(2));
  assert.equal(px(W + 3 + 6, top + 4), grey(2, 0.5));
  // the gap is white, the label row has dark text pixels
  assert.equal(px(W + 1, top + 2), [255, 255, 255]);
  assert.ok(
    [...strip.data.subarray(0, top * strip.width * 3)].some((v) => v === 0),
    "no label drawn",
  );
});

test("frameInSlice middle, no labels, boxes outlined in their frame's panel", () => {
  const strip = drawMaskStrip(clip(), masks, {
    grid: [3, 4],
    frameInSlice: "middle",
    labels: false,
    boxes: [
      [0, 0, 1, 1],
      [2, 1, 6, 5],
      [0, 0, 1, 1],
      [1, 1, 4, 3],
    ],
    boxColor: [1, 2, 3],
  });
  assert.is(strip.height, H);
  const px = (x: number, y: number) => [
    ...strip.data.subarray((y * strip.width + x) * 3, (y * strip.width + x) * 3 + 3),
  ];
  assert.equal(px(0, 0), colour(1), "slice 0 shows frame 1; its box (2,1)-(6,5) does not touch (0,0)");
  assert.equal(px(2, 1), [1, 2, 3]);
  assert.equal(px(5, 4), [1, 2, 3]);
  assert.equal(px(3, 2), grey(1, 0.3), "inside the box, not on its border");
  const left = W + 6;
  assert.equal(px(left + 1, 1), [1, 2, 3], "slice 1 shows frame 3 with box (1,1)-(4,3)");
  assert.equal(px(left + 0, 0), colour(3));
});

test("maskedClip: every frame masked by its slice", () => {
  const out = maskedClip(clip(), masks, { grid: [3, 4], dim: 0 });
  const px = (t: number, x: number, y: number) => [
    ...out.data.subarray(((t * H + y) * W + x) * 3, ((t * H + y) * W + x) * 3 + 3),
  ];
  assert.equal(px(1, 0, 0), colour(1));
  assert.equal(px(1, 4, 0), [0, 0, 0]);
  assert.equal(px(3, 4, 0), colour(3));
  assert.equal(px(3, 7, 5), [0, 0, 0]);
});

test("bad input: slices not dividing the frames, a slice of the wrong length, a bad grid", () => {
  assert.throws(
    () => drawMaskStrip(clip(), [masks[0], masks[1], masks[0]], { grid: [3, 4] }),
    /3 mask slices do not divide the clip's 4 frames/,
  );
  assert.throws(
    () => drawMaskStrip(clip(), [masks[0], [1, 0]], { grid: [3, 4] }),
    /mask slice 1 has 2 values, the 3x4 grid needs 12/,
  );
  assert.throws(() => drawMaskStrip(clip(), masks, { grid: [0, 4] }), /grid must be two positive integers/);
  assert.throws(
    () => drawMaskStrip(clip(), masks, { grid: [3, 4], boxes: [[0, 0, 1, 1]] }),
    /boxes has 1 entries, the clip has 4 frames/,
  );
});

test.run();
