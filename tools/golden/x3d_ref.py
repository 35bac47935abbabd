"""X3D (Feichtenhofer, CVPR 2020, Table 1) written from the paper in plain PyTorch, with PyTorchVideo's module
names (create_x3d, the torch hub x3d_xs / x3d_s / x3d_m checkpoints), so that its state_dict() has their names,
shapes and order: the reference the goldens of src/models/x3d.ts come from (gen_x3d.py).

  blocks.0                  stem: conv.conv_t (1x3x3, stride (1,2,2), 3 -> 24; the SPATIAL conv despite its name),
                            conv.conv_xy (5x1x1 depthwise), norm, ReLU
  blocks.1-4.res_blocks.j   res2..res5 bottlenecks: branch2 = conv_a 1x1x1 + norm_a + ReLU, conv_b 3x3x3 depthwise
                            (stride (1,2,2) in block 0) + norm_b (Sequential: BN, then SE on blocks 0, 2, 4, ... or
                            Identity) + Swish, conv_c 1x1x1 + norm_c; branch1_conv (+ branch1_norm where the width
                            changes) on block 0; sum + ReLU
  blocks.5                  head: pool.pre_conv + pre_norm + ReLU (conv5, the features), AvgPool3d(pool_kernel,
                            stride 1), pool.post_conv + ReLU, dropout, proj (Linear) per position, mean over positions

The head returns logits (PyTorchVideo's head_activation=None): the hub models apply a softmax before the final
average.
"""
import math

import torch
import torch.nn as nn

STAGE_DEPTHS = (3, 5, 11, 7)  # ceil(2.2 * (1, 2, 5, 3))
STAGE_CHANNELS = (24, 48, 96, 192)  # 2.0 * (12, 24, 48, 96)
STEM_CHANNELS = 24
INNER_FACTOR = 2.25
SE_CHANNELS = {54: 8, 108: 8, 216: 16, 432: 32}  # round_width(inner, 1/16): nearest multiple of 8, >= 8, +8 if < 90%
HEAD_CHANNELS = 2048
EPS = 1e-5


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class SqueezeExcitation(nn.Module):
    """x * sigmoid(conv(relu(conv(mean over T, H, W))))."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.block = nn.Sequential(nn.Conv3d(channels, reduced, 1), nn.ReLU(), nn.Conv3d(reduced, channels, 1),
                                   nn.Sigmoid())

    def forward(self, x):
        return x * self.block(x.mean((2, 3, 4), keepdim=True))


class StemConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_t = nn.Conv3d(3, STEM_CHANNELS, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.conv_xy = nn.Conv3d(STEM_CHANNELS, STEM_CHANNELS, (5, 1, 1), padding=(2, 0, 0), bias=False,
                                 groups=STEM_CHANNELS)

    def forward(self, x):
        return self.conv_xy(self.conv_t(x))


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = StemConv()
        self.norm = nn.BatchNorm3d(STEM_CHANNELS, eps=EPS)

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, dim_in: int, inner: int, dim_out: int, stride: int, se: bool):
        super().__init__()
        self.conv_a = nn.Conv3d(dim_in, inner, 1, bias=False)
        self.norm_a = nn.BatchNorm3d(inner, eps=EPS)
        self.conv_b = nn.Conv3d(inner, inner, 3, stride=(1, stride, stride), padding=1, groups=inner, bias=False)
        self.norm_b = nn.Sequential(nn.BatchNorm3d(inner, eps=EPS),
                                    SqueezeExcitation(inner, SE_CHANNELS[inner]) if se else nn.Identity())
        self.act_b = Swish()
        self.conv_c = nn.Conv3d(inner, dim_out, 1, bias=False)
        self.norm_c = nn.BatchNorm3d(dim_out, eps=EPS)

    def forward(self, x):
        x = torch.relu(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, inner: int, dim_out: int, stride: int, se: bool):
        super().__init__()
        self.branch1_conv = (nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
                             if dim_in != dim_out or stride > 1 else None)
        self.branch1_norm = nn.BatchNorm3d(dim_out, eps=EPS) if dim_in != dim_out else None
        self.branch2 = Bottleneck(dim_in, inner, dim_out, stride, se)

    def forward(self, x):
        shortcut = x
        if self.branch1_conv is not None:
            shortcut = self.branch1_conv(shortcut)
        if self.branch1_norm is not None:
            shortcut = self.branch1_norm(shortcut)
        return torch.relu(shortcut + self.branch2(x))


class ResStage(nn.Module):
    def __init__(self, depth: int, dim_in: int, dim_out: int):
        super().__init__()
        inner = int(INNER_FACTOR * dim_out)
        self.res_blocks = nn.ModuleList([
            ResBlock(dim_in if j == 0 else dim_out, inner, dim_out, 2 if j == 0 else 1, se=j % 2 == 0)
            for j in range(depth)])

    def forward(self, x):
        for block in self.res_blocks:
            x = block(x)
        return x


class ProjectedPool(nn.Module):
    def __init__(self, dim_in: int, inner: int, pool_kernel):
        super().__init__()
        self.pre_conv = nn.Conv3d(dim_in, inner, 1, bias=False)
        self.pre_norm = nn.BatchNorm3d(inner, eps=EPS)
        self.pool = nn.AvgPool3d(pool_kernel, stride=1)
        self.post_conv = nn.Conv3d(inner, HEAD_CHANNELS, 1, bias=False)

    def conv5(self, x):
        return torch.relu(self.pre_norm(self.pre_conv(x)))

    def forward(self, x):
        return torch.relu(self.post_conv(self.pool(self.conv5(x))))


class Head(nn.Module):
    def __init__(self, pool_kernel, num_classes: int):
        super().__init__()
        inner = int(INNER_FACTOR * STAGE_CHANNELS[-1])
        self.pool = ProjectedPool(STAGE_CHANNELS[-1], inner, pool_kernel)
        self.dropout = nn.Dropout(0.5)
        self.proj = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x):
        x = self.dropout(self.pool(x))
        x = self.proj(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)  # per position
        return x.mean((2, 3, 4))


class X3D(nn.Module):
    """clip = the training clip [T, S, S]: it sets the head's pool kernel [T, ceil(S/32), ceil(S/32)]."""

    def __init__(self, clip=(13, 160, 160), num_classes: int = 400):
        super().__init__()
        pool_kernel = (clip[0], math.ceil(clip[1] / 32), math.ceil(clip[2] / 32))
        stages = []
        dim_in = STEM_CHANNELS
        for depth, dim_out in zip(STAGE_DEPTHS, STAGE_CHANNELS):
            stages.append(ResStage(depth, dim_in, dim_out))
            dim_in = dim_out
        self.blocks = nn.ModuleList([Stem(), *stages, Head(pool_kernel, num_classes)])

    def features(self, x):
        """[N, 3, T, H, W] -> conv5 map [N, 432, T, H/32, W/32] (after its ReLU)."""
        for block in self.blocks[:-1]:
            x = block(x)
        return self.blocks[-1].pool.conv5(x)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
