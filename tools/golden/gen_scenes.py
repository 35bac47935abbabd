"""Fixture proving src/data/scenes.ts rebuilds the Python scenes (tools/train/scenes.py) byte for byte.

For a few test-split scenes (built from the committed t10k items): label, box, an FNV-1a hash of all
224*224*3 bytes (split into 16-bit halves, exact in float32), per-row byte sums (to locate a mismatch),
and a 16x16 RGB crop centred on the target's box.
"""
import os
import sys

import numpy as np
import torch

from common import save_fixture

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train"))
import scenes  # noqa: E402

INDICES = [0, 1, 2, 3, 1999, 54321]
TRAIN_INDEX = 777


def fnv1a_bytes(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def crop_centre(box):
    cx = min(max((box[0] + box[2]) // 2, 8), scenes.SIZE - 8)
    cy = min(max((box[1] + box[3]) // 2, 8), scenes.SIZE - 8)
    return cx - 8, cy - 8


def main():
    items, labels = scenes.load_items("test")
    tensors = {}
    for i in INDICES:
        rgb, label, box = scenes.make_scene(items, labels, "test", i)
        h = fnv1a_bytes(rgb.tobytes())
        x0, y0 = crop_centre(box)
        tensors[f"scene{i}.label"] = torch.tensor([float(label)])
        tensors[f"scene{i}.box"] = torch.tensor([float(v) for v in box])
        tensors[f"scene{i}.hash"] = torch.tensor([float(h >> 16), float(h & 0xFFFF)])
        tensors[f"scene{i}.row_sums"] = torch.from_numpy(rgb.astype(np.int64).sum(axis=(1, 2)).astype(np.float32))
        tensors[f"scene{i}.crop"] = torch.from_numpy(rgb[y0:y0 + 16, x0:x0 + 16].astype(np.float32))
    # One train-split scene (train items are not committed: the TS test checks it only where they are installed).
    train_items, train_labels = scenes.load_items("train")
    rgb, label, box = scenes.make_scene(train_items, train_labels, "train", TRAIN_INDEX)
    h = fnv1a_bytes(rgb.tobytes())
    tensors["train_scene.label_box"] = torch.tensor([float(label)] + [float(v) for v in box])
    tensors["train_scene.hash"] = torch.tensor([float(h >> 16), float(h & 0xFFFF)])
    return [save_fixture("scenes", tensors, {"indices": ",".join(map(str, INDICES)), "split": "test", "train_index": TRAIN_INDEX})]
