"""Goldens for src/models/vit.ts (ViT / DeiT) and src/models/load/names_vit.ts.

The reference network is tools/golden/vit_ref.py (plain PyTorch, timm's parameter names; timm itself is not
installable here). Every parameter is filled by load_synthetic under the timm (canonical) names, so the TS
side rebuilds the very same weights with syntheticWeights(vitSpec(config)); each fixture carries the module's
spec (names and shapes) as metadata so the test can check that the two specs agree name for name.
vit_ref.py itself is checked against a library implementation: for DeiT-Tiny the same weights, renamed, run
through torchvision's VisionTransformer (nn.MultiheadAttention) must give the same logits (asserted below).

One input for every model: rand("vit.input", [1,3,224,224]) (values in [-1, 1)), rebuilt on the TS side from
the shared generator; only its first 64 values are committed (input_head), to prove both sides use it.

vit_<model>.safetensors (real size: DeiT-Tiny/Small/Base, DeiT-Small distilled; small width: a class-token-
free GAP ViT without qkv bias, and a /14 MAE-style ViT = class token + average pool + fc_norm):
  logits [C]                         forward(x)
  embed_first [6, D], embed_mean [D] first 6 rows of embed(x) and its mean over all tokens
  block0_first [6, D], block0_last [2, D], block0_mean [D]   block 0 applied to embed(x)
  pruned_patches [k], logits_pruned [C]   (not for DeiT-Base) the prefix tokens and the patches at
                                     pruned_patches (in that order) of embed(x) through blocks and head
vit_hf_<name>.safetensors: a depth-2 DeiT-Tiny under Hugging Face names, its weights filled by load_synthetic
under the HF names (so the TS side rebuilds them from the hf_spec metadata), logits from the HF-structured
module (separate q/k/v): ViTForImageClassification ("vit") and DeiTForImageClassificationWithTeacher ("deit").
"""
import json

import torch
from torchvision.models.vision_transformer import VisionTransformer as TorchvisionViT

from common import load_synthetic, rand, save_fixture
from vit_ref import HFVisionTransformer, VisionTransformer, VitConfig, hf_to_timm_state

INPUT = [1, 3, 224, 224]

MODELS = {
    "deit_tiny": VitConfig(embed_dim=192, depth=12, num_heads=3),
    "deit_small": VitConfig(embed_dim=384, depth=12, num_heads=6),
    "deit_base": VitConfig(embed_dim=768, depth=12, num_heads=12),
    "deit_small_distilled": VitConfig(embed_dim=384, depth=12, num_heads=6, distill_token=True),
    "gap_tiny": VitConfig(embed_dim=192, depth=4, num_heads=3, qkv_bias=False, num_classes=100,
                          class_token=False, global_pool="avg", fc_norm=False),
    "mae_tiny_patch14": VitConfig(patch_size=14, embed_dim=192, depth=12, num_heads=3,
                                  global_pool="avg", fc_norm=True),
}
HF_MODELS = {
    "vit": VitConfig(embed_dim=192, depth=2, num_heads=3),
    "deit": VitConfig(embed_dim=192, depth=2, num_heads=3, distill_token=True),
}


def config_json(c: VitConfig) -> str:
    return json.dumps(c.__dict__, separators=(",", ":"))


def pruned_patches(c: VitConfig) -> torch.Tensor:
    """Half of the patches (rounded down), in a seeded order that is neither spatial nor reversed."""
    scores = rand("vit.prune_scores", [c.num_patches])
    return torch.argsort(scores, descending=True)[: c.num_patches // 2]


def torchvision_logits(model: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """The same weights run by torchvision's own ViT (nn.MultiheadAttention inside): checks vit_ref.py itself."""
    c = model.c
    tv = TorchvisionViT(c.image_size, c.patch_size, c.depth, c.num_heads, c.embed_dim, c.hidden, num_classes=c.num_classes)
    s = model.state_dict()
    state = {"class_token": s["cls_token"], "encoder.pos_embedding": s["pos_embed"],
             "conv_proj.weight": s["patch_embed.proj.weight"], "conv_proj.bias": s["patch_embed.proj.bias"],
             "encoder.ln.weight": s["norm.weight"], "encoder.ln.bias": s["norm.bias"],
             "heads.head.weight": s["head.weight"], "heads.head.bias": s["head.bias"]}
    for i in range(c.depth):
        t, b = f"encoder.layers.encoder_layer_{i}.", f"blocks.{i}."
        for dst, src in (("ln_1", "norm1"), ("self_attention.in_proj", "attn.qkv"), ("self_attention.out_proj", "attn.proj"),
                         ("ln_2", "norm2"), ("mlp.0", "mlp.fc1"), ("mlp.3", "mlp.fc2")):
            sep = "_" if dst == "self_attention.in_proj" else "."
            state[t + dst + sep + "weight"], state[t + dst + sep + "bias"] = s[b + src + ".weight"], s[b + src + ".bias"]
    tv.load_state_dict(state)
    with torch.no_grad():
        return tv.eval()(x)[0]


def golden(name: str, c: VitConfig, x: torch.Tensor) -> str:
    model = VisionTransformer(c).eval()
    spec = load_synthetic(model)
    out = {"input_head": x.flatten()[:64]}
    with torch.no_grad():
        tokens = model.embed(x)
        after0 = model.blocks[0](tokens)
        logits = model.head_of(model.blocks(tokens))[0]
        assert torch.equal(logits, model(x)[0])
        if name == "deit_tiny":  # plain class-token ViT: torchvision builds the same network
            tv = torchvision_logits(model, x)
            assert (tv - logits).abs().max() <= 1e-5 * logits.abs().max(), "vit_ref.py disagrees with torchvision"
        out |= {
            "logits": logits,
            "embed_first": tokens[0, :6], "embed_mean": tokens[0].mean(0),
            "block0_first": after0[0, :6], "block0_last": after0[0, -2:], "block0_mean": after0[0].mean(0),
        }
        if name != "deit_base":
            keep = pruned_patches(c)
            kept = torch.cat([tokens[:, : c.num_prefix], tokens[:, c.num_prefix + keep]], dim=1)
            out["pruned_patches"] = keep.float()
            out["logits_pruned"] = model.head_of(model.blocks(kept))[0]
    return save_fixture("vit_" + name, out, metadata={
        "spec": json.dumps(spec, separators=(",", ":")), "config": config_json(c)})


def hf_golden(name: str, c: VitConfig, x: torch.Tensor) -> str:
    hf = HFVisionTransformer(c).eval()
    hf_spec = load_synthetic(hf)
    timm = VisionTransformer(c).eval()
    timm.load_state_dict(hf_to_timm_state(hf))  # strict: the Python-side map covers every name
    with torch.no_grad():
        logits = hf(x)[0]
        assert torch.allclose(timm(x)[0], logits, rtol=0, atol=1e-5 * logits.abs().max().item())
    return save_fixture("vit_hf_" + name, {"input_head": x.flatten()[:64], "logits": logits}, metadata={
        "hf_spec": json.dumps(hf_spec, separators=(",", ":")), "config": config_json(c)})


def main():
    x = rand("vit.input", INPUT)
    paths = [golden(name, c, x) for name, c in MODELS.items()]
    return paths + [hf_golden(name, c, x) for name, c in HF_MODELS.items()]
