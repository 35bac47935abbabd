import { test } from "uvu";
import * as assert from "uvu/assert";
import { skipUnless } from "../skip.ts";
import { existsSync } from "node:fs";
import { makeScene, SCENE_SIZE, type Scene } from "../../src/data/scenes.ts";
import { fashionItems, parseIdx, type FashionItems } from "../../src/data/fashion_mnist.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { fixture } from "../golden.ts";

const golden = fixture("scenes");
const indices = golden.metadata!.indices.split(",").map(Number);
const t10k = loadFashionItems();

function fnv1aBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const byte of data) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h >>> 0;
}

function rowSums(scene: Scene): number[] {
  const row = SCENE_SIZE * 3;
  return Array.from({ length: SCENE_SIZE }, (_, y) => scene.image.data.subarray(y * row, (y + 1) * row).reduce((a, b) => a + b, 0));
}

function crop16(scene: Scene): number[] {
  const [x0, y0, x1, y1] = scene.box;
  const cx = Math.min(Math.max(Math.floor((x0 + x1) / 2), 8), SCENE_SIZE - 8) - 8;
  const cy = Math.min(Math.max(Math.floor((y0 + y1) / 2), 8), SCENE_SIZE - 8) - 8;
  const out: number[] = [];
  for (let y = cy; y < cy + 16; y++) out.push(...scene.image.data.subarray((y * SCENE_SIZE + cx) * 3, (y * SCENE_SIZE + cx + 16) * 3));
  return out;
}

test("the committed t10k files parse into 10000 items, 1000 per class", () => {
  assert.is(t10k.count, 10000);
  const perClass = new Array(10).fill(0);
  for (const label of t10k.labels) perClass[label]++;
  assert.equal(perClass, new Array(10).fill(1000));
});

for (const i of indices) {
  test(`test-split scene ${i} is byte-identical to tools/train/scenes.py (label, box, hash, rows, crop)`, () => {
    const scene = makeScene(t10k, "test", i);
    assert.is(scene.label, golden.get(`scene${i}.label`).data[0], "label");
    assert.equal(scene.box, [...golden.get(`scene${i}.box`).data], "box");
    // Row sums and the crop first: they say where bytes differ; the hash then covers every byte.
    assert.equal(rowSums(scene), [...golden.get(`scene${i}.row_sums`).data], "per-row byte sums");
    assert.equal(crop16(scene), [...golden.get(`scene${i}.crop`).data], "16x16 crop at the box centre");
    const h = fnv1aBytes(scene.image.data);
    assert.equal([h >>> 16, h & 0xffff], [...golden.get(`scene${i}.hash`).data], "FNV-1a of all bytes");
  });
}

test("scenes are deterministic; the box lies inside the canvas and covers the target's item pixels", () => {
  for (let i = 0; i < 20; i++) {
    const a = makeScene(t10k, "test", i);
    const b = makeScene(t10k, "test", i);
    assert.ok(a.image.data.every((v, k) => v === b.image.data[k]), `scene ${i} differs between two calls`);
    const [x0, y0, x1, y1] = a.box;
    assert.ok(0 <= x0 && x0 < x1 && x1 <= SCENE_SIZE && 0 <= y0 && y0 < y1 && y1 <= SCENE_SIZE, `box ${a.box}`);
    const side = Math.max(x1 - x0, y1 - y0);
    assert.ok(side >= 48 * 0.4 && side <= 160, `scene ${i}: box side ${side} outside the item size range`);
    assert.is(a.label, t10k.labels[a.itemIndex]);
  }
});

test("the test split only uses the items it is given (a one-class item set gives that class)", () => {
  // Relabel every t10k item as class 7: a scene built from them can only carry label 7.
  const relabelled: FashionItems = { ...t10k, labels: new Uint8Array(t10k.count).fill(7) };
  for (let i = 0; i < 5; i++) assert.is(makeScene(relabelled, "test", i).label, 7);
  // Blank items: nothing of an item can show up, so only the backdrop remains and the box is the whole square.
  const blank: FashionItems = { count: 4, images: new Uint8Array(4 * 784), labels: new Uint8Array(4) };
  const scene = makeScene(blank, "test", 0);
  assert.is(scene.box[2] - scene.box[0], scene.box[3] - scene.box[1]);
});

test("train and test splits give different scenes for the same index", () => {
  const a = makeScene(t10k, "test", 5);
  const b = makeScene(t10k, "train", 5);
  assert.ok(a.image.data.some((v, k) => v !== b.image.data[k]));
});

test("bad input gets a clear error", () => {
  assert.throws(() => makeScene(t10k, "val" as never, 0), /split must be "train" or "test", got val/);
  assert.throws(() => makeScene(t10k, "test", -1), /bad scene index -1/);
  assert.throws(() => makeScene({ count: 3, images: new Uint8Array(100), labels: new Uint8Array(3) }, "test", 0),
    /3 items need images \[3, 28, 28\] \(2352 bytes\) and 3 labels, got 100 image bytes/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 9, 1, 0, 0, 0, 1, 5]), "x.idx"), /parseIdx\(x.idx\): not an unsigned-byte IDX/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 5]), "x.idx"), /dims \[3\] need 3 values, file has 1/);
  const labels = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]));
  const images = parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28, ...new Uint8Array(3 * 784)]));
  assert.throws(() => fashionItems(images, labels, "f"), /labels must have dims \[3\], got \[2\]/);
});

const TRAIN_DIR = "/usr/share/datasets/fashion-mnist";
const trainItemsPresent = existsSync(`${TRAIN_DIR}/train-images-idx3-ubyte.gz`);
skipUnless(trainItemsPresent, `${TRAIN_DIR} absent (apt-get install dataset-fashion-mnist)`)("a train-split scene is byte-identical too (where the train items are installed)", () => {
  const train = loadFashionItems(TRAIN_DIR, "train");
  assert.is(train.count, 60000);
  const scene = makeScene(train, "train", Number(golden.metadata!.train_index));
  assert.equal([scene.label, ...scene.box], [...golden.get("train_scene.label_box").data], "label and box");
  const h = fnv1aBytes(scene.image.data);
  assert.equal([h >>> 16, h & 0xffff], [...golden.get("train_scene.hash").data], "FNV-1a of all bytes");
});

test.run();
