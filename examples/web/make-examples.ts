// Writes the demo's example images, examples/web/images/scene-*.png: held-out scenes of the Fashion-MNIST
// scenes task the default weights were trained on (src/data/scenes.ts, test split, t10k items only).
//   node --import tsx examples/web/make-examples.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FASHION_LABELS } from "../../src/data/fashion_mnist.ts";
import { loadFashionItems } from "../../src/data/fashion_mnist_node.ts";
import { makeScene } from "../../src/data/scenes.ts";
import { encodePng } from "../../src/image/encode.ts";

const SCENES = [2, 0, 8]; // a sneaker, a bag, a coat
const dir = fileURLToPath(new URL("./images/", import.meta.url));
mkdirSync(dir, { recursive: true });
const items = loadFashionItems();
for (const index of SCENES) {
  const scene = makeScene(items, "test", index);
  const label = FASHION_LABELS[scene.label].toLowerCase().replace(/[^a-z]+/g, "-");
  const name = `scene-test-${String(index).padStart(4, "0")}-${label}.png`;
  writeFileSync(dir + name, encodePng(scene.image.data, scene.image.width, scene.image.height));
  console.log(`${name}  (label ${scene.label} ${FASHION_LABELS[scene.label]}, box ${scene.box.join(",")})`);
}
