// Moving scenes (src/data/moving_scenes.ts) on the committed t10k items: deterministic from split +
// index, the item inside the canvas on a straight path, the boxes moving with it, the backdrop still,
// and the first frame drawn the way scenes.ts draws a still scene's item.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeMovingScene, type MovingScene } from "../../src/data/moving_scenes.ts";
import { clipFrame } from "../../src/image/clip.ts";

const t10k = loadFashionItems();
const INDICES = [0, 1, 2, 3, 4, 5, 6, 7];
const scenes = new Map<number, MovingScene>(INDICES.map((i) => [i, makeMovingScene(t10k, "test", i)]));

test("deterministic: the same split and index give the same bytes; other indices and splits differ", () => {
  const again = makeMovingScene(t10k, "test", 3);
  const first = scenes.get(3)!;
  assert.ok(Buffer.from(again.clip.data).equals(Buffer.from(first.clip.data)));
  assert.equal(again.boxes, first.boxes);
  assert.not.ok(Buffer.from(scenes.get(4)!.clip.data).equals(Buffer.from(first.clip.data)));
  assert.equal([first.clip.frames, first.clip.width, first.clip.height], [16, 224, 224]);
  assert.is(first.label, t10k.labels[first.itemIndex]);
});

test("the item stays inside the canvas, on a straight line from start to end, and moves", () => {
  for (const [i, scene] of scenes) {
    const { start, end, side } = scene.path;
    assert.ok(side >= 48 && side <= 128, `scene ${i}: side ${side}`);
    for (const [x, y] of [start, end]) assert.ok(x >= 0 && y >= 0 && x + side <= 224 && y + side <= 224, `scene ${i}`);
    const moved = Math.max(Math.abs(end[0] - start[0]), Math.abs(end[1] - start[1]));
    assert.ok(moved >= Math.min(32, Math.floor((224 - side) / 2)), `scene ${i} moves only ${moved} px`);
    for (const [x0, y0, x1, y1] of scene.boxes) assert.ok(x0 >= 0 && y0 >= 0 && x1 <= 224 && y1 <= 224 && x0 < x1 && y0 < y1);
  }
});

test("boxes move with the path: same size every frame, offset = floor(displacement * f / (T - 1))", () => {
  for (const [i, scene] of scenes) {
    const { start, end } = scene.path;
    const [bx0, by0, bx1, by1] = scene.boxes[0];
    scene.boxes.forEach(([x0, y0, x1, y1], f) => {
      assert.equal([x1 - x0, y1 - y0], [bx1 - bx0, by1 - by0], `scene ${i} frame ${f}: box size`);
      assert.is(x0 - bx0, Math.floor(((end[0] - start[0]) * f) / 15), `scene ${i} frame ${f}: x`);
      assert.is(y0 - by0, Math.floor(((end[1] - start[1]) * f) / 15), `scene ${i} frame ${f}: y`);
    });
    assert.equal(scene.boxes[15][0] - bx0, end[0] - start[0]);
  }
});

test("the backdrop is still: outside the item's squares every frame equals frame 0; inside, the item shows", () => {
  for (const [i, scene] of scenes) {
    const { clip, boxes } = scene;
    const first = clipFrame(clip, 0).data;
    const last = clipFrame(clip, 15).data;
    const inBox = (box: number[], x: number, y: number) => x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 224; y++) {
      for (let x = 0; x < 224; x++) {
        const p = (y * 224 + x) * 3;
        const differs = first[p] !== last[p] || first[p + 1] !== last[p + 1] || first[p + 2] !== last[p + 2];
        if (inBox(boxes[0], x, y) || inBox(boxes[15], x, y)) changedInside += differs ? 1 : 0;
        else changedOutside += differs ? 1 : 0;
      }
    }
    assert.is(changedOutside, 0, `scene ${i}: ${changedOutside} pixels outside the item's boxes changed`);
    assert.ok(changedInside > 200, `scene ${i}: only ${changedInside} pixels of the item changed`);
  }
});

test("frames and size options; bad arguments are refused", () => {
  const short = makeMovingScene(t10k, "test", 2, { frames: 4, size: 112 });
  assert.equal([short.clip.frames, short.clip.width, short.clip.height, short.boxes.length], [4, 112, 112, 4]);
  const full = scenes.get(2)!;
  // halved boxes cover the full-size ones halved
  const [x0, y0, x1, y1] = full.boxes[0];
  assert.equal(short.boxes[0], [Math.floor(x0 / 2), Math.floor(y0 / 2), Math.ceil(x1 / 2), Math.ceil(y1 / 2)]);
  assert.is(makeMovingScene(t10k, "test", 2, { frames: 1 }).boxes.length, 1);
  assert.throws(() => makeMovingScene(t10k, "test", 2, { frames: 0 }), /frames must be an integer in 1..1024, got 0/);
  assert.throws(() => makeMovingScene(t10k, "test", -1), /bad scene index -1/);
});

test.run();
