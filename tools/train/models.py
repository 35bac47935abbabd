"""The models trained on the scenes task.

ViT: a DeiT-style VisionTransformer written out with timm's parameter names exactly
  patch_embed.proj, cls_token, pos_embed, blocks.{i}.norm1, blocks.{i}.attn.qkv (with bias),
  blocks.{i}.attn.proj, blocks.{i}.norm2, blocks.{i}.mlp.fc1, blocks.{i}.mlp.fc2, norm, head
  (LayerNorm eps 1e-6, exact erf GELU, mlp ratio 4, one class token, pre-norm blocks, head on the class token).
Proposer: torchvision's mobilenet_v3_small.
ConvNeXt: timm's parameter names (see the class), the hierarchical backbone of PaPr-SPEC section 5.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):  # [B, 3, H, W] -> [B, N, D]
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # [B, N, D]
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, heads, N, hd]
        attn = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """distilled: DeiT's distillation token after the class token (timm's dist_token, head_dist): in training
    forward returns (class-head logits, distillation-head logits), in eval their mean (as DeiT infers)."""

    def __init__(self, img_size=224, patch=16, dim=192, depth=6, heads=3, mlp_ratio=4, num_classes=10, eps=1e-6,
                 distilled=False):
        super().__init__()
        n = (img_size // patch) ** 2
        self.prefix = 2 if distilled else 1
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim)) if distilled else None
        self.pos_embed = nn.Parameter(torch.zeros(1, n + self.prefix, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, num_classes)
        self.head_dist = nn.Linear(dim, num_classes) if distilled else None
        self._init()

    def _init(self):
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if self.dist_token is not None:
            nn.init.trunc_normal_(self.dist_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.proj.weight
        nn.init.trunc_normal_(w.view(w.shape[0], -1), std=math.sqrt(1.0 / w[0].numel()))
        nn.init.zeros_(self.patch_embed.proj.bias)

    def position(self, grid: int) -> torch.Tensor:
        """pos_embed for a grid x grid input; a coarser grid (low-res warm-up) averages the full grid's blocks."""
        p = self.prefix
        side = math.isqrt(self.pos_embed.shape[1] - p)
        if grid == side:
            return self.pos_embed
        if side % grid:
            raise ValueError(f"VisionTransformer: a {grid}x{grid} patch grid does not divide the {side}x{side} one")
        d = self.pos_embed.shape[2]
        patches = self.pos_embed[:, p:].transpose(1, 2).reshape(1, d, side, side)
        pooled = F.avg_pool2d(patches, side // grid).flatten(2).transpose(1, 2)
        return torch.cat([self.pos_embed[:, :p], pooled], dim=1)

    def forward(self, x, keep=None):  # [B, 3, 224, 224] -> [B, classes]  (also [B, 3, 112, 112] in the warm-up phase)
        """keep: optional [B, K] patch indices (patch dropout): only those patch tokens enter the blocks."""
        x = self.patch_embed(x)
        grid = math.isqrt(x.shape[1])
        tokens = [self.cls_token] + ([self.dist_token] if self.dist_token is not None else [])
        x = torch.cat([t.expand(x.shape[0], -1, -1) for t in tokens] + [x], dim=1) + self.position(grid)
        p = self.prefix
        if keep is not None:  # the prefix tokens, then the kept patches (index i is token p + i)
            kept = torch.gather(x[:, p:], 1, keep.unsqueeze(-1).expand(-1, -1, x.shape[2]))
            x = torch.cat([x[:, :p], kept], dim=1)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        if self.head_dist is None:
            return self.head(x[:, 0])
        logits, logits_dist = self.head(x[:, 0]), self.head_dist(x[:, 1])
        return (logits, logits_dist) if self.training else (logits + logits_dist) / 2


def make_vit(cfg: dict) -> VisionTransformer:
    return VisionTransformer(cfg["img_size"], cfg["patch_size"], cfg["embed_dim"], cfg["depth"], cfg["num_heads"],
                             cfg["mlp_ratio"], cfg["num_classes"], cfg["layer_norm_eps"], cfg.get("distilled", False))


def make_proposer(cfg: dict) -> nn.Module:
    return torchvision.models.mobilenet_v3_small(num_classes=cfg["num_classes"], width_mult=cfg["width_mult"])


# timm's flattened MobileNetV3-small blocks (stage, index) in order: torchvision's features.1 .. features.11.
_V3_SMALL_BLOCKS = [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (4, 0), (4, 1), (4, 2)]


def proposer_state_from_timm(state: dict) -> dict:
    """A papr-ts weights folder's MobileNetV3-small (timm names, as `papr convert` writes them) -> torchvision's
    state dict, for make_proposer: the inverse of the project's torchvision -> timm map (names_mobilenet.ts).
    torchvision's BatchNorm eps is 1e-3 and timm's 1e-5: the converter added the difference to every running_var."""
    out = {}

    def put(tv: str, timm: str, bn: bool = False) -> None:
        for param in ("weight", "bias", "running_mean", "running_var"):
            if f"{timm}.{param}" in state:
                v = state[f"{timm}.{param}"]
                out[f"{tv}.{param}"] = v - (1e-3 - 1e-5) if bn and param == "running_var" else v

    put("features.0.0", "conv_stem")
    put("features.0.1", "bn1", bn=True)
    for j, (stage, index) in enumerate(_V3_SMALL_BLOCKS):
        b, f = f"blocks.{stage}.{index}", f"features.{j + 1}.block"
        steps = [("conv_dw", "bn1")] if j == 0 else [("conv_pw", "bn1"), ("conv_dw", "bn2")]
        k = 0
        for conv, bn in steps:
            put(f"{f}.{k}.0", f"{b}.{conv}")
            put(f"{f}.{k}.1", f"{b}.{bn}", bn=True)
            k += 1
        if f"{b}.se.conv_reduce.weight" in state:
            put(f"{f}.{k}.fc1", f"{b}.se.conv_reduce")
            put(f"{f}.{k}.fc2", f"{b}.se.conv_expand")
            k += 1
        conv, bn = ("conv_pw", "bn2") if j == 0 else ("conv_pwl", "bn3")
        put(f"{f}.{k}.0", f"{b}.{conv}")
        put(f"{f}.{k}.1", f"{b}.{bn}", bn=True)
    put("features.12.0", "blocks.5.0.conv")
    put("features.12.1", "blocks.5.0.bn1", bn=True)
    put("classifier.0", "conv_head")
    out["classifier.0.weight"] = out["classifier.0.weight"].flatten(1)  # 1x1 conv -> Linear
    put("classifier.3", "classifier")
    return out


def load_proposer(state: dict, num_classes: int = 10) -> nn.Module:
    """make_proposer with a timm-named state (proposer_state_from_timm); every tensor must be used, none missing."""
    model = make_proposer({"num_classes": num_classes, "width_mult": 1.0})
    mapped = proposer_state_from_timm(state)
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected or len(mapped) != len(state):
        raise ValueError(f"load_proposer: missing {missing}, unexpected {unexpected}, "
                         f"{len(state)} timm tensors for {len(mapped)} mapped")
    return model.eval()


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map (timm's LayerNorm2d)."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class ConvNeXtMlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):  # [..., dim] channels last
        return self.fc2(F.gelu(self.fc1(x)))


class ConvNeXtBlock(nn.Module):
    """timm's ConvNeXtBlock (channels-last MLP): x + gamma * mlp(norm(conv_dw(x)))."""

    def __init__(self, dim: int, ls_init: float = 1e-6, eps: float = 1e-6):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.mlp = ConvNeXtMlp(dim, 4 * dim)
        self.gamma = nn.Parameter(ls_init * torch.ones(dim))

    def mixed(self, x):  # [B, C, H, W] -> [B, H, W, C]: the window operator (depthwise 7x7)
        return self.conv_dw(x).permute(0, 2, 3, 1)

    def pixel(self, y):  # [..., C] -> [..., C]: the per-position operator (norm, MLP, layer scale)
        return self.gamma * self.mlp(self.norm(y))

    def forward(self, x):
        return x + self.pixel(self.mixed(x)).permute(0, 3, 1, 2)


class ConvNeXtStage(nn.Module):
    def __init__(self, in_dim: int, dim: int, depth: int, first: bool, ls_init: float, eps: float = 1e-6):
        super().__init__()
        # timm: stage 0 has no downsampling (the stem did it); later stages LN + 2x2 stride-2 conv
        self.downsample = nn.Identity() if first else nn.Sequential(LayerNorm2d(in_dim, eps=eps),
                                                                    nn.Conv2d(in_dim, dim, 2, stride=2))
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim, ls_init, eps) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class ConvNeXt(nn.Module):
    """ConvNeXt (Liu et al. 2022) with timm's parameter names exactly:
      stem.0 (4x4 stride-4 conv), stem.1 (LayerNorm2d),
      stages.{i}.downsample.{0,1} (LayerNorm2d, 2x2 stride-2 conv; stages 1..3),
      stages.{i}.blocks.{j}.{conv_dw, norm, mlp.fc1, mlp.fc2, gamma}, head.norm (LayerNorm2d), head.fc.
    LayerNorm eps 1e-6, exact erf GELU, MLP ratio 4."""

    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_classes=1000, ls_init=1e-6, eps=1e-6):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=eps))
        self.stages = nn.Sequential(*[ConvNeXtStage(dims[max(i - 1, 0)], dims[i], depths[i], i == 0, ls_init, eps)
                                      for i in range(len(depths))])
        self.head = nn.Module()
        self.head.norm = LayerNorm2d(dims[-1], eps=eps)
        self.head.fc = nn.Linear(dims[-1], num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def stage_features(self, x):  # [B, 3, H, W] -> the output of every stage
        x = self.stem(x)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def forward_head(self, x):  # [B, C, h, w] -> [B, classes]: pool, LayerNorm, fc
        return self.head.fc(self.head.norm(x.mean((2, 3), keepdim=True)).flatten(1))

    def forward(self, x):
        return self.forward_head(self.stage_features(x)[-1])


def make_convnext(cfg: dict) -> ConvNeXt:
    return ConvNeXt(cfg["depths"], cfg["dims"], cfg["num_classes"], cfg.get("ls_init", 1e-6),
                    cfg.get("layer_norm_eps", 1e-6))
