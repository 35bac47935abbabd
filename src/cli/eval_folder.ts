// papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] [--proposer DIR --z Z]
// Top-1 / top-5 of a converted classifier (ConvNet or ViT; a ViT with --proposer runs PaPr)
// on an ImageNet-val-style folder: file names start with the class's wnid (n01440764_...).
import { readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../image/decode.ts";
import { preprocess } from "../image/preprocess.ts";
import { Papr } from "../papr/papr.ts";
import { topk } from "../tensor/sort.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { UserError, loadModelDir, parseNumber, readImageFile, readLabels } from "./files.ts";

const IMAGE_FILE = /\.(jpe?g|png|bmp)$/i;

export function evalFolder(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      weights: { type: "string" },
      classes: { type: "string" },
      limit: { type: "string" },
      proposer: { type: "string" },
      z: { type: "string", default: "1" },
    },
  });
  if (positionals.length !== 1) throw new UserError("eval-folder: give exactly one folder");
  if (!values.weights) throw new UserError("eval-folder: --weights DIR is required");
  const folder = positionals[0];
  if (!existsSync(folder)) throw new UserError(`eval-folder: folder '${folder}' does not exist`);
  const classesPath = values.classes ?? join(dirname(folder.replace(/\/+$/, "")), "imagenet-classes.txt");
  const { wnids } = readLabels(classesPath);
  if (!wnids) throw new UserError(`${classesPath}: expected "index wnid name" lines (like imagenet-classes.txt)`);
  const classOf = new Map(wnids.map((w, i) => [w, i]));

  const model = loadModelDir(values.weights, "classifier (--weights)");
  const z = parseNumber("--z", values.z);
  let classifyTensor: (x: Tensor) => Tensor;
  if (model.family === "vit") {
    if (values.proposer) {
      const proposer = loadModelDir(values.proposer, "proposer (--proposer)");
      if (proposer.family === "vit") throw new UserError("--proposer must be a ConvNet");
      const papr = new Papr(model.vit, proposer.convnet);
      classifyTensor = (x) => papr.predict(x, { z }).logits;
    } else classifyTensor = (x) => model.vit.forward(x);
  } else {
    if (values.proposer) throw new UserError("--proposer needs a ViT in --weights");
    classifyTensor = (x) => model.convnet.forward(x);
  }

  let files = readdirSync(folder)
    .filter((f) => IMAGE_FILE.test(f))
    .sort();
  if (values.limit) files = files.slice(0, parseNumber("--limit", values.limit));
  let top1 = 0;
  let top5 = 0;
  let counted = 0;
  const start = performance.now();
  for (const [i, file] of files.entries()) {
    const label = classOf.get(file.split("_")[0]);
    if (label === undefined) continue; // not named by a known wnid
    const x = preprocess(decodeImage(readImageFile(join(folder, file)), file), model.file.preprocess);
    const best = topk(classifyTensor(x).reshape([-1]), 5).indices;
    counted++;
    if (best[0] === label) top1++;
    if (best.includes(label)) top5++;
    if ((i + 1) % 50 === 0)
      process.stderr.write(`  ${i + 1}/${files.length} images, top-1 so far ${((100 * top1) / counted).toFixed(1)}%\n`);
  }
  if (counted === 0) throw new UserError(`eval-folder: no image in '${folder}' is named by a wnid of ${classesPath}`);
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${model.file.arch} on ${folder}: ${counted} images, top-1 ${((100 * top1) / counted).toFixed(1)}% (${top1}), top-5 ${((100 * top5) / counted).toFixed(1)}% (${top5}), ${seconds.toFixed(1)} s`,
  );
}
