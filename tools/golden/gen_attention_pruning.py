"""Goldens for src/papr/attention_pruning.ts (attention-score token pruning, inference only) and the attention
taps of src/tensor/attention_variants.ts; reference in tome_ref.py, ViT of vit_ref.py with synthetic weights.

Fixtures:
  attnprune_attention_taps       multiHeadSelfAttentionEx on x [9, 24], 4 heads, with a per-key logit bias:
                                 output, keyMean [9, 6], classAttention [4, 9], classHeadOutput [4, 6]
  attnprune_deit_tiny            DeiT-Tiny: keep rate 0.7 at blocks 3, 6, 9 (head weighting outputNorm and
                                 uniform), and thresholds 0.004 / 0.0065 / 0.01 at blocks 3, 6, 9
  attnprune_deit_tiny_distilled  DeiT-Tiny distilled (both prefix tokens kept), the same thresholds
  attnprune_deit_small           DeiT-Small, keep rate 0.7 at blocks 3, 6, 9
  attnprune_papr_deit_tiny_r18   PaPr's kept tokens of gen_papr.py's DeiT-Tiny / ResNet-18 pair at z = 0.5
                                 (stored as `kept`), then keep rate 0.7 at blocks 6 and 9
Per case <c>: logits_<c>, groups_<c> [depth, prefix + patches] (token holding each embedding row after each block,
-1 = pruned), tokens_<c> [depth], scores_<c>_<b> (scores of the non-prefix tokens at stage block b).
metadata: cases; stages_<c> ("block:keep:rate" or "block:threshold:value", comma-separated); weighting_<c>;
margin_<c> (smallest decision margin in units of the mean score; near-ties refused, see tome_ref.run_checked).
"""
import torch

from common import load_synthetic, rand, save_fixture
from gen_papr import r18_pair_kept
from tome_ref import attention, run_checked
from vit_ref import Block, VisionTransformer, VitConfig

KEEP = {3: {"keep_rate": 0.7}, 6: {"keep_rate": 0.7}, 9: {"keep_rate": 0.7}}
THRESHOLDS = {3: {"threshold": 0.004}, 6: {"threshold": 0.0065}, 9: {"threshold": 0.01}}


def stages_text(stages):
    return ",".join(f"{b}:keep:{s['keep_rate']}" if "keep_rate" in s else f"{b}:threshold:{s['threshold']}"
                    for b, s in sorted(stages.items()))


def golden(name, config, x, cases, kept=None):
    vit = VisionTransformer(config).eval()
    load_synthetic(vit)
    P = config.num_prefix
    out, meta = {}, {"cases": ",".join(cases)}
    with torch.no_grad():
        tokens = vit.embed(x)
        rows = torch.arange(P + config.num_patches)
        if kept is not None:
            rows = torch.cat([torch.arange(P), P + kept])
            tokens = tokens[:, rows]
            out["kept"] = kept.float()
        for case, (stages, weighting) in cases.items():
            result, records, margin = run_checked(vit, tokens, rows, ("prune", stages, weighting), f"{name} {case}")
            out[f"logits_{case}"] = vit.head_of(result)[0]
            out[f"groups_{case}"] = torch.stack([r["group_of"] for r in records])
            out[f"tokens_{case}"] = torch.tensor([float(r["tokens_out"]) for r in records])
            for b in stages:
                out[f"scores_{case}_{b}"] = records[b]["scores"]
            meta.update({f"stages_{case}": stages_text(stages), f"weighting_{case}": weighting, f"margin_{case}": f"{margin:.3e}"})
    return save_fixture(name, out, meta)


def attention_taps():
    block = Block(VitConfig(embed_dim=24, num_heads=4)).eval()
    load_synthetic(block)
    x = rand("attnprune.taps.x", [1, 9, 24])
    bias = rand("attnprune.taps.bias", [9], 0.7)
    with torch.no_grad():
        # norm1 is applied inside tome_ref.attention; the TS test feeds norm1(x) to the kernel
        normed = block.norm1(x)
        output, keys, class_rows, class_out = attention(block, x, bias)
    return save_fixture("attnprune_attention_taps", {
        "normed": normed[0], "bias": bias, "output": output[0], "keyMean": keys,
        "classAttention": class_rows, "classHeadOutput": class_out,
    })


def main():
    tiny = VitConfig(embed_dim=192, depth=12, num_heads=3)
    x = rand("tome.input", [1, 3, 224, 224])
    paths = [
        attention_taps(),
        golden("attnprune_deit_tiny", tiny, x, {
            "keep0.7_norm": (KEEP, "outputNorm"), "keep0.7_uniform": (KEEP, "uniform"), "thr_norm": (THRESHOLDS, "outputNorm")}),
        golden("attnprune_deit_tiny_distilled", VitConfig(embed_dim=192, depth=12, num_heads=3, distill_token=True), x,
               {"thr_norm": (THRESHOLDS, "outputNorm")}),
        golden("attnprune_deit_small", VitConfig(embed_dim=384, depth=12, num_heads=6), x, {"keep0.7_norm": (KEEP, "outputNorm")}),
    ]
    x_papr, kept = r18_pair_kept(tiny, 0.5)
    late = {6: {"keep_rate": 0.7}, 9: {"keep_rate": 0.7}}
    paths.append(golden("attnprune_papr_deit_tiny_r18", tiny, x_papr, {"z0.5_keep0.7": (late, "outputNorm")}, kept))
    return paths
