// The shipped proposer (weights/mobilenetv3-scenes, timm names) back in torchvision's names, so that
// train.py can load it into torchvision's mobilenet_v3_small as the distillation teacher
// (`train.py --models deit-distilled --teacher-weights train-out/teacher.safetensors`).
//   node --import tsx tools/train/teacher_weights.ts [weights/mobilenetv3-scenes] [train-out/teacher.safetensors]
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { readCheckpointFile } from "../../src/models/load/node.ts";
import { canonicalToTorchvisionMobileNetV3 } from "../../src/models/load/names_mobilenet.ts";
import { writeSafetensors } from "../../src/tensor/safetensors.ts";

const [folder = "weights/mobilenetv3-scenes", out = "train-out/teacher.safetensors"] = process.argv.slice(2);
const canonical = readCheckpointFile(`${folder}/model.safetensors`).tensors;
const torchvision = canonicalToTorchvisionMobileNetV3(canonical, "small");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, writeSafetensors(torchvision, { source: folder }));
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}: ${torchvision.size} tensors in torchvision's names, from ${folder}`);
