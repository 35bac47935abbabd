#!/bin/sh
# Converts the trained models in train-out/ into the embedded default weights with the project's own converter.
set -e
cd "$(dirname "$0")/../.."
SCENES='{"cropPct":1,"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5],"interpolation":"bicubic"}'
node --import tsx src/cli/main.ts convert train-out/proposer.safetensors --arch mobilenetv3_small_100 \
  --out weights/mobilenetv3-scenes --labels tools/train/labels.txt --preprocess "$SCENES"
node --import tsx src/cli/main.ts convert train-out/vit.safetensors --arch deit_tiny_patch16_224 --heads 3 \
  --out weights/vit-scenes --labels tools/train/labels.txt --preprocess "$SCENES"
# The hierarchical default (PAPR-SPEC.md section 5), when trained (train.py --models convnext):
if [ -e train-out/convnext.safetensors ]; then
  node --import tsx src/cli/main.ts convert train-out/convnext.safetensors --arch convnext_tiny \
    --out weights/convnext-scenes --labels tools/train/labels.txt --preprocess "$SCENES"
fi
# The default backbone: the DeiT-style distilled student (train.py --models deit-distilled, the proposer as teacher).
# weights/vit-scenes above (no distillation token) stays beside it: the adaptive thresholds and the DIMAP and
# quantization evaluations were measured on it.
if [ -e train-out/deit-distilled.safetensors ]; then
  node --import tsx src/cli/main.ts convert train-out/deit-distilled.safetensors --arch deit_tiny_distilled_patch16_224 \
    --heads 3 --out weights/deit-distilled-scenes --labels tools/train/labels.txt --preprocess "$SCENES"
fi
