"""Reference Swin Transformer (Liu et al. 2021) in plain PyTorch, for the goldens of src/models/swin.ts.

timm is not installable here, so `SwinTransformer` below is written from the Swin paper (eval mode: no
dropout, no drop path, no absolute position embedding) with the parameter names of timm >= 0.9's
swin_transformer.py (the canonical names of src/models/swin.ts):
  patch_embed.proj (4x4 conv, stride 4), patch_embed.norm (LayerNorm over channels)
  layers.i.downsample.{norm, reduction}   patch merging at the START of stage i >= 1 (2x2 neighbours
                                          concatenated in the order (0,0), (1,0), (0,1), (1,1) as (row, col)
                                          offsets, LayerNorm(4C), Linear 4C -> 2C without bias)
  layers.i.blocks.j.{norm1, attn.qkv, attn.proj, attn.relative_position_bias_table, norm2, mlp.fc1, mlp.fc2}
  norm (final LayerNorm), head.fc
Block j of a stage shifts its windows by window_size // 2 when j is odd, unless the stage's grid is not
larger than the window (then the window is the whole grid and there is no shift: the last stage at 224).
Tokens are kept as [B, H, W, C] maps. `stages(x)` returns every stage's output (before the final norm).
"""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class SwinConfig:
    image_size: int = 224
    patch_size: int = 4
    in_channels: int = 3
    embed_dim: int = 96
    depths: list = field(default_factory=lambda: [2, 2, 6, 2])
    num_heads: list = field(default_factory=lambda: [3, 6, 12, 24])
    window_size: int = 7
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    num_classes: int = 1000
    layer_norm_eps: float = 1e-5

    def dim(self, stage: int) -> int:
        return self.embed_dim * 2**stage

    def grid(self, stage: int) -> int:
        return self.image_size // self.patch_size // 2**stage


def relative_position_index(window: int) -> torch.Tensor:
    """[N, N] (N = window^2): index into the (2w-1)^2 bias table of the offset (dy, dx) from token j to token i."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)  # [2, N]
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)  # [2, N, N], each in [0, 2w-2]
    return rel[0] * (2 * window - 1) + rel[1]


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """[B, H, W, C] -> [B * nW, window^2, C], windows row-major, tokens row-major inside each."""
    B, H, W, C = x.shape
    x = x.view(B, H // window, window, W // window, window, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, C)


def window_reverse(windows: torch.Tensor, window: int, H: int, W: int) -> torch.Tensor:
    """Inverse of window_partition."""
    C = windows.shape[-1]
    x = windows.view(-1, H // window, W // window, window, window, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, H, W, C)


def shifted_window_mask(H: int, W: int, window: int, shift: int) -> torch.Tensor:
    """[nW, N, N]: 0 where two tokens of a window came from the same region of the unrolled map, -100 elsewhere."""
    region = torch.zeros(H, W)
    label = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[hs, ws] = label
            label += 1
    r = window_partition(region[None, :, :, None], window)[..., 0]  # [nW, N]
    diff = r[:, None, :] - r[:, :, None]
    return torch.where(diff != 0, torch.tensor(-100.0), torch.tensor(0.0))


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, qkv_bias: bool):
        super().__init__()
        self.heads, self.window = heads, window
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(window), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):  # x [B*nW, N, C], mask [nW, N, N] or None
        Bw, N, C = x.shape
        qkv = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [Bw, heads, N, hd]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [Bw, heads, N, N]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + bias.permute(2, 0, 1)[None]
        if mask is not None:
            nW = mask.shape[0]
            attn = (attn.view(-1, nW, self.heads, N, N) + mask[None, :, None]).view(-1, self.heads, N, N)
        attn = attn.softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(Bw, N, C))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    def __init__(self, c: SwinConfig, stage: int, index: int):
        super().__init__()
        dim, grid = c.dim(stage), c.grid(stage)
        self.window = min(c.window_size, grid)
        self.shift = 0 if grid <= c.window_size or index % 2 == 0 else c.window_size // 2
        self.norm1 = nn.LayerNorm(dim, eps=c.layer_norm_eps)
        self.attn = WindowAttention(dim, c.num_heads[stage], self.window, c.qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=c.layer_norm_eps)
        self.mlp = Mlp(dim, int(dim * c.mlp_ratio))
        mask = shifted_window_mask(grid, grid, self.window, self.shift) if self.shift else None
        self.register_buffer("attn_mask", mask, persistent=False)

    def attention_half(self, x):  # [B, H, W, C] -> x + shifted-window attention(norm1(x))
        B, H, W, C = x.shape
        h = torch.roll(self.norm1(x), shifts=(-self.shift, -self.shift), dims=(1, 2)) if self.shift else self.norm1(x)
        h = window_reverse(self.attn(window_partition(h, self.window), self.attn_mask), self.window, H, W)
        if self.shift:
            h = torch.roll(h, shifts=(self.shift, self.shift), dims=(1, 2))
        return x + h

    def mlp_half(self, x):
        return x + self.mlp(self.norm2(x))

    def forward(self, x):
        return self.mlp_half(self.attention_half(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim, eps=eps)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):  # [B, H, W, C] -> [B, H/2, W/2, 2C]
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class PatchEmbed(nn.Module):
    def __init__(self, c: SwinConfig):
        super().__init__()
        self.proj = nn.Conv2d(c.in_channels, c.embed_dim, c.patch_size, stride=c.patch_size)
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)

    def forward(self, x):  # [B, 3, H, W] -> [B, H/4, W/4, C]
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class SwinStage(nn.Module):
    def __init__(self, c: SwinConfig, stage: int):
        super().__init__()
        self.downsample = PatchMerging(c.dim(stage - 1), c.layer_norm_eps) if stage > 0 else nn.Identity()
        self.blocks = nn.Sequential(*[SwinBlock(c, stage, j) for j in range(c.depths[stage])])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class ClassifierHead(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x):  # [B, H, W, C] -> [B, classes], average pool over the grid
        return self.fc(x.mean(dim=(1, 2)))


class SwinTransformer(nn.Module):
    def __init__(self, c: SwinConfig):
        super().__init__()
        self.c = c
        self.patch_embed = PatchEmbed(c)
        self.layers = nn.Sequential(*[SwinStage(c, i) for i in range(len(c.depths))])
        self.norm = nn.LayerNorm(c.dim(len(c.depths) - 1), eps=c.layer_norm_eps)
        self.head = ClassifierHead(c.dim(len(c.depths) - 1), c.num_classes)

    def stages(self, x):
        """Every stage's output [B, H_i, W_i, C_i] and the logits."""
        x = self.patch_embed(x)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs, self.head(self.norm(x))

    def forward(self, x):
        return self.stages(x)[1]
