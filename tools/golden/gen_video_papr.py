"""Golden for src/papr/video_papr.ts: video PaPr (PAPR-SPEC.md section 6) written from the spec in plain PyTorch.

Backbone: the small VideoMAE classifier of gen_video_vit.py (video_vit_ref.py, original names, D = 48, 3 heads,
2 blocks) at the real geometry: 16 x 224 x 224 -> 8 x 14 x 14 = 1568 tokens. Proposer: the real-size X3D-S of
x3d_ref.py. Both filled by load_synthetic (the rule of src/models/synthetic.ts), rebuilt on the TS side.

The proposer's clip is PROPOSER_CLIP = 6 x 96 x 96 instead of the spec's 8 x 160 x 160 to keep the TS test short
(X3D-S costs ~0.3 G there instead of ~1.2 G); it still exercises every step: 16 -> 6 frames and 224 -> 96 px
(trilinear, align_corners), features [1, 432, 6, 3, 3] -> token grid 8 x 14 x 14 (trilinear, align_corners), mean
over the 432 channels, a stable descending sort, k = floor(1568 z) tokens gathered in ranking order after the
embedding and positions.

The clip is rand("video_papr.input", [1, 3, 16, 224, 224]); only its first 64 values are committed.

video_papr.safetensors:
  proposer_input_head [64]        the first 64 values of the resized clip [1, 3, 6, 96, 96]
  proposer_input_mean [6]         its mean per frame (over channels and pixels)
  features_channel_mean [6, 3, 3] the proposer's features averaged over channels (before the resize)
  significance [8, 14, 14]        P: features resized to the token grid, then the channel mean
  ranking [1568]                  all token indices, descending P, ties by lower index (stable sort)
  logits_1.0 [C]                  the unpruned backbone
  kept_Z [k], logits_Z [C]        Z in ZS: k = floor(1568 Z) tokens in ranking order and the logits on them
  logits_spatial_0.4 [C]          the same tokens at z = 0.4 in grid order
"""
import json

import torch
import torch.nn.functional as F

from common import load_synthetic, rand, save_fixture
from video_vit_ref import VideoVisionTransformer, VideoVitConfig
from x3d_ref import X3D

CONFIG = VideoVitConfig(embed_dim=48, depth=2, num_heads=3)
INPUT = [1, 3, CONFIG.num_frames, CONFIG.image_size, CONFIG.image_size]
PROPOSER_CLIP = (6, 96, 96)
TOKEN_GRID = (CONFIG.num_frames // CONFIG.tubelet_size,) + (CONFIG.image_size // CONFIG.patch_size,) * 2
ZS = [0.4, 0.7]


def significance(proposer: X3D, x: torch.Tensor):
    clip = F.interpolate(x, size=PROPOSER_CLIP, mode="trilinear", align_corners=True)  # step 1
    features = proposer.features(clip)  # step 2
    resized = F.interpolate(features, size=TOKEN_GRID, mode="trilinear", align_corners=True)  # step 3
    return clip, features, resized.mean(dim=1)[0]  # step 4: [8, 14, 14]


def main():
    vit = VideoVisionTransformer(CONFIG).eval()
    vit_spec = load_synthetic(vit)
    proposer = X3D(clip=PROPOSER_CLIP).eval()
    x3d_spec = load_synthetic(proposer)
    x = rand("video_papr.input", INPUT)
    out = {"input_head": x.flatten()[:64]}
    with torch.no_grad():
        clip, features, P = significance(proposer, x)
        ranking = torch.sort(P.flatten(), descending=True, stable=True).indices  # step 5
        out.update({
            "proposer_input_head": clip.flatten()[:64],
            "proposer_input_mean": clip[0].mean(dim=(0, 2, 3)),
            "features_channel_mean": features.mean(dim=1)[0],
            "significance": P,
            "ranking": ranking.float(),
            "logits_1.0": vit(x)[0],
        })
        for z in ZS:
            kept = ranking[: int(CONFIG.num_tokens * z)]  # step 6 (no prefix tokens)
            out[f"kept_{z}"] = kept.float()
            out[f"logits_{z}"] = vit(x, kept)[0]  # steps 7-8
        out["logits_spatial_0.4"] = vit(x, torch.sort(ranking[: int(CONFIG.num_tokens * 0.4)]).values)[0]
    return [save_fixture("video_papr", out, metadata={
        "vit_spec": json.dumps(vit_spec, separators=(",", ":")),
        "x3d_spec": json.dumps(x3d_spec, separators=(",", ":")),
        "config": json.dumps(CONFIG.__dict__, separators=(",", ":")),
        "proposer_clip": json.dumps(list(PROPOSER_CLIP)), "zs": ",".join(map(str, ZS))})]


if __name__ == "__main__":
    print(main())
