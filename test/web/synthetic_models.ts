// Synthetic stand-ins for the demo's default weights (weights/deit-distilled-scenes, weights/mobilenetv3-scenes):
// the same architectures and preprocessing (a 6-block DeiT-Tiny-width ViT and a MobileNetV3-small, 10
// Fashion-MNIST classes, mean = std = 0.5), seeded synthetic weights. Written as model directories with
// the CLI's saveModelDir, so `papr classify` and the page read the very same files.
//
//   node --import tsx test/web/synthetic_models.ts [OUT]     (default out/web-synthetic; prints the page URL query)
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { saveModelDir } from "../../src/cli/files.ts";
import { FASHION_LABELS } from "../../src/data/fashion_mnist.ts";
import { PRESETS, familySpec, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCENES_PREPROCESS = {
  inputSize: 224,
  cropPct: 1,
  interpolation: "bicubic" as const,
  mean: [0.5, 0.5, 0.5] as [number, number, number],
  std: [0.5, 0.5, 0.5] as [number, number, number],
};

function write(dir: string, arch: string, model: Record<string, unknown>, seed: number): void {
  const p = PRESETS[arch];
  const file: ModelFile = {
    format: "papr-ts/1",
    arch,
    family: p.family,
    model: { ...p.model, ...model },
    preprocess: SCENES_PREPROCESS,
    labels: [...FASHION_LABELS],
    source: `synthetic (seed ${seed}), test/web/synthetic_models.ts`,
  };
  saveModelDir(dir, file, syntheticWeights(familySpec(file.family, file.model), seed));
}

/** Writes (once) OUT/deit-distilled-scenes and OUT/mobilenetv3-scenes; returns their paths. */
export function syntheticDemoModels(out = join(ROOT, "out/web-synthetic")): { backbone: string; proposer: string } {
  const backbone = join(out, "deit-distilled-scenes");
  const proposer = join(out, "mobilenetv3-scenes");
  if (!existsSync(join(backbone, "config.json")))
    write(backbone, "deit_tiny_distilled_patch16_224", { depth: 6, numClasses: 10 }, 1);
  if (!existsSync(join(proposer, "config.json"))) write(proposer, "mobilenetv3_small_100", { numClasses: 10 }, 2);
  return { backbone, proposer };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { backbone, proposer } = syntheticDemoModels(process.argv[2] ? resolve(process.argv[2]) : undefined);
  const url = (dir: string) => "/" + dir.slice(ROOT.length).replaceAll("\\", "/") + "/";
  console.log(`wrote ${backbone} and ${proposer}`);
  console.log(`page: http://127.0.0.1:8080/examples/web/?backbone=${url(backbone)}&proposer=${url(proposer)}`);
}
