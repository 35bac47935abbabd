"""Fixtures for the converter round trip: ONE small ViT saved under three naming schemes.

A torchvision VisionTransformer (hidden 16, 2 layers, 2 heads, 10 classes, 224 / patch 16), its weights filled
by load_synthetic under torchvision's names, saved as
  convert/vit_torchvision.pth        torch.save(state_dict) with torchvision's names
  convert/vit_timm.safetensors       the same tensors under timm's names
  convert/vit_hf.safetensors         the same tensors under Hugging Face ViTForImageClassification names
                                     (in_proj split into query / key / value)
and convert.safetensors with the torchvision model's logits on rand("convert.input", [1,3,224,224]).
The renaming here is written independently of src/models/load/names_vit.ts, which the TS test exercises.
"""
import os

import torch
from torchvision.models.vision_transformer import VisionTransformer

from common import FIXTURES, load_synthetic, rand, save_fixture

D, LAYERS = 16, 2


def timm_names(sd):
    out = {"cls_token": sd["class_token"], "pos_embed": sd["encoder.pos_embedding"],
           "patch_embed.proj.weight": sd["conv_proj.weight"], "patch_embed.proj.bias": sd["conv_proj.bias"],
           "norm.weight": sd["encoder.ln.weight"], "norm.bias": sd["encoder.ln.bias"],
           "head.weight": sd["heads.head.weight"], "head.bias": sd["heads.head.bias"]}
    for i in range(LAYERS):
        p = f"encoder.layers.encoder_layer_{i}."
        for src, dst in [("ln_1", "norm1"), ("ln_2", "norm2"), ("self_attention.out_proj", "attn.proj"),
                         ("mlp.0", "mlp.fc1"), ("mlp.3", "mlp.fc2")]:
            for kind in ["weight", "bias"]:
                out[f"blocks.{i}.{dst}.{kind}"] = sd[f"{p}{src}.{kind}"]
        out[f"blocks.{i}.attn.qkv.weight"] = sd[p + "self_attention.in_proj_weight"]
        out[f"blocks.{i}.attn.qkv.bias"] = sd[p + "self_attention.in_proj_bias"]
    return out


def hf_names(sd):
    t = timm_names(sd)
    out = {"vit.embeddings.cls_token": t["cls_token"], "vit.embeddings.position_embeddings": t["pos_embed"],
           "vit.embeddings.patch_embeddings.projection.weight": t["patch_embed.proj.weight"],
           "vit.embeddings.patch_embeddings.projection.bias": t["patch_embed.proj.bias"],
           "vit.layernorm.weight": t["norm.weight"], "vit.layernorm.bias": t["norm.bias"],
           "classifier.weight": t["head.weight"], "classifier.bias": t["head.bias"]}
    for i in range(LAYERS):
        p = f"vit.encoder.layer.{i}."
        for src, dst in [("norm1", "layernorm_before"), ("norm2", "layernorm_after"), ("attn.proj", "attention.output.dense"),
                         ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense")]:
            for kind in ["weight", "bias"]:
                out[f"{p}{dst}.{kind}"] = t[f"blocks.{i}.{src}.{kind}"]
        for kind in ["weight", "bias"]:
            q, k, v = t[f"blocks.{i}.attn.qkv.{kind}"].chunk(3, dim=0)
            for part, value in zip(["query", "key", "value"], [q, k, v]):
                out[f"{p}attention.attention.{part}.{kind}"] = value.contiguous()
    return out


def main():
    model = VisionTransformer(image_size=224, patch_size=16, num_layers=LAYERS, num_heads=2, hidden_dim=D,
                              mlp_dim=4 * D, num_classes=10).eval()
    load_synthetic(model)
    sd = model.state_dict()
    folder = os.path.join(FIXTURES, "convert")
    os.makedirs(folder, exist_ok=True)
    pth = os.path.join(folder, "vit_torchvision.pth")
    torch.save(sd, pth)
    x = rand("convert.input", [1, 3, 224, 224])
    with torch.no_grad():
        logits = model(x)[0]
    return [
        pth,
        save_fixture("convert/vit_timm", timm_names(sd)),
        save_fixture("convert/vit_hf", hf_names(sd)),
        save_fixture("convert", {"logits": logits}),
    ]
