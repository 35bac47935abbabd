"""Goldens for src/prune/ (DIMAP and the magnitude baselines, tools/golden/dimap_ref.py) on the seeded Swin-T of
gen_swin.py (load_synthetic, the same weights src/models/synthetic.ts rebuilds), FLOPs target 0.5.

dimap_swin.safetensors:
  scores_patch_embed [96*3*4*4]                 DIMAP scores of patch_embed.proj.weight (float32 of float64)
  keep_dimap_patch_embed [96, 3, 4, 4]          DIMAP keep-mask (1 = kept) of patch_embed.proj.weight
  keep_dimap_block0_proj [96, 96]               ... of layers.0.blocks.0.attn.proj.weight
  logits_dimap [1000]                           the DIMAP-pruned Swin-T (swin_ref.py) on rand("swin.input")
  logits_dense [1000]                           the unpruned one
  metadata: dense_macs; layers_<method> (JSON: [[weight name, kept, hash]] per prunable layer, hash =
            dimap_ref.mask_hash) for dimap, global-magnitude and layer-magnitude
"""
import json

import torch

from common import load_synthetic, rand, save_fixture
from dimap_ref import mask_hash, pruning_masks, swin_dense_macs, swin_layers, dimap_scores
from swin_ref import SwinConfig, SwinTransformer

FLOPS = 0.5
METHODS = ["dimap", "global-magnitude", "layer-magnitude"]


def main():
    c = SwinConfig()
    model = SwinTransformer(c).eval()
    load_synthetic(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    layers = swin_layers(c)
    dense = swin_dense_macs(c)
    x = rand("swin.input", [1, 3, 224, 224])
    metadata = {"dense_macs": str(dense), "flops": str(FLOPS)}
    masks = {}
    for method in METHODS:
        keep = pruning_masks(state, layers, dense, method, FLOPS)
        masks[method] = keep
        metadata[f"layers_{method}"] = json.dumps(
            [[name, int(keep[name].sum()), mask_hash(keep[name])] for name, _, _ in layers], separators=(",", ":"))
    with torch.no_grad():
        dense_logits = model(x)[0]
        pruned = {k: (v * masks["dimap"][k] if k in masks["dimap"] else v) for k, v in state.items()}
        model.load_state_dict(pruned)
        dimap_logits = model(x)[0]
    out = {
        "scores_patch_embed": dimap_scores(state["patch_embed.proj.weight"]).float(),
        "keep_dimap_patch_embed": masks["dimap"]["patch_embed.proj.weight"].float(),
        "keep_dimap_block0_proj": masks["dimap"]["layers.0.blocks.0.attn.proj.weight"].float(),
        "logits_dimap": dimap_logits,
        "logits_dense": dense_logits,
    }
    return [save_fixture("dimap_swin", out, metadata=metadata)]


if __name__ == "__main__":
    main()
