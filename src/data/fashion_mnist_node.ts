// Node adapter: reads the gzipped Fashion-MNIST IDX files from a folder.
//   loadFashionItems(dir, "t10k")   the committed test items in data/fashion-mnist (the scenes' test split)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { fashionItems, parseIdx, type FashionItems } from "./fashion_mnist.ts";

/** data/fashion-mnist in this checkout (holds the t10k files). */
export const FASHION_MNIST_DIR = fileURLToPath(new URL("../../data/fashion-mnist/", import.meta.url));

function readIdxGz(path: string) {
  return parseIdx(new Uint8Array(gunzipSync(readFileSync(path))), path);
}

/** Items from <dir>/<prefix>-images-idx3-ubyte.gz and <dir>/<prefix>-labels-idx1-ubyte.gz. */
export function loadFashionItems(dir = FASHION_MNIST_DIR, prefix: "t10k" | "train" = "t10k"): FashionItems {
  const images = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  return fashionItems(readIdxGz(images), readIdxGz(join(dir, `${prefix}-labels-idx1-ubyte.gz`)), images);
}
