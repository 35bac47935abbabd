"""Goldens for src/papr/tome.ts: ToMe (token merging) on the ViT of vit_ref.py, reference in tome_ref.py.

Fixtures (seeded synthetic weights on both sides; inputs rebuilt in TS from the shared generator):
  tome_deit_tiny            DeiT-Tiny, r = 4, 8, 16 merges in every block
  tome_deit_tiny_distilled  DeiT-Tiny distilled (class + distillation token protected), r = 8
  tome_deit_small           DeiT-Small, r = 16
  tome_papr_deit_tiny_r18   PaPr (ResNet-18 proposer, z = 0.5, as gen_papr.py) + ToMe r = 8 in the second half
Per case <c>: logits_<c> [classes], groups_<c> [depth, prefix + patches] (after each block, the token holding
each embedding row, -1 = pruned), tokens_<c> [depth] (tokens leaving each block); papr case: kept [k].
metadata: cases, and margin_<c>, the smallest score gap behind any merge decision (near-ties are refused, see
tome_ref.run_checked: margin >= 2e-5 and identical decisions in a float64 rerun).
"""
import torch

from common import load_synthetic, rand, save_fixture
from gen_papr import r18_pair_kept
from tome_ref import run_checked
from vit_ref import VisionTransformer, VitConfig


def run_case(vit, x, schedule, kept, what):
    c = vit.c
    tokens = vit.embed(x)
    rows = torch.arange(c.num_prefix + c.num_patches)
    if kept is not None:
        rows = torch.cat([torch.arange(c.num_prefix), c.num_prefix + kept])
        tokens = tokens[:, rows]
    out, records, margin = run_checked(vit, tokens, rows, ("tome", schedule, True), what)
    return {
        "logits": vit.head_of(out)[0],
        "groups": torch.stack([r["group_of"] for r in records]),
        "tokens": torch.tensor([float(r["tokens_out"]) for r in records]),
    }, margin


def golden(name, config, x, cases, kept=None):
    vit = VisionTransformer(config).eval()
    load_synthetic(vit)
    out, meta = {}, {"cases": ",".join(cases)}
    with torch.no_grad():
        for case, schedule in cases.items():
            result, margin = run_case(vit, x, schedule, kept, f"{name} {case}")
            for key, value in result.items():
                out[f"{key}_{case}"] = value
            meta[f"margin_{case}"] = f"{margin:.3e}"
    if kept is not None:
        out["kept"] = kept.float()
    return save_fixture(name, out, meta)


def every_block(r, depth=12):
    return [r] * depth


def main():
    tiny = VitConfig(embed_dim=192, depth=12, num_heads=3)
    x = rand("tome.input", [1, 3, 224, 224])
    paths = [
        golden("tome_deit_tiny", tiny, x, {f"r{r}": every_block(r) for r in (4, 8, 16)}),
        golden("tome_deit_tiny_distilled", VitConfig(embed_dim=192, depth=12, num_heads=3, distill_token=True), x,
               {"r8": every_block(8)}),
        golden("tome_deit_small", VitConfig(embed_dim=384, depth=12, num_heads=6), x, {"r16": every_block(16)}),
    ]
    # PaPr + ToMe: the kept patches of gen_papr.py's DeiT-Tiny / ResNet-18 pair at z = 0.5, then r = 8 merges in
    # blocks 6..11 (the authors merge only in the second half when PaPr prunes)
    x_papr, kept = r18_pair_kept(tiny, 0.5)
    paths.append(golden("tome_papr_deit_tiny_r18", tiny, x_papr, {"z0.5_r8": [0] * 6 + [8] * 6}, kept))
    return paths
