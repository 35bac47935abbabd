"""Reference VideoMAE classifier in plain PyTorch, for the goldens of src/models/video_vit.ts.

Written from the VideoMAE paper (Tong et al. 2022) and the Hugging Face docs of VideoMAEForVideoClassification
(no code copied; eval mode, no dropout, no layer scale). Two modules, the same network:

`VideoVisionTransformer`: the ORIGINAL release's parameter names and structure:
  patch_embed.proj            nn.Conv3d(C, D, kernel = stride = (tubelet, p, p)), tokens t-major, then h, then w
  (no parameter)              fixed sinusoidal position table [1, L, D], added after the embedding
  blocks.i.norm1, blocks.i.attn.{qkv (no bias), q_bias, v_bias, proj}, blocks.i.norm2, blocks.i.mlp.{fc1, fc2}
                              the qkv projection's bias is [q_bias, 0, v_bias] (the key has none)
  fc_norm, head               mean of all tokens -> LayerNorm -> Linear
`HFVideoVisionTransformer`: Hugging Face's names and structure (videomae.embeddings.patch_embeddings.projection,
  separate query / key / value linears without bias plus q_bias / v_bias added to q and v, layernorm_before /
  after, intermediate.dense, output.dense, fc_norm, classifier): an independent check of the q, k, v and bias
  fusion of src/models/load/names_videomae.ts.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


@dataclass
class VideoVitConfig:
    num_frames: int = 16
    image_size: int = 224
    patch_size: int = 16
    tubelet_size: int = 2
    in_channels: int = 3
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    num_classes: int = 400
    layer_norm_eps: float = 1e-6

    @property
    def num_tokens(self) -> int:
        return (self.num_frames // self.tubelet_size) * (self.image_size // self.patch_size) ** 2

    @property
    def hidden(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)


def sinusoid_table(num_tokens: int, dim: int) -> torch.Tensor:
    """[1, L, D]: angle = pos / 10000^(2 (i // 2) / D); sin at even i, cos at odd i (float64, then float32)."""
    pos = np.arange(num_tokens, dtype=np.float64)[:, None]
    i = np.arange(dim)[None, :]
    angle = pos / np.power(10000.0, 2 * (i // 2) / dim)
    table = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.from_numpy(table.astype(np.float32))[None]


def attention(q, k, v, num_heads):  # [B, N, D] each -> [B, N, D]
    B, N, D = q.shape
    hd = D // num_heads
    heads = lambda t: t.reshape(B, N, num_heads, hd).transpose(1, 2)  # noqa: E731
    scores = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(hd)
    return (scores.softmax(-1) @ heads(v)).transpose(1, 2).reshape(B, N, D)


# ---- original VideoMAE naming ----------------------------------------------------------------------


class PatchEmbed(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        kernel = (c.tubelet_size, c.patch_size, c.patch_size)
        self.proj = nn.Conv3d(c.in_channels, c.embed_dim, kernel, stride=kernel)

    def forward(self, x):  # [B, C, T, H, W] -> [B, L, D]
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        D = c.embed_dim
        self.num_heads = c.num_heads
        self.qkv = nn.Linear(D, 3 * D, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(D))
        self.v_bias = nn.Parameter(torch.zeros(D))
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        q, k, v = F.linear(x, self.qkv.weight, bias).chunk(3, dim=-1)
        return self.proj(attention(q, k, v, self.num_heads))


class Mlp(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.fc1 = nn.Linear(c.embed_dim, c.hidden)
        self.fc2 = nn.Linear(c.hidden, c.embed_dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.attn = Attention(c)
        self.norm2 = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VideoVisionTransformer(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.c = c
        self.patch_embed = PatchEmbed(c)
        self.pos_embed = sinusoid_table(c.num_tokens, c.embed_dim)  # a plain attribute: not in the state dict
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.depth)])
        self.fc_norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.head = nn.Linear(c.embed_dim, c.num_classes)

    def embed(self, x):  # [1, C, T, H, W] -> [1, L, D]
        return self.patch_embed(x) + self.pos_embed

    def run_blocks(self, tokens):
        for block in self.blocks:
            tokens = block(tokens)
        return tokens

    def head_of(self, tokens):  # [1, n, D] -> [1, classes]: mean of the tokens present
        return self.head(self.fc_norm(tokens.mean(dim=1)))

    def forward(self, x, keep=None):  # keep: token indices entering the blocks (PaPr), all when None
        tokens = self.embed(x)
        if keep is not None:
            tokens = tokens[:, keep]
        return self.head_of(self.run_blocks(tokens))


# ---- Hugging Face naming ----------------------------------------------------------------------------


class HFSelfAttention(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        D = c.embed_dim
        self.num_heads = c.num_heads
        self.query = nn.Linear(D, D, bias=False)
        self.key = nn.Linear(D, D, bias=False)
        self.value = nn.Linear(D, D, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(D))
        self.v_bias = nn.Parameter(torch.zeros(D))

    def forward(self, x):
        q = self.query(x) + self.q_bias
        return attention(q, self.key(x), self.value(x) + self.v_bias, self.num_heads)


class HFDense(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class HFAttention(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.attention = HFSelfAttention(c)
        self.output = HFDense(c.embed_dim, c.embed_dim)


class HFLayer(nn.Module):
    def __init__(self, c: VideoVitConfig):
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
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        kernel = (c.tubelet_size, c.patch_size, c.patch_size)
        self.projection = nn.Conv3d(c.in_channels, c.embed_dim, kernel, stride=kernel)


class HFEmbeddings(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.patch_embeddings = HFPatchEmbeddings(c)
        self.position_embeddings = sinusoid_table(c.num_tokens, c.embed_dim)  # not in the state dict


class HFEncoder(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.layer = nn.ModuleList([HFLayer(c) for _ in range(c.depth)])


class HFModel(nn.Module):
    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.embeddings = HFEmbeddings(c)
        self.encoder = HFEncoder(c)

    def forward(self, x):  # -> [1, L, D] after the last layer (mean pooling: no final layernorm)
        e = self.embeddings
        h = e.patch_embeddings.projection(x).flatten(2).transpose(1, 2) + e.position_embeddings
        for layer in self.encoder.layer:
            h = layer(h)
        return h


class HFVideoVisionTransformer(nn.Module):
    """VideoMAEForVideoClassification's names: videomae.*, fc_norm, classifier."""

    def __init__(self, c: VideoVitConfig):
        super().__init__()
        self.videomae = HFModel(c)
        self.fc_norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.classifier = nn.Linear(c.embed_dim, c.num_classes)

    def forward(self, x):
        return self.classifier(self.fc_norm(self.videomae(x).mean(dim=1)))


def hf_to_original_state(hf: HFVideoVisionTransformer) -> dict:
    """The HF module's weights under the original names (q, k, v stacked), for the Python-side cross-check."""
    s = hf.state_dict()
    out = {
        "patch_embed.proj.weight": s["videomae.embeddings.patch_embeddings.projection.weight"],
        "patch_embed.proj.bias": s["videomae.embeddings.patch_embeddings.projection.bias"],
        "fc_norm.weight": s["fc_norm.weight"], "fc_norm.bias": s["fc_norm.bias"],
        "head.weight": s["classifier.weight"], "head.bias": s["classifier.bias"],
    }
    for i in range(len(hf.videomae.encoder.layer)):
        L, B = f"videomae.encoder.layer.{i}.", f"blocks.{i}."
        att = L + "attention.attention."
        out[B + "attn.qkv.weight"] = torch.cat([s[att + n + ".weight"] for n in ("query", "key", "value")])
        out[B + "attn.q_bias"], out[B + "attn.v_bias"] = s[att + "q_bias"], s[att + "v_bias"]
        for dst, src in (("attn.proj", "attention.output.dense"), ("norm1", "layernorm_before"),
                         ("norm2", "layernorm_after"), ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense")):
            out[B + dst + ".weight"], out[B + dst + ".bias"] = s[L + src + ".weight"], s[L + src + ".bias"]
    return out
