// Real photos from ../shared/data (nothing derived from them is committed): PIL and torchvision
// run live through `gen_image.py --reference`, and we compare
//   1. our resize + crop + normalise on PIL's decoded pixels with torchvision's tensor (must be bit-equal:
//      this is the PIL-exact resize on large, non-integer downscales);
//   2. our BMP decoder with PIL's (exact);
//   3. jpeg-js with PIL's libjpeg: pixel differences, and the end-to-end tensor difference.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeImage } from "../../src/image/decode.ts";
import { DEIT_EVAL, preprocess } from "../../src/image/preprocess.ts";
import type { RgbImage } from "../../src/image/image.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { sharedDir } from "../golden.ts";
import { pixelDiff } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";
const GENERATOR = fileURLToPath(new URL("../../tools/golden/gen_image.py", import.meta.url));
// chroma: the JPEG's colour subsampling (PIL's JpegImagePlugin.get_sampling), which decides the bounds below.
type Chroma = "4:4:4" | "4:2:2" | "4:2:0" | "gray" | "bmp";
const PHOTO_LIST: [string, Chroma][] = [
  ["imagenet-samples/n01440764_tench.JPEG", "4:4:4"],
  ["imagenet-samples/n01514859_hen.JPEG", "4:4:4"],
  ["imagenet-samples/n01582220_magpie.JPEG", "4:4:4"],
  ["imagenet-samples/n01614925_bald_eagle.JPEG", "4:4:4"],
  ["imagenet-samples/n02815834_beaker.JPEG", "gray"],
  ["imagenet-samples/n02676566_acoustic_guitar.JPEG", "gray"], // with an ICC profile (ignored by both)
  ["imagenet-samples/n03482405_hamper.JPEG", "4:2:0"], // the largest difference among the 500 samples
  ["imagenet-samples/n04476259_tray.JPEG", "4:2:0"],
  ["imagenet-samples/n04465501_tractor.JPEG", "4:2:2"],
  ["coral-photos/parrot.jpg", "4:4:4"],
  ["coral-photos/hot_dog.jpg", "4:4:4"],
  ["coral-photos/cat.bmp", "bmp"],
  ["coral-photos/grace_hopper.bmp", "bmp"],
];
const PHOTOS = PHOTO_LIST.map(([path]) => path);
const SIZE = DEIT_EVAL.inputSize;

interface Reference {
  pil: RgbImage; // PIL's Image.open(f).convert("RGB")
  tensor: Float32Array; // timm eval transform on it, [3, 224, 224]
}

/** Runs PIL + torchvision on the photos; null (with the reason) when Python, PIL or torchvision is missing. */
function pilReference(files: string[]): Reference[] | string {
  if (!existsSync(PYTHON)) return `${PYTHON} absent`;
  const run = spawnSync(PYTHON, [GENERATOR, "--reference", String(SIZE), String(DEIT_EVAL.cropPct), ...files], {
    maxBuffer: 1 << 28,
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  if (run.status !== 0)
    return `${PYTHON} with PIL and torchvision failed: ${run.stderr.toString().trim().split("\n").pop()}`;
  const out: Buffer = run.stdout;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const refs: Reference[] = [];
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    const width = view.getUint32(at, true);
    const height = view.getUint32(at + 4, true);
    at += 8;
    const pil = { width, height, data: new Uint8Array(out.subarray(at, at + width * height * 3)) };
    at += width * height * 3;
    const tensor = new Float32Array(3 * SIZE * SIZE);
    for (let j = 0; j < tensor.length; j++, at += 4) tensor[j] = view.getFloat32(at, true);
    refs.push({ pil, tensor });
  }
  return refs;
}

const shared = sharedDir();
const files = shared ? PHOTOS.map((p) => `${shared}data/${p}`) : [];
const present = files.length > 0 && files.every(existsSync);
const refs = present ? pilReference(files) : "../shared absent";

if (typeof refs === "string") {
  console.log(`skipped: ${refs}`);
  test.skip("real photos against PIL and torchvision", () => {});
} else {
  const name = (i: number) => PHOTOS[i].split("/").pop()!;
  /** Difference of two [1|3, 224, 224] tensors in pixel levels (1 level = 1/255 before normalising). */
  const inLevels = (a: Float32Array | Tensor["data"], b: Float32Array) => {
    const plane = SIZE * SIZE;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]) * DEIT_EVAL.std[Math.floor(i / plane)] * 255;
      max = Math.max(max, d);
      sum += d;
    }
    return { max, mean: sum / b.length };
  };

  test("our transform on PIL's pixels equals torchvision's on real photos (resize is PIL-exact)", () => {
    refs.forEach(({ pil, tensor }, i) => {
      const { max } = pixelDiff(preprocess(pil, DEIT_EVAL).data, tensor, name(i));
      assert.is(max, 0, `${name(i)}: max tensor difference ${max}`); // measured 0 on all 500 ImageNet samples
    });
  });

  test("BMP photos decode exactly as PIL", () => {
    refs.forEach(({ pil }, i) => {
      if (!files[i].endsWith(".bmp")) return;
      const ours = decodeImage(new Uint8Array(readFileSync(files[i])), name(i));
      assert.equal([ours.width, ours.height], [pil.width, pil.height]);
      assert.is(pixelDiff(ours.data, pil.data, name(i)).max, 0, name(i));
    });
  });

  // jpeg-js differs from libjpeg: its IDCT rounds differently, and it upsamples subsampled chroma
  // by repeating samples where libjpeg interpolates ("fancy upsampling"), which shows at colour edges.
  // Measured over all 500 ImageNet samples (levels of 1/255; "tensor" = after resize + crop):
  //   4:4:4 (382 photos): decode max 4, mean 0.50; tensor max 4, mean 0.48
  //   4:2:2 (5):          decode max 32, mean 0.70; tensor max 11, mean 0.43
  //   4:2:0 (103):        decode max 58, mean 0.91 (worst photo 2.41); tensor max 56, mean 0.70 (worst 2.34)
  //   grayscale (9):      decode max 1
  // The bounds sit at or just above those measurements.
  const BOUNDS: Record<Exclude<Chroma, "bmp">, { max: number; mean: number }> = {
    "4:4:4": { max: 4, mean: 0.6 },
    gray: { max: 2, mean: 0.2 },
    "4:2:2": { max: 40, mean: 1.0 },
    "4:2:0": { max: 64, mean: 2.5 },
  };

  test("JPEG photos: jpeg-js vs PIL pixel and tensor differences stay within the measured bounds", () => {
    const lines: string[] = [];
    refs.forEach(({ pil, tensor }, i) => {
      const chroma = PHOTO_LIST[i][1];
      if (chroma === "bmp") return;
      const ours = decodeImage(new Uint8Array(readFileSync(files[i])), name(i));
      assert.equal([ours.width, ours.height], [pil.width, pil.height], name(i));
      const pixels = pixelDiff(ours.data, pil.data, name(i));
      const levels = inLevels(preprocess(ours, DEIT_EVAL).data, tensor);
      const line =
        `${name(i).padEnd(32)} ${chroma.padEnd(5)} decode max ${pixels.max} mean ${pixels.mean.toFixed(3)} | ` +
        `tensor max ${levels.max.toFixed(2)} mean ${levels.mean.toFixed(3)}`;
      lines.push(line);
      const bound = BOUNDS[chroma];
      assert.ok(pixels.max <= bound.max && pixels.mean <= bound.mean, `${line}; bound ${JSON.stringify(bound)}`);
      assert.ok(levels.max <= bound.max + 0.01 && levels.mean <= bound.mean, `${line}; bound ${JSON.stringify(bound)}`);
    });
    console.log(`jpeg-js vs PIL (levels of 1/255):\n  ${lines.join("\n  ")}`);
  });
}

test.run();
