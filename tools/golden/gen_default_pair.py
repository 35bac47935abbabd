"""Fixture proving the TS engine runs the embedded default ViT (weights/vit-scenes) as PyTorch does.

The trained ViT's weights (timm names, float32, as `papr convert` wrote them) go into the PyTorch module it was
trained as (tools/train/models.py); logits on held-out scenes 0..7 (tools/train/scenes.py, the t10k items in
data/fashion-mnist/) are stored with the weights file's SHA-256, so a stale fixture is detected.
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch

from common import ROOT, save_fixture

sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import models  # noqa: E402
import scenes  # noqa: E402

WEIGHTS = os.path.join(ROOT, "weights", "vit-scenes")
SCENES = 8


def read_safetensors(path: str) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}, expected F32"
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").copy().reshape(info["shape"]))
    return out


def main():
    path = os.path.join(WEIGHTS, "model.safetensors")
    with open(os.path.join(WEIGHTS, "config.json")) as f:
        m = json.load(f)["model"]
    vit = models.VisionTransformer(m["imageSize"], m["patchSize"], m["embedDim"], m["depth"], m["numHeads"],
                                   m["mlpRatio"], m["numClasses"], m["layerNormEps"])
    vit.load_state_dict(read_safetensors(path))
    vit.eval()
    items, labels = scenes.load_items("test")
    images, ys, _ = scenes.make_batch(items, labels, "test", 0, SCENES)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0).sub(0.5).div(0.5)
    with torch.no_grad():
        logits = vit(x)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return [save_fixture("default_vit_logits", {"logits": logits, "labels": torch.from_numpy(ys).float()},
                         {"weights_sha256": digest, "scenes": f"test 0..{SCENES - 1}"})]
