"""Hierarchical PaPr (PAPR-SPEC.md section 5), written from the spec in plain PyTorch: the reference the goldens of
src/papr/hierarchical.ts and the masked ConvNeXt come from (the Swin side imports stage_masks from here too).

  stage_masks(sig, grids, z)      the proposer's channel-mean map [h, w] resized (bicubic, align_corners) to every
                                  stage's grid, ranked in descending order (stable: ties keep the lower index first),
                                  foreground = the first floor(z * H * W) positions
  convnext_forward_masked(model, x, masks)
                                  tools/train/models.py's timm-named ConvNeXt with every block of a masked stage
                                  masked: identity zeroed at background, depthwise conv on the full map, the
                                  per-position MLP on foreground positions only, scattered into zeros
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train"))
import models  # noqa: E402  (tools/train/models.py: the timm-named ConvNeXt)


def resize(sig: torch.Tensor, grid) -> torch.Tensor:
    """[h, w] -> [H, W], bicubic, align_corners=True (docs/algorithm.md step 4)."""
    return F.interpolate(sig[None, None], size=tuple(grid), mode="bicubic", align_corners=True)[0, 0]


def rank(values: torch.Tensor) -> torch.Tensor:
    """Row-major positions by descending value; ties keep the lower position first (a stable sort)."""
    return torch.sort(values.flatten(), descending=True, stable=True).indices


def stage_masks(sig: torch.Tensor, grids, z):
    """One mask per stage grid: {'significance' [H, W], 'kept' (descending significance, first floor(z H W)),
    'foreground' [H, W] bool}. z is one keep ratio for every stage or one per stage."""
    zs = list(z) if isinstance(z, (list, tuple)) else [z] * len(grids)
    out = []
    for (h, w), zi in zip(grids, zs):
        significance = resize(sig, (h, w))
        k = math.floor(zi * h * w)
        kept = rank(significance)[:k]
        foreground = torch.zeros(h * w, dtype=torch.bool)
        foreground[kept] = True
        out.append({"significance": significance, "kept": kept, "foreground": foreground.reshape(h, w)})
    return out


def convnext_block_masked(block, x: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
    """x [1, C, H, W], foreground [H, W] bool. The identity is zeroed at background; the depthwise conv sees the
    whole map as received; norm + MLP + layer scale run on the foreground positions only, scattered into zeros."""
    c, h, w = x.shape[1:]
    mixed = block.mixed(x).reshape(h * w, c)  # [HW, C] channels last
    fg = foreground.flatten()
    branch = torch.zeros(h * w, c)
    branch[fg] = block.pixel(mixed[fg])
    identity = x * foreground.to(x.dtype)
    return identity + branch.reshape(1, h, w, c).permute(0, 3, 1, 2)


def convnext_forward_masked(model, x: torch.Tensor, masks):
    """The timm-named ConvNeXt with masks[i] (a stage_masks entry or None = unmasked) applied in every block of
    stage i. Downsampling and the head run on the full map. Returns (logits [1, classes], stage outputs)."""
    y = model.stem(x)
    stages = []
    for stage, mask in zip(model.stages, masks):
        y = stage.downsample(y)
        for block in stage.blocks:
            full = mask is None or bool(mask["foreground"].all())
            y = block(y) if full else convnext_block_masked(block, y, mask["foreground"])
        stages.append(y)
    return model.forward_head(y), stages


def convnext_stage_grids(image_size: int, num_stages: int = 4):
    """Grids of the stages: the 4x4 stem, then a 2x2 stride-2 conv before each later stage (floor)."""
    side = image_size // 4
    grids = []
    for i in range(num_stages):
        if i > 0:
            side = side // 2
        grids.append((side, side))
    return grids
