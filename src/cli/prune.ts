// papr prune <model dir> --method dimap|global-magnitude|layer-magnitude --flops 0.5 --out DIR [--force]
// Data-free unstructured weight pruning (docs/dimap.md) of a Swin, ConvNeXt or ViT folder: removes the
// fraction --flops of the model's MACs (the paper's count: a layer's MACs scale with its kept weights).
// Writes a model folder of the same format atomically (pruned weights zeroed) whose config.json carries a
// `pruning` section (method, target, dense and nonzero MACs, per-module and per-layer density); `classify
// --weights DIR` loads it like any other folder and prints its MACs.
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ModelFile } from "../models/registry.ts";
import { MAX_CHECKPOINT_BYTES, readRegularFile } from "../models/load/node.ts";
import { PRUNING_METHODS, type PruningMethod } from "../prune/mask.ts";
import { pruneWeights, type PruningReport } from "../prune/prune_model.ts";
import { readSafetensors } from "../tensor/safetensors.ts";
import { UserError, checkOutFolder, isInside, loadModelDir, oneOf, parseNumber, saveModelDir } from "./files.ts";

export function prune(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      method: { type: "string", default: "dimap" },
      flops: { type: "string" },
      out: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UserError("prune: give exactly one model folder");
  if (values.flops === undefined)
    throw new UserError("prune: --flops F (the fraction of MACs to remove, e.g. 0.5) is required");
  if (!values.out) throw new UserError("prune: --out DIR is required");
  const method = oneOf("--method", values.method!, [...PRUNING_METHODS]) as PruningMethod;
  const flops = parseNumber("--flops", values.flops);
  if (!(flops >= 0 && flops < 1))
    throw new UserError(`--flops ${values.flops}: must lie in [0, 1) (the fraction of MACs to remove)`);
  const [dir] = positionals;
  if (isInside(dir, values.out))
    throw new UserError(`--out ${values.out}: contains the input ${dir}; choose another folder`);
  checkOutFolder(values.out, values.force!);

  const model = loadModelDir(dir, "model");
  if ("quantization" in model.file) throw new UserError(`prune: ${dir} is quantized; prune the float model`);
  if ("pruning" in model.file) throw new UserError(`prune: ${dir} is already pruned; prune the dense model`);
  if (model.family !== "swin" && model.family !== "convnext" && model.family !== "vit")
    throw new UserError(`prune: ${dir} is a ${model.family}; pruning supports swin, convnext and vit folders`);
  const weightsPath = join(dir, "model.safetensors");
  const weights = readSafetensors(readRegularFile(weightsPath, weightsPath, MAX_CHECKPOINT_BYTES), weightsPath).tensors;
  const start = performance.now();
  let result: ReturnType<typeof pruneWeights>;
  try {
    result = pruneWeights(model, weights, method, flops);
  } catch (e) {
    throw new UserError(`prune ${dir}: ${(e as Error).message.replace(/^prune: /, "")}`);
  }
  const seconds = (performance.now() - start) / 1000;
  const file = { ...model.file, source: `${model.file.source ?? dir}, pruned`, pruning: result.report };
  saveModelDir(values.out, file as ModelFile, result.weights, { force: values.force });
  console.log(`pruned ${dir} (${model.file.arch}) with ${method} in ${seconds.toFixed(1)} s -> ${values.out}`);
  console.log(pruningSummary(result.report));
}

/** Two lines: the MACs before and after, and the density per module. */
export function pruningSummary(r: PruningReport): string {
  const g = (macs: number) => (macs / 1e9).toFixed(4);
  const modules = Object.entries(r.modules)
    .map(([name, m]) => `${name} ${(100 * m.density).toFixed(1)}%`)
    .join(", ");
  return (
    `  pruned (${r.method}, FLOPs target ${r.flopsTarget}): nonzero MACs ${g(r.nonzeroMacs)} G of ${g(r.denseMacs)} G dense ` +
    `(${(100 * r.flopsRemoved).toFixed(1)}% removed; ${(100 * r.paramsRemoved).toFixed(1)}% of the parameters)\n` +
    `  weights kept per module: ${modules}`
  );
}
