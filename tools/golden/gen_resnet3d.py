"""Goldens for src/models/resnet3d.ts: torchvision.models.video.r3d_18(num_classes=400) with seeded synthetic
weights (load_synthetic: the rule of src/models/synthetic.ts, so BatchNorm has non-trivial running statistics).

The names are torchvision's, so the TS side rebuilds the very same weights with
syntheticWeights(resnet3dSpec()). Committed: the model's spec (names and shapes, as metadata), the logits, and
a compact view of features = layer4 output (after its final ReLU) [1, 512, 2, 3, 3]: the mean over (t, h, w)
per channel [512], the channel mean [2, 3, 3] and the first 8 channels [8, 2, 3, 3].

The clip is rand("r3d.input", [1, 3, 9, 40, 40]) (values in [-1, 1)), rebuilt by the TS test from the shared
generator; only its first 64 values are committed. The real-size model runs on a small clip to keep the TS
test short (~3 GMACs instead of r3d_18's ~41 at 16 x 112 x 112); 9 x 40 x 40 gives odd sizes at every stage
(T 9 -> 9 -> 5 -> 3 -> 2, H and W 40 -> 20 -> 10 -> 5 -> 3), so every stride-2 conv meets a padded border.
"""
import json

import torch
from torchvision.models.video import r3d_18

from common import load_synthetic, rand, save_fixture

CLIP = [1, 3, 9, 40, 40]


def features(model, x: torch.Tensor) -> torch.Tensor:
    return model.layer4(model.layer3(model.layer2(model.layer1(model.stem(x)))))


def main():
    model = r3d_18(num_classes=400).eval()
    spec = load_synthetic(model)
    x = rand("r3d.input", CLIP)
    with torch.no_grad():
        feats = features(model, x)
        logits = model(x)
        assert torch.allclose(model.fc(feats.mean((2, 3, 4))), logits, atol=1e-5)
    return [save_fixture("r3d_18", {
        "input_head": x.flatten()[:64],
        "logits": logits,
        "features_spatial_mean": feats.mean((2, 3, 4))[0],
        "features_channel_mean": feats.mean(1)[0],
        "features_first8": feats[0, :8],
    }, metadata={"spec": json.dumps(spec, separators=(",", ":")), "features_shape": list(feats.shape)})]
