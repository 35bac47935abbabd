// papr quantize <model dir> --bits w4a8 --calibration DIR|scenes:SPLIT:N --out DIR [--method rapq]
//               [--limit 100] [--search-images 32] [--fashion-mnist DIR] [--force]
// Post-training quantization (docs/quantization.md) of a converted ConvNet folder from the images in
// --calibration (sorted by name, the first --limit), or of the Fashion-MNIST scenes
// `scenes:train:100` (scenes 0..99 of that split, src/data/scenes.ts, items from --fashion-mnist).
// MobileNetV1 folders are quantized as a conv chain, MobileNetV3 folders as a graph (v3_ptq.ts). Writes a quantized model folder (config.json with a
// `quantization` section + the integer weights) atomically; `classify` and `eval-folder` load it as a
// classifier or a proposer (simulated execution, bit-identical to the integer one).
import { readdirSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../image/decode.ts";
import { preprocess, type PreprocessConfig } from "../image/preprocess.ts";
import type { FashionItems } from "../data/fashion_mnist.ts";
import { FASHION_MNIST_DIR, loadFashionItems } from "../data/fashion_mnist_node.ts";
import { makeScene, type SceneSplit } from "../data/scenes.ts";
import type { MobileNetV3Config } from "../models/mobilenetv3.ts";
import { mobilenetV3Graph } from "../quant/v3_graph.ts";
import { quantizedV3ModelFile } from "../quant/v3_model_file.ts";
import { quantizeV3 } from "../quant/v3_ptq.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { MobileNetV1Config } from "../models/mobilenetv1.ts";
import type { ModelFile } from "../models/registry.ts";
import { mobilenetV1Chain } from "../quant/conv_chain.ts";
import { quantizedModelFile } from "../quant/model_file.ts";
import { METHODS, parseBits, quantizeChain, type Method } from "../quant/ptq.ts";
import { readSafetensors } from "../tensor/safetensors.ts";
import { MAX_CHECKPOINT_BYTES, readRegularFile } from "../models/load/node.ts";
import {
  UserError,
  checkOutFolder,
  isInside,
  loadModelDir,
  oneOf,
  parsePositiveInteger,
  readImageFile,
  saveModelDir,
} from "./files.ts";

const IMAGE_FILE = /\.(jpe?g|png|bmp)$/i;

export function quantize(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bits: { type: "string" },
      calibration: { type: "string" },
      out: { type: "string" },
      method: { type: "string", default: "rapq" },
      limit: { type: "string", default: "100" },
      "search-images": { type: "string", default: "32" },
      "fashion-mnist": { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UserError("quantize: give exactly one model folder");
  if (!values.bits) throw new UserError("quantize: --bits is required (w8a8, w4a8, w4a4, w2a4, ...)");
  if (!values.calibration) throw new UserError("quantize: --calibration DIR (images) is required");
  if (!values.out) throw new UserError("quantize: --out DIR is required");
  let bits: { weightBits: number; activationBits: number };
  try {
    bits = parseBits(values.bits);
  } catch (e) {
    throw new UserError(`--bits: ${(e as Error).message}`);
  }
  const method = oneOf("--method", values.method!, [...METHODS]) as Method;
  const limit = parsePositiveInteger("--limit", values.limit!);
  const searchImages = parsePositiveInteger("--search-images", values["search-images"]!);
  const [dir] = positionals;
  if (isInside(dir, values.out))
    throw new UserError(`--out ${values.out}: contains the input ${dir}; choose another folder`);
  checkOutFolder(values.out, values.force!);

  const model = loadModelDir(dir, "model");
  if ("quantization" in model.file) throw new UserError(`quantize: ${dir} is already quantized`);
  if (model.family !== "mobilenetv1" && model.family !== "mobilenetv3")
    throw new UserError(
      `quantize: ${dir} is a ${model.family}; quantization supports mobilenetv1 (conv-BN-ReLU6 chains) and mobilenetv3`,
    );
  const weightsPath = join(dir, "model.safetensors");
  const weights = readSafetensors(readRegularFile(weightsPath, weightsPath, MAX_CHECKPOINT_BYTES), weightsPath).tensors;

  const folder = values.calibration;
  const images = calibrationImages(folder, limit, model.file.preprocess, values["fashion-mnist"]);
  const calibration = { images: images.length, source: folder };
  const start = performance.now();
  let saved: { file: unknown; weights: Map<string, Tensor> };
  let adjustReport: { lossBefore: number; lossAfter: number; changes: string[] } | undefined;
  if (model.family === "mobilenetv3") {
    const graph = mobilenetV3Graph(model.file.model as unknown as MobileNetV3Config, weights);
    const result = quantizeV3(graph, images, { method, ...bits }, undefined, searchImages);
    adjustReport = result.adjust;
    saved = quantizedV3ModelFile(model.file, result.net, method, calibration);
  } else {
    const chain = mobilenetV1Chain(model.file.model as MobileNetV1Config, weights);
    const result = quantizeChain(chain, images, { method, ...bits }, undefined, searchImages);
    adjustReport = result.adjust;
    saved = quantizedModelFile(model.file, result.net, method, calibration);
  }
  const seconds = (performance.now() - start) / 1000;
  const { file, weights: qweights } = saved;
  saveModelDir(values.out, file as unknown as ModelFile, qweights, { force: values.force });
  const adjust = adjustReport
    ? `; scale adjustment: logit MSE ${adjustReport.lossBefore.toFixed(3)} -> ${adjustReport.lossAfter.toFixed(3)} (${adjustReport.changes.length} exponents moved)`
    : "";
  console.log(
    `quantized ${dir} (${model.file.arch}) to ${values.bits.toUpperCase()} with ${method} on ${images.length} calibration images in ${seconds.toFixed(1)} s${adjust} -> ${values.out}`,
  );
}

const SCENES_SOURCE = /^scenes:(train|test):(\d+)$/;

/** The preprocessed calibration images: a folder's images (sorted, the first `limit`) or `scenes:SPLIT:N`. */
function calibrationImages(
  source: string,
  limit: number,
  config: PreprocessConfig,
  fashionDir: string | undefined,
): Tensor[] {
  const scenes = SCENES_SOURCE.exec(source);
  if (scenes) {
    const split = scenes[1] as SceneSplit;
    const count = Math.min(Number(scenes[2]), limit);
    if (count === 0) throw new UserError(`--calibration ${source}: no scenes`);
    const dir = fashionDir ?? FASHION_MNIST_DIR;
    let items: FashionItems;
    try {
      items = loadFashionItems(dir, split === "train" ? "train" : "t10k");
    } catch (e) {
      throw new UserError(
        `--calibration ${source}: cannot read the Fashion-MNIST ${split} items from ${dir} (--fashion-mnist DIR): ${(e as Error).message}`,
      );
    }
    return Array.from({ length: count }, (_, i) => preprocess(makeScene(items, split, i).image, config));
  }
  if (source.startsWith("scenes:"))
    throw new UserError(`--calibration ${source}: expected scenes:train:N or scenes:test:N`);
  if (!existsSync(source) || !statSync(source).isDirectory())
    throw new UserError(`--calibration ${source}: not a folder (nor scenes:SPLIT:N)`);
  const names = readdirSync(source)
    .filter((f) => IMAGE_FILE.test(f))
    .sort()
    .slice(0, limit);
  if (names.length === 0) throw new UserError(`--calibration ${source}: no .jpg / .png / .bmp image`);
  return names.map((name) => {
    const path = join(source, name);
    try {
      return preprocess(decodeImage(readImageFile(path), path), config);
    } catch (e) {
      throw new UserError(`--calibration: ${(e as Error).message}`);
    }
  });
}
