// A .tflite file given where the CLI takes a model folder (--weights, --proposer): read from disk
// (regular file, size-checked), labels from imagenet_labels_1001.txt or labels.txt beside it when
// present; see src/models/tflite_file.ts. Throws plain Errors (files.ts's loadModelDir names the role).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MAX_CHECKPOINT_BYTES, readRegularFile } from "../models/load/node.ts";
import { tfliteIntegerModel } from "../models/tflite_file.ts";
import type { LoadedModel } from "../models/registry.ts";

export function loadTfliteFile(path: string): LoadedModel {
  if (!existsSync(path)) throw new Error("no such file");
  const bytes = readRegularFile(path, path, MAX_CHECKPOINT_BYTES);
  const labelsPath = ["imagenet_labels_1001.txt", "labels.txt"].map((f) => join(dirname(path), f)).find(existsSync);
  const labels = labelsPath
    ? readFileSync(labelsPath, "utf8")
        .split(/\r?\n/)
        .filter((l) => l.trim() !== "")
        .map((l) => l.trim())
    : undefined;
  return tfliteIntegerModel(bytes, path, labels);
}
