"""Reference ViT / DeiT in plain PyTorch, for the goldens of src/models/vit.ts.

timm is not installable here, so `VisionTransformer` below is written from timm's vision_transformer.py
*architecture* (eval mode, no dropout, no layer scale) with timm's exact parameter names:
  patch_embed.proj, cls_token [1,1,D], dist_token [1,1,D], pos_embed [1, prefix+patches, D],
  blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm | fc_norm, head, head_dist.
As in timm, `norm` is an Identity (no parameters) when fc_norm is used.

`HFVisionTransformer` is the same network under Hugging Face transformers' structure and names
(ViTForImageClassification / DeiTForImageClassificationWithTeacher): separate query/key/value
linears, layernorm_before/after, intermediate.dense, output.dense, classifier(s). It computes attention
with separate q, k, v projections, so it is an independent check of the name map's q,k,v fusion.
"""
import math
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F


@dataclass
class VitConfig:
    image_size: int = 224
    patch_size: int = 16
    in_channels: int = 3
    embed_dim: int = 192
    depth: int = 12
    num_heads: int = 3
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    num_classes: int = 1000
    class_token: bool = True
    distill_token: bool = False
    global_pool: str = "token"  # "token" | "avg"
    fc_norm: bool = False
    layer_norm_eps: float = 1e-6

    @property
    def num_prefix(self) -> int:
        return int(self.class_token) + int(self.distill_token)

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def hidden(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)


# ---- timm naming -------------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.proj = nn.Conv2d(c.in_channels, c.embed_dim, c.patch_size, stride=c.patch_size)

    def forward(self, x):  # [B,3,H,W] -> [B, patches, D], row-major over the grid
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.num_heads = c.num_heads
        self.head_dim = c.embed_dim // c.num_heads
        self.qkv = nn.Linear(c.embed_dim, 3 * c.embed_dim, bias=c.qkv_bias)
        self.proj = nn.Linear(c.embed_dim, c.embed_dim)

    def forward(self, x):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [B, heads, N, hd]
        attn = (q * self.head_dim ** -0.5) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.fc1 = nn.Linear(c.embed_dim, c.hidden)
        self.fc2 = nn.Linear(c.hidden, c.embed_dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.attn = Attention(c)
        self.norm2 = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.c = c
        D = c.embed_dim
        self.patch_embed = PatchEmbed(c)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D)) if c.class_token else None
        self.dist_token = nn.Parameter(torch.zeros(1, 1, D)) if c.distill_token else None
        self.pos_embed = nn.Parameter(torch.zeros(1, c.num_prefix + c.num_patches, D))
        self.blocks = nn.Sequential(*[Block(c) for _ in range(c.depth)])
        self.norm = nn.Identity() if c.fc_norm else nn.LayerNorm(D, eps=c.layer_norm_eps)
        self.fc_norm = nn.LayerNorm(D, eps=c.layer_norm_eps) if c.fc_norm else nn.Identity()
        self.head = nn.Linear(D, c.num_classes)
        self.head_dist = nn.Linear(D, c.num_classes) if c.distill_token else None

    def embed(self, x):  # [1,3,H,W] -> [1, prefix + patches, D]
        x = self.patch_embed(x)
        prefix = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.dist_token) if t is not None]
        return torch.cat(prefix + [x], dim=1) + self.pos_embed

    def head_of(self, x):  # tokens after the blocks [1, n, D] -> logits [1, classes]
        c = self.c
        x = self.norm(x)
        if c.distill_token:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        pooled = x[:, c.num_prefix:].mean(dim=1) if c.global_pool == "avg" else x[:, 0]
        return self.head(self.fc_norm(pooled))

    def forward(self, x):
        return self.head_of(self.blocks(self.embed(x)))


# ---- Hugging Face naming -------------------------------------------------------------------------


class HFSelfAttention(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.num_heads = c.num_heads
        self.query = nn.Linear(c.embed_dim, c.embed_dim, bias=c.qkv_bias)
        self.key = nn.Linear(c.embed_dim, c.embed_dim, bias=c.qkv_bias)
        self.value = nn.Linear(c.embed_dim, c.embed_dim, bias=c.qkv_bias)

    def forward(self, x):
        B, N, D = x.shape
        hd = D // self.num_heads
        heads = lambda t: t.view(B, N, self.num_heads, hd).transpose(1, 2)  # noqa: E731
        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, N, D)


class HFDense(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class HFAttention(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.attention = HFSelfAttention(c)
        self.output = HFDense(c.embed_dim, c.embed_dim)


class HFLayer(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.attention = HFAttention(c)
        self.intermediate = HFDense(c.embed_dim, c.hidden)
        self.output = HFDense(c.hidden, c.embed_dim)
        self.layernorm_before = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)

    def forward(self, x):
        x = self.attention.output.dense(self.attention.attention(self.layernorm_before(x))) + x
        return self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x)))) + x


class HFPatchEmbeddings(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.projection = nn.Conv2d(c.in_channels, c.embed_dim, c.patch_size, stride=c.patch_size)


class HFEmbeddings(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        if c.distill_token:
            self.distillation_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        self.position_embeddings = nn.Parameter(torch.zeros(1, c.num_prefix + c.num_patches, c.embed_dim))
        self.patch_embeddings = HFPatchEmbeddings(c)


class HFEncoder(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.layer = nn.ModuleList([HFLayer(c) for _ in range(c.depth)])


class HFModel(nn.Module):
    def __init__(self, c: VitConfig):
        super().__init__()
        self.c = c
        self.embeddings = HFEmbeddings(c)
        self.encoder = HFEncoder(c)
        self.layernorm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)

    def forward(self, x):  # -> [1, n, D] after the final layernorm
        e = self.embeddings
        patches = e.patch_embeddings.projection(x).flatten(2).transpose(1, 2)
        prefix = [e.cls_token] + ([e.distillation_token] if self.c.distill_token else [])
        h = torch.cat(prefix + [patches], dim=1) + e.position_embeddings
        for layer in self.encoder.layer:
            h = layer(h)
        return self.layernorm(h)


class HFVisionTransformer(nn.Module):
    """ViTForImageClassification (prefix "vit", classifier) or, with distill_token,
    DeiTForImageClassificationWithTeacher (prefix "deit", cls_classifier + distillation_classifier)."""

    def __init__(self, c: VitConfig):
        super().__init__()
        assert c.class_token and c.global_pool == "token" and not c.fc_norm
        self.c = c
        self.prefix = "deit" if c.distill_token else "vit"
        setattr(self, self.prefix, HFModel(c))
        if c.distill_token:
            self.cls_classifier = nn.Linear(c.embed_dim, c.num_classes)
            self.distillation_classifier = nn.Linear(c.embed_dim, c.num_classes)
        else:
            self.classifier = nn.Linear(c.embed_dim, c.num_classes)

    def forward(self, x):
        h = getattr(self, self.prefix)(x)
        if self.c.distill_token:
            return (self.cls_classifier(h[:, 0]) + self.distillation_classifier(h[:, 1])) / 2
        return self.classifier(h[:, 0])


def hf_to_timm_state(hf: HFVisionTransformer) -> dict:
    """The HF module's weights under timm names (q, k, v fused in that order), for the cross-check."""
    s = {k: v for k, v in hf.state_dict().items()}
    p = hf.prefix + "."
    out = {
        "cls_token": s[p + "embeddings.cls_token"],
        "pos_embed": s[p + "embeddings.position_embeddings"],
        "patch_embed.proj.weight": s[p + "embeddings.patch_embeddings.projection.weight"],
        "patch_embed.proj.bias": s[p + "embeddings.patch_embeddings.projection.bias"],
        "norm.weight": s[p + "layernorm.weight"],
        "norm.bias": s[p + "layernorm.bias"],
    }
    if hf.c.distill_token:
        out["dist_token"] = s[p + "embeddings.distillation_token"]
        for dst, src in (("head", "cls_classifier"), ("head_dist", "distillation_classifier")):
            out[dst + ".weight"], out[dst + ".bias"] = s[src + ".weight"], s[src + ".bias"]
    else:
        out["head.weight"], out["head.bias"] = s["classifier.weight"], s["classifier.bias"]
    for i in range(hf.c.depth):
        L, B = f"{p}encoder.layer.{i}.", f"blocks.{i}."
        att = L + "attention.attention."
        out[B + "attn.qkv.weight"] = torch.cat([s[att + n + ".weight"] for n in ("query", "key", "value")])
        if hf.c.qkv_bias:
            out[B + "attn.qkv.bias"] = torch.cat([s[att + n + ".bias"] for n in ("query", "key", "value")])
        for dst, src in (("attn.proj", "attention.output.dense"), ("norm1", "layernorm_before"),
                         ("norm2", "layernorm_after"), ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense")):
            out[B + dst + ".weight"], out[B + dst + ".bias"] = s[L + src + ".weight"], s[L + src + ".bias"]
    return out
