// Object tokens on the video token grid (src/data/object_tokens.ts): boxes -> tubelet tokens, by hand.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { keptObjectTokens, objectTokenMask } from "../../src/data/object_tokens.ts";
import type { Box } from "../../src/data/scenes.ts";

// 4 frames of 32 x 32, tubelet 2, patch 16: a 2 x 2 x 2 grid.
const grid = { frames: 4, size: 32, tubelet: 2, patch: 16 };

test("a box in one patch, then moving across the border: the tubelet takes the union of its frames", () => {
  const boxes: Box[] = [
    [2, 2, 10, 10], // frame 0: patch (0, 0)
    [4, 2, 12, 10], // frame 1: still (0, 0)
    [12, 2, 20, 10], // frame 2: (0, 0) and (0, 1)
    [20, 20, 28, 28], // frame 3: (1, 1)
  ];
  assert.equal([...objectTokenMask(boxes, grid)], [1, 0, 0, 0, 1, 1, 0, 1]);
  // with minCover 0.2 (51.2 of 256 px), frame 2's 4 x 8 = 32 px slivers do not count
  assert.equal([...objectTokenMask(boxes, grid, 0.2)], [1, 0, 0, 0, 0, 0, 0, 1]);
});

test("keptObjectTokens counts the kept object tokens; bad input is refused", () => {
  const object = new Uint8Array([1, 0, 0, 0, 1, 1, 0, 1]);
  assert.equal(keptObjectTokens([1, 1, 1, 1, 0, 1, 0, 0], object), { kept: 2, total: 4, fraction: 0.5 });
  assert.throws(() => keptObjectTokens([1], object), /kept mask has 1 tokens, the object mask 8/);
  assert.throws(() => objectTokenMask([[0, 0, 1, 1]], grid), /1 boxes for 4 frames/);
  assert.throws(() => objectTokenMask([], { ...grid, size: 30 }), /size 30 of patch 16/);
});

test.run();
