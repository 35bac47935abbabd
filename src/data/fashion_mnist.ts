// Fashion-MNIST items (Zalando Research, MIT license; see data/fashion-mnist/README.md) as the scene
// generator takes them, and a parser for the (already gunzipped) IDX files they ship in.
// No Node built-ins: runs in a browser too.

export const FASHION_LABELS = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
] as const;

export const ITEM_SIDE = 28;

/** N grayscale 28x28 items (row-major, 784 bytes each, 0 = background) and their labels 0..9. */
export interface FashionItems {
  count: number;
  images: Uint8Array; // [count, 28, 28]
  labels: Uint8Array; // [count]
}

/** An unsigned-byte IDX array: its dimensions and values. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an uncompressed IDX file of unsigned bytes (magic 0x00 0x00 0x08 rank). */
export function parseIdx(bytes: Uint8Array, source = "idx"): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error(`parseIdx(${source}): not an unsigned-byte IDX file (expected magic 00 00 08 <rank>)`);
  }
  const rank = bytes[3];
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) throw new Error(`parseIdx(${source}): header of rank ${rank} is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerLength !== size) {
    throw new Error(`parseIdx(${source}): dims [${dims}] need ${size} values, file has ${bytes.length - headerLength}`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Pairs an images IDX ([N, 28, 28]) with a labels IDX ([N]), checking both. */
export function fashionItems(images: IdxArray, labels: IdxArray, source = "fashion-mnist"): FashionItems {
  const [count, h, w] = images.dims;
  if (images.dims.length !== 3 || h !== ITEM_SIDE || w !== ITEM_SIDE) {
    throw new Error(`fashionItems(${source}): images must have dims [N, 28, 28], got [${images.dims}]`);
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== count) {
    throw new Error(`fashionItems(${source}): labels must have dims [${count}], got [${labels.dims}]`);
  }
  for (const label of labels.data) {
    if (label > 9) throw new Error(`fashionItems(${source}): label ${label} is outside 0..9`);
  }
  return { count, images: images.data, labels: labels.data };
}
