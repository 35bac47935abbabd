// Where the default pair of models lives: the weights/ folder of the checkout or of the installed
// package (two levels above this file in src/models/ and in dist/models/).
import { fileURLToPath } from "node:url";

/** The default backbone: a 6-block, width-96 DeiT-style ViT with a distillation token, trained on the Fashion-MNIST
 * scenes with the proposer below as its teacher (README, tools/train/README.md). */
export const DEFAULT_BACKBONE_DIR = fileURLToPath(new URL("../../weights/deit-distilled-scenes", import.meta.url));
/** The default proposer: a MobileNetV3-small trained on the same scenes. */
export const DEFAULT_PROPOSER_DIR = fileURLToPath(new URL("../../weights/mobilenetv3-scenes", import.meta.url));
