"""Goldens for src/models/mobileone.ts: MobileOne-S0 in its fused (reparameterised) inference form.

Plain-PyTorch reference with timm's names for the reparameterised model (timm byobnet `mobileone_s0`
after reparameterize): every MobileOne block is one conv with bias (`reparam_conv`) + ReLU.
  stem                       3x3 s2, 3 -> 48
  stages.i.(2j)              depthwise 3x3 (groups = channels), stride 2 for j = 0 else 1
  stages.i.(2j+1)            pointwise 1x1 -> stage width
  stage depths (2, 8, 10, 1) blocks, widths (48, 128, 256, 1024); s0 has no SE
  head.fc                    global average pool + linear 1024 -> 1000
Features = last stage output after its ReLU: [1, 1024, 7, 7] at 224.
Weights: the shared synthetic rule, then every conv/linear weight times float32(sqrt 2) (he_gain.py).
Committed: logits, a compact view of the features, and the model spec (metadata); the input
rand("mobileone.input", [1,3,224,224]) is rebuilt by the TS test (its first 64 values are committed).
"""
import json

import torch
import torch.nn as nn

from common import load_synthetic, rand, save_fixture
from he_gain import apply_he_gain

DEPTHS = (2, 8, 10, 1)
WIDTHS = (48, 128, 256, 1024)
STEM_WIDTH = 48


class Block(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel: int, stride: int, groups: int):
        super().__init__()
        self.reparam_conv = nn.Conv2d(in_chs, out_chs, kernel, stride, kernel // 2, groups=groups, bias=True)

    def forward(self, x):
        return torch.relu(self.reparam_conv(x))


class Head(nn.Module):
    def __init__(self, chs: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(chs, num_classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class MobileOneS0(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.stem = Block(3, STEM_WIDTH, 3, 2, 1)
        stages = []
        chs = STEM_WIDTH
        for depth, width in zip(DEPTHS, WIDTHS):
            blocks = []
            for j in range(depth):
                blocks.append(Block(chs, chs, 3, 2 if j == 0 else 1, chs))  # depthwise
                blocks.append(Block(chs, width, 1, 1, 1))  # pointwise
                chs = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = Head(chs, num_classes)

    def features(self, x):
        return self.stages(self.stem(x))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    model = MobileOneS0().eval()
    spec = load_synthetic(model)
    apply_he_gain(model)  # see he_gain.py: without it the output ignores the input
    x = rand("mobileone.input", [1, 3, 224, 224])
    with torch.no_grad():
        feats = model.features(x)
        logits = model(x)
    return [save_fixture("mobileone_s0", {
        "input_head": x.flatten()[:64],
        "logits": logits,
        "features_spatial_mean": feats.mean((2, 3))[0],
        "features_channel_mean": feats.mean(1)[0],
        "features_first8": feats[0, :8],
    }, metadata={"spec": json.dumps(spec, separators=(",", ":")), "features_shape": list(feats.shape)})]
