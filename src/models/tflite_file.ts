// A .tflite file as a LoadedModel: the graph run in TFLite's integer arithmetic (tflite_int.ts) as
// a ConvNet, with the mobilenet_v2_1.0_224_quant preset's preprocessing. Used wherever a model
// folder is accepted: the CLI (--weights / --proposer FILE.tflite) and fetchModelDir (a URL ending
// in .tflite, e.g. the web demo's ?proposer=).
import { readTflite } from "./load/tflite.ts";
import { PRESETS, type LoadedModel, type ModelFile } from "./registry.ts";
import { integerConvNet, prepareIntegerModel } from "./tflite_int.ts";

export const TFLITE_ARCH = "mobilenet_v2_1.0_224_quant";

/** `labels`: one per class (e.g. imagenet_labels_1001.txt's lines), kept when their count fits. */
export function tfliteIntegerModel(bytes: Uint8Array, source: string, labels?: string[]): LoadedModel {
  const integer = prepareIntegerModel(readTflite(bytes, source));
  const numClasses = integer.logits.shape.reduce((a, b) => a * b, 1);
  const file: ModelFile = {
    format: "papr-ts/1",
    arch: `${TFLITE_ARCH} (integer)`,
    family: "mobilenetv2",
    model: { numClasses, integer: true },
    preprocess: PRESETS[TFLITE_ARCH].preprocess,
    source,
    ...(labels && labels.length === numClasses ? { labels } : {}),
  };
  return { family: "mobilenetv2", file, convnet: integerConvNet(integer) };
}
