// papr convert: a checkpoint (.pth, .safetensors, TF.js) -> a model folder (config.json +
// model.safetensors). Everything is checked before the folder is written (labels against the head,
// --preprocess against the image size, the model built from the converted weights), and the folder
// is written atomically (saveModelDir): a failure leaves --out as it was.
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { checkPreprocessConfig, type PreprocessConfig } from "../image/preprocess.ts";
import { readCheckpointFile } from "../models/load/node.ts";
import {
  PRESETS,
  buildModel,
  buildVideoModel,
  buildVideoProposer,
  convertCheckpoint,
  type ModelFile,
  type Naming,
} from "../models/registry.ts";
import { UserError, checkOutFolder, isInside, oneOf, parsePositiveInteger, readLabels, saveModelDir } from "./files.ts";
import { USAGE } from "./usage.ts";

const PREPROCESS_FIELDS = ["inputSize", "cropPct", "mean", "std", "interpolation"];

export function convert(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      arch: { type: "string" },
      out: { type: "string" },
      naming: { type: "string", default: "auto" },
      labels: { type: "string" },
      heads: { type: "string" },
      preprocess: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UserError(`convert: give exactly one checkpoint\n${USAGE}`);
  if (!values.arch) throw new UserError(`convert: --arch is required (see 'papr archs')`);
  if (!values.out) throw new UserError("convert: --out DIR is required");
  if (!(values.arch in PRESETS)) throw new UserError(`convert: unknown --arch '${values.arch}' (see 'papr archs')`);
  const naming = oneOf("--naming", values.naming, ["auto", "canonical", "timm", "torchvision", "hf"]);
  const numHeads = values.heads === undefined ? undefined : parsePositiveInteger("--heads", values.heads);
  const preprocessOverride = values.preprocess === undefined ? undefined : parsePreprocessOption(values.preprocess);
  const [source] = positionals;
  for (const input of [source, values.labels]) {
    if (input !== undefined && isInside(input, values.out))
      throw new UserError(`--out ${values.out}: contains the input ${input}; choose another folder`);
  }
  checkOutFolder(values.out, values.force); // before the slow part

  const checkpoint = readCheckpointFile(source);
  const labels = values.labels ? readLabels(values.labels).labels : undefined;
  const { file, weights } = convertCheckpoint(
    { tensors: checkpoint.tensors, tfjs: checkpoint.tfjs, tflite: checkpoint.tflite, source: basename(source) },
    values.arch,
    { naming: naming === "auto" ? undefined : (naming as Naming), labels, numHeads },
  );
  if (labels && labels.length !== file.model.numClasses) {
    throw new UserError(
      `--labels ${values.labels}: ${labels.length} labels for a ${String(file.model.numClasses)}-class head`,
    );
  }
  if (preprocessOverride) file.preprocess = { ...file.preprocess, ...preprocessOverride };
  checkPreprocessForModel(file);
  try {
    if (file.family === "videomae") buildVideoModel(file, weights);
    else if (file.family === "x3d" || file.family === "r3d") buildVideoProposer(file, weights);
    else buildModel(file, weights);
  } catch (e) {
    throw new UserError(`convert ${source}: the converted model does not load (${(e as Error).message})`);
  }
  saveModelDir(values.out, file, weights, { force: values.force });
  const count = [...weights.values()].reduce((n, t) => n + t.size, 0);
  console.log(
    `converted ${source} (${checkpoint.format}) as ${values.arch}: ${weights.size} tensors, ${(count / 1e6).toFixed(2)} M parameters -> ${values.out}`,
  );
}

/** --preprocess: a JSON object of known PreprocessConfig fields (checked in full once merged). */
function parsePreprocessOption(text: string): Partial<PreprocessConfig> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--preprocess: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new UserError('--preprocess: must be a JSON object like {"cropPct":1}');
  const unknown = Object.keys(value).find((key) => !PREPROCESS_FIELDS.includes(key));
  if (unknown !== undefined)
    throw new UserError(`--preprocess: unknown field '${unknown}' (known: ${PREPROCESS_FIELDS.join(", ")})`);
  return value as Partial<PreprocessConfig>;
}

/** The merged preprocessing must be valid and give the model the image size it was built for. */
function checkPreprocessForModel(file: ModelFile): void {
  try {
    checkPreprocessConfig("--preprocess", file.preprocess);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const imageSize = file.model.imageSize;
  if (typeof imageSize === "number" && file.preprocess.inputSize !== imageSize) {
    throw new UserError(
      `--preprocess: inputSize ${file.preprocess.inputSize} differs from the model's image size ${imageSize}`,
    );
  }
}
