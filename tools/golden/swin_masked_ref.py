"""Hierarchical PaPr on Swin, written from ../shared/PAPR-SPEC.md section 5 (reference for src/models/swin.ts).

stage_masks(significance, grids, z): the proposer's significance map [h, w] resized (bicubic, align_corners)
to every stage's grid, positions ranked in descending order (ties: lower row-major index first), the first
floor(z * H * W) are foreground.

masked_stages(model, x, masks): a SwinTransformer of swin_ref.py run with one [H, W] boolean mask per stage
(None = unmasked stage). In every block of a masked stage, norm1 + (shifted-)window attention + residual run
on all tokens; the MLP (norm2, fc1, GELU, fc2) and its residual run on the foreground tokens only; background
tokens keep their post-attention value. Patch merging, the final norm and the pooling run on everything.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def stage_masks(significance: torch.Tensor, grids, z: float) -> list:
    """One bool [H, W] foreground mask per (H, W) in grids."""
    masks = []
    for H, W in grids:
        resized = F.interpolate(significance[None, None].float(), size=(H, W), mode="bicubic", align_corners=True)
        order = np.argsort(-resized.flatten().numpy(), kind="stable")  # descending, ties: lower index first
        foreground = np.zeros(H * W, dtype=bool)
        foreground[order[: math.floor(z * H * W)]] = True
        masks.append(torch.from_numpy(foreground.reshape(H, W)))
    return masks


def masked_block(block, x: torch.Tensor, foreground) -> torch.Tensor:
    """x [1, H, W, C] through one SwinBlock with the MLP on the foreground positions only."""
    x = block.attention_half(x)
    if foreground is None:
        return block.mlp_half(x)
    x = x.clone()
    tokens = x[0][foreground]  # [k, C], row-major order
    x[0][foreground] = tokens + block.mlp(block.norm2(tokens))
    return x


def masked_stages(model, x: torch.Tensor, masks):
    """Every stage's output [1, H_i, W_i, C_i] and the logits, with masks[i] applied in stage i."""
    x = model.patch_embed(x)
    outs = []
    for layer, foreground in zip(model.layers, masks):
        x = layer.downsample(x)
        for block in layer.blocks:
            x = masked_block(block, x, foreground)
        outs.append(x)
    return outs, model.head(model.norm(x))
