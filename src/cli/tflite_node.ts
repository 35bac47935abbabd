// A .tflite file given where the CLI takes a model folder (--weights, --proposer): the model runs in
// TFLite's integer arithmetic (src/models/tflite_int.ts) as a ConvNet. Its preprocessing and config
// are the mobilenet_v2_1.0_224_quant preset's; labels come from imagenet_labels_1001.txt or
// labels.txt beside the file when present.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readTflite } from "../models/load/tflite.ts";
import { PRESETS, type LoadedModel, type ModelFile } from "../models/registry.ts";
import { integerConvNet, prepareIntegerModel } from "../models/tflite_int.ts";
import { MAX_CHECKPOINT_BYTES, readRegularFile } from "../models/load/node.ts";

export const TFLITE_ARCH = "mobilenet_v2_1.0_224_quant";

/** Throws plain Errors (files.ts's loadModelDir wraps them with the role). */
export function loadTfliteFile(path: string): LoadedModel {
  if (!existsSync(path)) throw new Error("no such file");
  const integer = prepareIntegerModel(readTflite(readRegularFile(path, path, MAX_CHECKPOINT_BYTES), path));
  const convnet = integerConvNet(integer);
  const numClasses = integer.logits.shape.reduce((a, b) => a * b, 1);
  const labelsPath = ["imagenet_labels_1001.txt", "labels.txt"].map((f) => join(dirname(path), f)).find(existsSync);
  const labels = labelsPath
    ? readFileSync(labelsPath, "utf8")
        .split(/\r?\n/)
        .filter((l) => l.trim() !== "")
        .map((l) => l.trim())
    : undefined;
  const file: ModelFile = {
    format: "papr-ts/1",
    arch: `${TFLITE_ARCH} (integer)`,
    family: "mobilenetv2",
    model: { numClasses, integer: true },
    preprocess: PRESETS[TFLITE_ARCH].preprocess,
    source: path,
    ...(labels && labels.length === numClasses ? { labels } : {}),
  };
  return { family: "mobilenetv2", file, convnet };
}
