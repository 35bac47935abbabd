// Moving-object clips for video PaPr (issue #21, PAPR-SPEC.md section 6): the cluttered Fashion-MNIST
// scene of src/data/scenes.ts (one item on a textured backdrop with fragments of other items), but the
// item slides along a straight line across the frames while the backdrop and the fragments stay still.
// Per-frame boxes give the object's tokens on the video token grid (how many of them video PaPr keeps).
// No Node built-ins: takes decoded items (src/data/fashion_mnist.ts), runs in a browser.
//
// Moving scene spec (v1). The notation and the helpers (below, backdrop, paint, tint) are scenes.ts's.
//   rng      = Mulberry32(fnv1a("fashion-moving-scene/" + split + "/" + index))   (not the still scenes' seeds)
// Draws, in this order (R = 224 - S is the room the item has, T = frames):
//   1. target   t = below(N); label = labels[t]; S = 48 + below(81) (48..128 px: smaller than a still
//               scene's 48..160, so that the item has room to move)
//               start  xs = below(R + 1); ys = below(R + 1)
//               end    xe = below(R + 1); ye = below(R + 1), redrawn (both) while max(|xe - xs|, |ye - ys|)
//                      < min(32, R // 2), at most 64 times; then, if still too close, xe = R if xs < R / 2
//                      else 0, and ye likewise (the far corner)
//   2. backdrop as scenes.ts step 2 (the same draws, 50176 noise values included)
//   3. clutter  as scenes.ts step 3 (static: painted once, under the item in every frame)
//   4. tint     tr, tg, tb as scenes.ts step 5 (drawn here, before any frame is painted)
//   5. frames   for f in 0..T-1: position x(f) = xs + floor((xe - xs) * f / (T - 1)),
//               y(f) = ys + floor((ye - ys) * f / (T - 1)) (floor of the signed quotient; x(0) = xs,
//               x(T - 1) = xe; T = 1: the start); frame f = the clutter's gray canvas with the item painted
//               at (x(f), y(f)) as scenes.ts step 4, then tinted as scenes.ts step 5.
// Box of frame f: the item's tight box (its painted pixels with s > 0, x1 / y1 exclusive) moved to
// (x(f), y(f)); the whole S x S square if the item has no non-zero pixel. The item stays inside the
// canvas: 0 <= x(f) <= R and 0 <= y(f) <= R for every f.
// `size` other than 224: every frame resized (PIL bilinear, src/image/resize.ts) to size x size after it
// is drawn, boxes scaled by size / 224 (x0, y0 floored, x1, y1 ceiled, so the box still covers the item).
import { Mulberry32, fnv1a } from "../tensor/random.ts";
import type { RgbClip } from "../image/clip.ts";
import { resizeRgb } from "../image/resize.ts";
import { ITEM_SIDE, type FashionItems } from "./fashion_mnist.ts";
import { SCENE_SIZE, SceneRng, backdrop, checkItems, paint, type Box, type SceneSplit } from "./scenes.ts";

export interface MovingScene {
  clip: RgbClip; // frames x size x size
  label: number; // 0..9, see FASHION_LABELS
  boxes: Box[]; // [frames]: the item's tight box in each frame, x1 and y1 exclusive
  itemIndex: number; // which of the split's items moves
  path: { start: [number, number]; end: [number, number]; side: number }; // the item's square, 224-px canvas
}

export interface MovingSceneOptions {
  frames?: number; // default 16 (VideoMAE's clip length)
  size?: number; // default 224
}

const SIZE = SCENE_SIZE;
const ITEM_PIXELS = ITEM_SIDE * ITEM_SIDE;
/** Frames and sizes accepted (a clip of 1024 frames of 224 x 224 is 154 MB). */
const MAX_FRAMES = 1024;
const MAX_SIZE = 1024;

export function movingSceneSeed(split: SceneSplit, index: number): number {
  return fnv1a(`fashion-moving-scene/${split}/${index}`);
}

/** Start and end of the item's top-left corner (step 1 of the spec). */
function drawPath(rng: SceneRng, room: number): { start: [number, number]; end: [number, number] } {
  const xs = rng.below(room + 1);
  const ys = rng.below(room + 1);
  const minMove = Math.min(32, Math.floor(room / 2));
  let [xe, ye] = [0, 0];
  for (let attempt = 0; attempt < 64; attempt++) {
    xe = rng.below(room + 1);
    ye = rng.below(room + 1);
    if (Math.max(Math.abs(xe - xs), Math.abs(ye - ys)) >= minMove) return { start: [xs, ys], end: [xe, ye] };
  }
  return { start: [xs, ys], end: [xs < room / 2 ? room : 0, ys < room / 2 ? room : 0] };
}

/** floor(a / b) of the signed quotient (b > 0). */
const floorDiv = (a: number, b: number) => Math.floor(a / b);

/**
 * Moving scene `index` of `split` (see the spec above): a clip of `frames` frames in which one item of
 * the split moves along a straight line over a static cluttered backdrop.
 */
export function makeMovingScene(
  items: FashionItems,
  split: SceneSplit,
  index: number,
  options: MovingSceneOptions = {},
): MovingScene {
  const { frames = 16, size = SIZE } = options;
  const where = `makeMovingScene(${split}, ${index})`;
  if (split !== "train" && split !== "test") throw new Error(`${where}: split must be "train" or "test"`);
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`${where}: bad scene index ${index}`);
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES)
    throw new Error(`${where}: frames must be an integer in 1..${MAX_FRAMES}, got ${frames}`);
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE)
    throw new Error(`${where}: size must be an integer in 1..${MAX_SIZE}, got ${size}`);
  checkItems(items, split);
  const rng = new SceneRng(movingSceneSeed(split, index));
  const n = items.count;
  const t = rng.below(n);
  const side = 48 + rng.below(81);
  const path = drawPath(rng, SIZE - side);

  const gray = backdrop(rng);
  paintClutter(rng, gray, items, t);
  const tint = [200 + rng.below(57), 200 + rng.below(57), 200 + rng.below(57)];

  const tight = tightBox(items, t, side);
  const frameBytes = size * size * 3;
  const data = new Uint8Array(frames * frameBytes);
  const boxes: Box[] = [];
  for (let f = 0; f < frames; f++) {
    const x = path.start[0] + (frames === 1 ? 0 : floorDiv((path.end[0] - path.start[0]) * f, frames - 1));
    const y = path.start[1] + (frames === 1 ? 0 : floorDiv((path.end[1] - path.start[1]) * f, frames - 1));
    const canvas = gray.slice();
    paintItem(canvas, items, t, side, x, y);
    let frame = { width: SIZE, height: SIZE, data: tinted(canvas, tint) };
    if (size !== SIZE) frame = resizeRgb(frame, size, size, "bilinear");
    data.set(frame.data, f * frameBytes);
    boxes.push(scaleBox([x + tight[0], y + tight[1], x + tight[2], y + tight[3]], size / SIZE));
  }
  return {
    clip: { frames, width: size, height: size, data },
    label: items.labels[t],
    boxes,
    itemIndex: t,
    path: { ...path, side },
  };
}

/** scenes.ts step 3: D fragments of other items, painted onto `gray`. */
function paintClutter(rng: SceneRng, gray: Int32Array, items: FashionItems, t: number): void {
  const n = items.count;
  const fragments = 2 + rng.below(4);
  for (let d = 0; d < fragments; d++) {
    let k = rng.below(n);
    if (k === t) k = (k + 1) % n;
    const cw = 8 + rng.below(9);
    const ch = 8 + rng.below(9);
    const cx = rng.below(29 - cw);
    const cy = rng.below(29 - ch);
    const m = 2 + rng.below(5);
    const ox = rng.below(225 - cw * m);
    const oy = rng.below(225 - ch * m);
    const level = 128 + rng.below(129);
    const item = k * ITEM_PIXELS;
    for (let v = 0; v < ch * m; v++) {
      const row = item + (cy + Math.floor(v / m)) * ITEM_SIDE + cx;
      for (let u = 0; u < cw * m; u++) paint(gray, ox + u, oy + v, items.images[row + Math.floor(u / m)], level);
    }
  }
}

/** The item's value at (u, v) of its S x S nearest-neighbour scaling. */
function itemValue(items: FashionItems, t: number, side: number, u: number, v: number): number {
  return items.images[t * ITEM_PIXELS + Math.floor((v * 28) / side) * ITEM_SIDE + Math.floor((u * 28) / side)];
}

/** scenes.ts step 4 at (x, y). */
function paintItem(gray: Int32Array, items: FashionItems, t: number, side: number, x: number, y: number): void {
  for (let v = 0; v < side; v++)
    for (let u = 0; u < side; u++) paint(gray, x + u, y + v, itemValue(items, t, side, u, v), 256);
}

/** The tight box of the item's non-zero pixels inside its S x S square, relative to the square. */
function tightBox(items: FashionItems, t: number, side: number): Box {
  let [x0, y0, x1, y1] = [side, side, -1, -1];
  for (let v = 0; v < side; v++) {
    for (let u = 0; u < side; u++) {
      if (itemValue(items, t, side, u, v) === 0) continue;
      [x0, y0, x1, y1] = [Math.min(x0, u), Math.min(y0, v), Math.max(x1, u), Math.max(y1, v)];
    }
  }
  return x1 < 0 ? [0, 0, side, side] : [x0, y0, x1 + 1, y1 + 1];
}

/** scenes.ts step 5. */
function tinted(gray: Int32Array, tint: number[]): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let p = 0; p < SIZE * SIZE; p++) for (let c = 0; c < 3; c++) data[3 * p + c] = (gray[p] * tint[c]) >> 8;
  return data;
}

function scaleBox(box: Box, scale: number): Box {
  if (scale === 1) return box;
  return [Math.floor(box[0] * scale), Math.floor(box[1] * scale), Math.ceil(box[2] * scale), Math.ceil(box[3] * scale)];
}
