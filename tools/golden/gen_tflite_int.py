"""Goldens for src/models/tflite_int.ts (TFLite's integer arithmetic) from tools/golden/tflite_int_ref.py,
on the quantized MobileNetV2 in ../shared/weights/mobilenet_v2_1.0_224_quant_tflite:

  inputs: the center 224x224 pixels of ../shared/data/coral-photos/<name>.bmp, no resizing (BMP decodes
  to the same bytes in PIL and src/image, so both sides run the same input and no photo is committed)
  tflite_int.safetensors          logits_<name> [1001]: the uint8 logits (the final SOFTMAX's input),
                                  exact integers stored as float32; checksums_<name> [operators]: each
                                  operator's output summed mod 65521 (says which operator first differs);
                                  logits_pattern: the input (x * 7 + y * 13 + c * 50) % 256, no photo
"""
import os

import numpy as np

from common import save_fixture, skip_fixture
from tflite_int_ref import read_model, run

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
MODEL = os.path.join(SHARED, "weights", "mobilenet_v2_1.0_224_quant_tflite", "mobilenet_v2_1.0_224_quant.tflite")
PHOTOS = ["cat", "grace_hopper", "dragonfly"]


def center_224(path):
    from PIL import Image
    pixels = np.asarray(Image.open(path).convert("RGB"), np.uint8)
    top, left = (pixels.shape[0] - 224) // 2, (pixels.shape[1] - 224) // 2
    return pixels[top:top + 224, left:left + 224]


def pattern():
    y, x, c = np.meshgrid(np.arange(224), np.arange(224), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 50) % 256).astype(np.uint8)


def checksums(model, values):
    return [int(values[op["outputs"][0]].sum() % 65521) if op["outputs"][0] in values else 0 for op in model["ops"]]


def main():
    if not os.path.isfile(MODEL):
        skip_fixture("tflite_int.safetensors", "../shared absent")
        return []
    model = read_model(MODEL)
    tensors, written = {}, []
    for name in PHOTOS:
        logits, values = run(model, center_224(os.path.join(SHARED, "data", "coral-photos", f"{name}.bmp")))
        tensors[f"logits_{name}"] = logits.astype(np.float32)
        tensors[f"checksums_{name}"] = np.array(checksums(model, values), np.float32)
    logits, _ = run(model, pattern())
    tensors["logits_pattern"] = logits.astype(np.float32)
    written.append(save_fixture("tflite_int", tensors, {"model": os.path.basename(MODEL)}))
    return written
