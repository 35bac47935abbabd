"""Goldens for src/models/tflite_int.ts (TFLite's integer arithmetic) from tools/golden/tflite_int_ref.py,
on the quantized MobileNetV2 in ../shared/weights/mobilenet_v2_1.0_224_quant_tflite:

  images/tflite_<name>.png        the 224x224 uint8 crop both sides run (PIL: shorter side 256 bilinear,
                                  center crop), so the test does not depend on image resizing
  tflite_int.safetensors          logits_<name> [1001]: the uint8 logits (the final SOFTMAX's input),
                                  exact integers stored as float32; checksums_<name> [operators]: each
                                  operator's output summed mod 65521 (says which operator first differs);
                                  logits_pattern: the input (x * 7 + y * 13 + c * 50) % 256, no photo
"""
import os

import numpy as np

from common import FIXTURES, save_fixture, skip_fixture
from tflite_int_ref import crop_224, read_model, run

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
MODEL = os.path.join(SHARED, "weights", "mobilenet_v2_1.0_224_quant_tflite", "mobilenet_v2_1.0_224_quant.tflite")
PHOTOS = {"tench": "data/imagenet-samples/n01440764_tench.JPEG",
          "grace_hopper": "data/coral-photos/grace_hopper.bmp",
          "acoustic_guitar": "data/imagenet-samples/n02676566_acoustic_guitar.JPEG"}


def pattern():
    y, x, c = np.meshgrid(np.arange(224), np.arange(224), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 50) % 256).astype(np.uint8)


def checksums(model, values):
    return [int(values[op["outputs"][0]].sum() % 65521) if op["outputs"][0] in values else 0 for op in model["ops"]]


def main():
    if not os.path.isfile(MODEL):
        skip_fixture("tflite_int.safetensors", "../shared absent")
        return []
    from PIL import Image
    model = read_model(MODEL)
    tensors, written = {}, []
    for name, rel in PHOTOS.items():
        crop = crop_224(os.path.join(SHARED, rel))
        path = os.path.join(FIXTURES, "images", f"tflite_{name}.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(crop).save(path, optimize=True)
        written.append(path)
        logits, values = run(model, crop)
        tensors[f"logits_{name}"] = logits.astype(np.float32)
        tensors[f"checksums_{name}"] = np.array(checksums(model, values), np.float32)
    logits, _ = run(model, pattern())
    tensors["logits_pattern"] = logits.astype(np.float32)
    written.append(save_fixture("tflite_int", tensors, {"model": os.path.basename(MODEL)}))
    return written
