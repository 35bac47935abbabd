"""Goldens for src/models/x3d.ts: the X3D of x3d_ref.py (written from the paper in PyTorchVideo's names) at its real
size, with seeded synthetic weights (load_synthetic: the rule of src/models/synthetic.ts, so BatchNorm has
non-trivial running statistics), rebuilt on the TS side by syntheticWeights(x3dSpec(...)).

Committed (x3d_s.safetensors): the spec (state_dict names and shapes, as metadata), the logits [1, 400], and a
compact view of features = the conv5 map [1, 432, 4, 3, 3]: the mean over (t, h, w) per channel [432], the channel
mean [4, 3, 3] and the first 8 channels [8, 4, 3, 3].

The clip is rand("x3d.input", [1, 3, 4, 80, 80]) (values in [-1, 1)), rebuilt by the TS test from the shared
generator; only its first 64 values are committed. The real X3D-S at 13 x 160 x 160 costs ~2 GFLOPs; 4 x 80 x 80 is
~1/13 of that and keeps the TS test to a few seconds on one core, while still covering: the temporal stem conv's
zero padding (T = 4 < its 5 taps), odd sizes (H, W 80 -> 40 -> 20 -> 10 -> 5 -> 3: the last two stride-2 depthwise
convs meet a padded border), and a head pool that is NOT global: the model is built for a 4 x 64 x 64 training clip,
so its AvgPool3d kernel (4, 2, 2) slides over the 4 x 3 x 3 map with stride 1 and leaves 2 x 2 positions whose
logits are averaged.
"""
import json

import torch

from common import load_synthetic, rand, save_fixture
from x3d_ref import X3D

CLIP = [1, 3, 4, 80, 80]
TRAINED_CLIP = (4, 64, 64)


def main():
    model = X3D(clip=TRAINED_CLIP).eval()
    spec = load_synthetic(model)
    x = rand("x3d.input", CLIP)
    with torch.no_grad():
        feats = model.features(x)
        logits = model(x)
    return [save_fixture("x3d_s", {
        "input_head": x.flatten()[:64],
        "logits": logits,
        "features_spatial_mean": feats.mean((2, 3, 4))[0],
        "features_channel_mean": feats.mean(1)[0],
        "features_first8": feats[0, :8],
    }, metadata={"spec": json.dumps(spec, separators=(",", ":")), "features_shape": list(feats.shape),
                 "trained_clip": list(TRAINED_CLIP)})]


if __name__ == "__main__":
    print(main())
