// papr-ts in Node: the whole platform-neutral API (src/index.ts) plus reading model folders and images
// from disk, and the default pair of models shipped in the package's weights/ folder.
// `import ... from "papr-ts"` resolves here under Node (package.json "exports", condition "node").
import { fileURLToPath } from "node:url";
import { loadModelDir } from "./cli/files.ts";
import type { LoadedModel } from "./models/registry.ts";

export * from "./index.ts";
export { loadModelDir, readImageFile, readLabels, UserError } from "./cli/files.ts";

/** The default backbone: a 6-block, width-96 DeiT-style ViT trained on the Fashion-MNIST scenes (README). */
export const DEFAULT_BACKBONE_DIR = fileURLToPath(new URL("../weights/vit-scenes", import.meta.url));
/** The default proposer: a MobileNetV3-small trained on the same scenes. */
export const DEFAULT_PROPOSER_DIR = fileURLToPath(new URL("../weights/mobilenetv3-scenes", import.meta.url));

/** Reads the default pair from the package's weights/ folder. */
export function loadDefaultModels(): { backbone: LoadedModel; proposer: LoadedModel } {
  return {
    backbone: loadModelDir(DEFAULT_BACKBONE_DIR, "default backbone"),
    proposer: loadModelDir(DEFAULT_PROPOSER_DIR, "default proposer"),
  };
}
