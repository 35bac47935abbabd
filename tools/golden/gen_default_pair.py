"""Fixtures proving the TS engine runs the embedded models as PyTorch does, on held-out scenes 0..7.

default_pair: the default pair (weights/deit-distilled-scenes, a DeiT-style ViT with a distillation token, and its
proposer weights/mobilenetv3-scenes) loaded into the PyTorch modules they were trained as (tools/train/models.py):
the unpruned logits (mean of the class and distillation heads, as DeiT infers) and PaPr at z = 0.5 and 0.3 with the
official conventions (gen_papr.py: channel mean, bicubic align_corners to 14x14, stable descending ranking,
k = floor(198 z) with both prefix tokens counted, kept patches in ranking order behind the class AND distillation
tokens): the kept indices and the pruned logits.
default_vit_logits: the earlier default ViT (weights/vit-scenes, no distillation token), unpruned logits.
Each fixture records the SHA-256 of the weights it was made from, so a stale fixture is detected.
"""
import hashlib
import json
import os
import sys

import torch

from common import ROOT, save_fixture
from gen_papr import keep_count, patch_significance, proposal_map

sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import models  # noqa: E402
import scenes  # noqa: E402
from train import read_safetensors, to_input  # noqa: E402

BACKBONE = os.path.join(ROOT, "weights", "deit-distilled-scenes")
PROPOSER = os.path.join(ROOT, "weights", "mobilenetv3-scenes")
EARLIER_VIT = os.path.join(ROOT, "weights", "vit-scenes")
SCENES = 8
ZS = (0.5, 0.3)


def sha256(folder: str) -> str:
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_vit(folder: str):
    with open(os.path.join(folder, "config.json")) as f:
        m = json.load(f)["model"]
    vit = models.VisionTransformer(m["imageSize"], m["patchSize"], m["embedDim"], m["depth"], m["numHeads"],
                                   m["mlpRatio"], m["numClasses"], m["layerNormEps"],
                                   distilled=m.get("distillToken", False))
    vit.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    return vit.eval()


def held_out():
    items, labels = scenes.load_items("test")
    images, ys, _ = scenes.make_batch(items, labels, "test", 0, SCENES)
    return to_input(images), torch.from_numpy(ys).float()


def papr_kept(proposer, x, z, grid, num_prefix):
    """PaPr's kept patch indices for one scene [1, 3, 224, 224], in ranking order."""
    significance = patch_significance(proposal_map(proposer.features(x)), grid)
    ranking = torch.sort(significance.flatten(), descending=True, stable=True).indices
    return ranking[:keep_count(z, grid * grid, num_prefix)]


@torch.no_grad()
def default_pair():
    vit, proposer = load_vit(BACKBONE), models.load_proposer(read_safetensors(os.path.join(PROPOSER, "model.safetensors")))
    x, ys = held_out()
    grid = int(round((vit.pos_embed.shape[1] - vit.prefix) ** 0.5))
    tensors = {"logits": vit(x), "labels": ys}
    for z in ZS:
        kept = torch.stack([papr_kept(proposer, x[s:s + 1], z, grid, vit.prefix) for s in range(SCENES)])
        tensors[f"kept_z{z}"] = kept.float()
        tensors[f"logits_z{z}"] = vit(x, kept)
    meta = {"backbone_sha256": sha256(BACKBONE), "proposer_sha256": sha256(PROPOSER), "scenes": f"test 0..{SCENES - 1}",
            "zs": json.dumps(ZS)}
    return save_fixture("default_pair", tensors, meta)


@torch.no_grad()
def earlier_vit():
    x, ys = held_out()
    return save_fixture("default_vit_logits", {"logits": load_vit(EARLIER_VIT)(x), "labels": ys},
                        {"weights_sha256": sha256(EARLIER_VIT), "scenes": f"test 0..{SCENES - 1}"})


def main():
    return [default_pair(), earlier_vit()]
