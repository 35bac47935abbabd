// The integer path against the numpy reference on many photos (issue 22): reads the crops and
// logits.jsonl written by tools/golden/tflite_int_ref.py, runs src/models/tflite_int.ts on each
// crop and counts the photos whose uint8 logits differ in any of the 1001 values.
//
//   /usr/bin/python3 tools/golden/tflite_int_ref.py MODEL.tflite ../shared/data/imagenet-samples OUT
//   node --import tsx scripts/check_tflite_int.ts MODEL.tflite OUT [CLASSES]
// With CLASSES (imagenet-classes.txt: "index wnid name"; crops named <wnid>_...), it also prints the
// top-1 / top-5 of the integer logits on these crops (logit 0 = background, class i = logit i + 1).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeImage } from "../src/image/decode.ts";
import { readTflite } from "../src/models/load/tflite.ts";
import { prepareIntegerModel } from "../src/models/tflite_int.ts";

const [modelPath, dir, classesPath] = process.argv.slice(2);
const classOf = new Map<string, number>();
if (classesPath)
  readFileSync(classesPath, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .forEach((l, i) => classOf.set(l.trim().split(/\s+/)[1], i));
let top1 = 0;
let top5 = 0;
let labelled = 0;
if (!modelPath || !dir) throw new Error("usage: check_tflite_int.ts MODEL.tflite REFERENCE_DIR");
const model = prepareIntegerModel(readTflite(new Uint8Array(readFileSync(modelPath)), modelPath));
const reference: Record<string, number[]> = {};
for (const line of readFileSync(join(dir, "logits.jsonl"), "utf8").split("\n")) {
  if (!line.trim()) continue;
  const { crop, logits } = JSON.parse(line) as { crop: string; logits: number[] };
  reference[crop] = logits;
}
let equal = 0;
let differing = 0;
let values = 0;
const start = performance.now();
for (const [png, expected] of Object.entries(reference)) {
  const image = decodeImage(new Uint8Array(readFileSync(join(dir, png))), png);
  const logits = model.run(Int32Array.from(image.data)).logits;
  let diff = logits.length === expected.length ? 0 : 1;
  for (let i = 0; i < expected.length; i++) if (logits[i] !== expected[i]) diff++;
  values += expected.length;
  const label = classOf.get(png.split("_")[0]);
  if (label !== undefined) {
    // rank of the true class among the 1000 (ties: lower index first, as topk)
    const order = [...logits.slice(1).keys()].sort((a, b) => logits[b + 1] - logits[a + 1] || a - b);
    labelled++;
    if (order[0] === label) top1++;
    if (order.slice(0, 5).includes(label)) top5++;
  }
  if (diff === 0) equal++;
  else {
    differing++;
    console.log(`${png}: ${diff} of ${expected.length} logits differ`);
  }
}
const seconds = ((performance.now() - start) / 1000).toFixed(0);
console.log(
  `integer path vs numpy reference: ${equal} of ${equal + differing} photos equal in all logits (${values} uint8 values compared), ${differing} differ, ${seconds} s`,
);
if (labelled > 0)
  console.log(
    `integer path on these crops: top-1 ${((100 * top1) / labelled).toFixed(1)}% (${top1}), top-5 ${((100 * top5) / labelled).toFixed(1)}% (${top5}) of ${labelled}`,
  );
process.exitCode = differing === 0 ? 0 : 1;
