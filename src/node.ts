// papr-ts in Node: the whole platform-neutral API (src/index.ts) plus reading model folders and images
// from disk, and the default pair of models shipped in the package's weights/ folder.
// `import ... from "papr-ts"` resolves here under Node (package.json "exports", condition "node").
import { loadModelDir } from "./cli/files.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "./models/default_weights_node.ts";
import type { LoadedModel } from "./models/registry.ts";

export * from "./index.ts";
export { loadModelDir, readImageFile, readLabels, UserError } from "./cli/files.ts";
export { readClip, readFrameFolder } from "./cli/clip_files.ts";
export { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "./models/default_weights_node.ts";

/** Reads the default pair from the package's weights/ folder. */
export function loadDefaultModels(): { backbone: LoadedModel; proposer: LoadedModel } {
  return {
    backbone: loadModelDir(DEFAULT_BACKBONE_DIR, "default backbone"),
    proposer: loadModelDir(DEFAULT_PROPOSER_DIR, "default proposer"),
  };
}
