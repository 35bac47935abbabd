// Cluttered Fashion-MNIST scenes: one item at random scale and position on a 224x224 canvas, over a
// textured backdrop with fragments of other items. Byte-identical to tools/train/scenes.py (the scenes the
// models in weights/ were trained and scored on); test/data/scenes.test.ts proves it against PyTorch-side goldens.
// No Node built-ins: takes decoded items (src/data/fashion_mnist.ts), runs in a browser.
//
// Scene spec (v1). Every quantity is a non-negative integer; a // b is floor division, >> a right shift.
//   rng      = Mulberry32(fnv1a("fashion-scene/" + split + "/" + index))      split: "train" | "test"
//   below(n) = (rng.nextUint32() * n) >> 32                                  uniform integer in [0, n)
//   items    = the split's Fashion-MNIST images (28x28 uint8) and labels; N of them
//              ("train": the 60000 train items; "test": the 10000 t10k items, nothing else)
// Draws, in this order:
//   1. target   t = below(N); label = labels[t]; S = 48 + below(113) (48..160 px)
//               x = below(225 - S); y = below(225 - S)                 (the S x S square lies inside the canvas)
//   2. backdrop lo = below(64); span = 32 + below(65)
//               G[gy][gx] = lo + below(span + 1) for gy in 0..8, gx in 0..8 (row-major)
//               dx = below(5); dy = below(5); period = 4 + below(13); amp = below(41); na = below(33)
//               noise[py][px] = below(na + 1) for every pixel, row-major (50176 draws)
//               bilinear grid, cells of 28 px: i = px // 28, fx = px % 28, j = py // 28, fy = py % 28
//                 top = G[j][i] * (28 - fx) + G[j][i + 1] * fx;  bot = G[j + 1][i] * (28 - fx) + G[j + 1][i + 1] * fx
//                 grid = (top * (28 - fy) + bot * fy) // 784
//               stripe = amp if ((px * dx + py * dy - 2 * (px + py) + 1024) // period) % 2 == 0 else 0
//                        (i.e. direction (dx - 2, dy - 2), kept non-negative by the +1024)
//               gray[py][px] = min(255, grid + stripe + noise)
//   3. clutter  D = 2 + below(4); for each of the D fragments, in order:
//                 k = below(N); if k == t: k = (k + 1) % N
//                 cw = 8 + below(9); ch = 8 + below(9); cx = below(29 - cw); cy = below(29 - ch)
//                 m = 2 + below(5); ox = below(225 - cw * m); oy = below(225 - ch * m); level = 128 + below(129)
//                 for v in 0..ch*m-1, u in 0..cw*m-1: paint(ox + u, oy + v, items[k][cy + v // m][cx + u // m], level)
//   4. target   for v in 0..S-1, u in 0..S-1: paint(x + u, y + v, items[t][(v * 28) // S][(u * 28) // S], 256)
//      paint(px, py, s, level): f = (s * level) >> 8; op = min(256, 8 * s)
//                               gray[py][px] = (gray[py][px] * (256 - op) + f * op) >> 8
//   5. tint     tr = 200 + below(57); tg = 200 + below(57); tb = 200 + below(57)
//               rgb[py][px] = ((gray * tr) >> 8, (gray * tg) >> 8, (gray * tb) >> 8)      -> uint8 [224, 224, 3]
// Box: the tight box of the target's painted pixels with s > 0, [x0, y0, x1, y1] (x1, y1 exclusive); the whole
// S x S square if the item had no non-zero pixel.
//
// Every product stays below 2^53 (u * n < 2^32 * 60000), so the float arithmetic below is exact integer math.

import { Mulberry32, fnv1a } from "../tensor/random.ts";
import type { RgbImage } from "../image/image.ts";
import { ITEM_SIDE, type FashionItems } from "./fashion_mnist.ts";

export const SCENE_SIZE = 224;

export type SceneSplit = "train" | "test";
export type Box = [x0: number, y0: number, x1: number, y1: number];

export interface Scene {
  image: RgbImage; // 224 x 224
  label: number; // 0..9, see FASHION_LABELS
  box: Box; // target's tight box, x1 and y1 exclusive
  itemIndex: number; // which of the split's items is the target
}

const SIZE = SCENE_SIZE;
const ITEM_PIXELS = ITEM_SIDE * ITEM_SIDE;

export class SceneRng {
  private readonly rng: Mulberry32;
  constructor(seed: number) {
    this.rng = new Mulberry32(seed);
  }
  /** Uniform integer in [0, n): (u32 * n) >> 32. */
  below(n: number): number {
    return Math.floor((this.rng.nextUint32() * n) / 4294967296);
  }
}

export function sceneSeed(split: SceneSplit, index: number): number {
  return fnv1a(`fashion-scene/${split}/${index}`);
}

export function backdrop(rng: SceneRng): Int32Array {
  const lo = rng.below(64);
  const span = 32 + rng.below(65);
  const grid = new Int32Array(81); // [9, 9]
  for (let i = 0; i < 81; i++) grid[i] = lo + rng.below(span + 1);
  const dx = rng.below(5) - 2;
  const dy = rng.below(5) - 2;
  const period = 4 + rng.below(13);
  const amp = rng.below(41);
  const na = rng.below(33);

  const gray = new Int32Array(SIZE * SIZE);
  for (let py = 0; py < SIZE; py++) {
    const j = Math.floor(py / 28);
    const fy = py % 28;
    for (let px = 0; px < SIZE; px++) {
      const i = Math.floor(px / 28);
      const fx = px % 28;
      const top = grid[j * 9 + i] * (28 - fx) + grid[j * 9 + i + 1] * fx;
      const bot = grid[(j + 1) * 9 + i] * (28 - fx) + grid[(j + 1) * 9 + i + 1] * fx;
      const smooth = Math.floor((top * (28 - fy) + bot * fy) / 784);
      const phase = px * dx + py * dy + 1024;
      const stripe = Math.floor(phase / period) % 2 === 0 ? amp : 0;
      const noise = rng.below(na + 1);
      gray[py * SIZE + px] = Math.min(255, smooth + stripe + noise);
    }
  }
  return gray;
}

/** Blends item value s (0..255) at brightness level/256 into gray at (px, py) with opacity min(256, 8 s)/256. */
export function paint(gray: Int32Array, px: number, py: number, s: number, level: number): void {
  const f = (s * level) >> 8;
  const op = Math.min(256, 8 * s);
  const at = py * SIZE + px;
  gray[at] = (gray[at] * (256 - op) + f * op) >> 8;
}

export function checkItems(items: FashionItems, split: SceneSplit): void {
  const { count, images, labels } = items;
  if (!Number.isInteger(count) || count < 2) throw new Error(`makeScene(${split}): need at least 2 items, got ${count}`);
  if (images.length !== count * ITEM_PIXELS || labels.length !== count) {
    throw new Error(
      `makeScene(${split}): ${count} items need images [${count}, 28, 28] (${count * ITEM_PIXELS} bytes) and ` +
        `${count} labels, got ${images.length} image bytes and ${labels.length} labels`,
    );
  }
}

/**
 * Scene `index` of `split`, built from that split's items only (test: the t10k items; train: the train items).
 * Same bytes, label and box as tools/train/scenes.py make_scene.
 */
export function makeScene(items: FashionItems, split: SceneSplit, index: number): Scene {
  if (split !== "train" && split !== "test") throw new Error(`makeScene: split must be "train" or "test", got ${split}`);
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`makeScene(${split}): bad scene index ${index}`);
  checkItems(items, split);
  const rng = new SceneRng(sceneSeed(split, index));
  const n = items.count;
  const t = rng.below(n);
  const s = 48 + rng.below(113);
  const x = rng.below(225 - s);
  const y = rng.below(225 - s);

  const gray = backdrop(rng);

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

  // Target, nearest-neighbour scaled to S x S; its painted non-zero pixels give the tight box.
  let [bx0, by0, bx1, by1] = [SIZE, SIZE, -1, -1];
  const item = t * ITEM_PIXELS;
  for (let v = 0; v < s; v++) {
    const row = item + Math.floor((v * 28) / s) * ITEM_SIDE;
    for (let u = 0; u < s; u++) {
      const value = items.images[row + Math.floor((u * 28) / s)];
      paint(gray, x + u, y + v, value, 256);
      if (value > 0) {
        bx0 = Math.min(bx0, u);
        by0 = Math.min(by0, v);
        bx1 = Math.max(bx1, u);
        by1 = Math.max(by1, v);
      }
    }
  }
  const box: Box = bx1 < 0 ? [x, y, x + s, y + s] : [x + bx0, y + by0, x + bx1 + 1, y + by1 + 1];

  const tint = [200 + rng.below(57), 200 + rng.below(57), 200 + rng.below(57)];
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let p = 0; p < SIZE * SIZE; p++) {
    for (let c = 0; c < 3; c++) data[3 * p + c] = (gray[p] * tint[c]) >> 8;
  }
  return { image: { width: SIZE, height: SIZE, data }, label: items.labels[t], box, itemIndex: t };
}
