// papr quantize <model dir> --bits w4a8 --calibration DIR --out DIR [--method rapq] [--limit 100]
//               [--search-images 32] [--force]
// Post-training quantization (docs/quantization.md) of a converted ConvNet folder from the images in
// --calibration (sorted by name, the first --limit). Writes a quantized model folder (config.json with a
// `quantization` section + the integer weights) atomically; `classify` and `eval-folder` load it as a
// classifier or a proposer (simulated execution, bit-identical to the integer one).
import { readdirSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../image/decode.ts";
import { preprocess } from "../image/preprocess.ts";
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
  if (model.family !== "mobilenetv1")
    throw new UserError(
      `quantize: ${dir} is a ${model.family}; quantization supports mobilenetv1 (conv-BN-ReLU6 chains) only`,
    );
  const weightsPath = join(dir, "model.safetensors");
  const weights = readSafetensors(readRegularFile(weightsPath, weightsPath, MAX_CHECKPOINT_BYTES), weightsPath).tensors;
  const chain = mobilenetV1Chain(model.file.model as MobileNetV1Config, weights);

  const folder = values.calibration;
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UserError(`--calibration ${folder}: not a folder`);
  const names = readdirSync(folder)
    .filter((f) => IMAGE_FILE.test(f))
    .sort()
    .slice(0, limit);
  if (names.length === 0) throw new UserError(`--calibration ${folder}: no .jpg / .png / .bmp image`);
  const images = names.map((name) => {
    const path = join(folder, name);
    try {
      return preprocess(decodeImage(readImageFile(path), path), model.file.preprocess);
    } catch (e) {
      throw new UserError(`--calibration: ${(e as Error).message}`);
    }
  });
  const start = performance.now();
  const result = quantizeChain(chain, images, { method, ...bits }, undefined, searchImages);
  const seconds = (performance.now() - start) / 1000;
  const { file, weights: qweights } = quantizedModelFile(model.file, result.net, method, {
    images: images.length,
    source: folder,
  });
  saveModelDir(values.out, file as unknown as ModelFile, qweights, { force: values.force });
  const adjust = result.adjust
    ? `; scale adjustment: logit MSE ${result.adjust.lossBefore.toFixed(3)} -> ${result.adjust.lossAfter.toFixed(3)} (${result.adjust.changes.length} exponents moved)`
    : "";
  console.log(
    `quantized ${dir} (${model.file.arch}) to ${values.bits.toUpperCase()} with ${method} on ${images.length} calibration images in ${seconds.toFixed(1)} s${adjust} -> ${values.out}`,
  );
}
