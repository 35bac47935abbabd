"""Goldens for src/models/resnet.ts: torchvision ResNet-18 / ResNet-50 with seeded synthetic weights.

torchvision's state-dict names are the canonical (timm) names for ResNet, so the TS side rebuilds the very
same weights with syntheticWeights(resnetSpec(...)). Committed per depth: the model's spec (names and shapes,
as metadata), the logits, and a compact view of features = layer4 output (after its final ReLU):
spatial mean per channel [C], channel mean [7,7] and the first 8 channels [8,7,7].
The input (rand("resnet.input", [1,3,224,224]), values in [-1,1)) is rebuilt by the TS test from the shared
generator; only its first 64 values are committed, to prove both sides use the same input.
"""
import json

import torch
import torchvision

from common import load_synthetic, rand, save_fixture


def features(model: torchvision.models.ResNet, x: torch.Tensor) -> torch.Tensor:
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def golden(depth: int, x: torch.Tensor) -> str:
    model = getattr(torchvision.models, f"resnet{depth}")(weights=None).eval()
    spec = load_synthetic(model)
    with torch.no_grad():
        feats = features(model, x)
        logits = model(x)
        assert torch.allclose(model.fc(feats.mean((2, 3))), logits, atol=1e-5)
    return save_fixture(f"resnet{depth}", {
        "input_head": x.flatten()[:64],
        "logits": logits,
        "features_spatial_mean": feats.mean((2, 3))[0],
        "features_channel_mean": feats.mean(1)[0],
        "features_first8": feats[0, :8],
    }, metadata={"spec": json.dumps(spec, separators=(",", ":")), "features_shape": list(feats.shape)})


def main():
    x = rand("resnet.input", [1, 3, 224, 224])
    return [golden(18, x), golden(50, x)]
