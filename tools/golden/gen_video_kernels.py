"""Goldens for the engine's video kernels: conv3d, maxPool3d / avgPool3d / globalAvgPool3d and the trilinear
resize, each computed by PyTorch (F.conv3d, F.max_pool3d, F.avg_pool3d, F.interpolate(mode="trilinear")).

As in gen_conv_kernels.py: every case has a name; its input is committed as `<case>.x` and the torch result
as `<case>.out`. Weights are not committed: both sides rebuild them with rand("conv3d.<case>.<param>", shape,
scale) (synthetic_tensor here, syntheticTensor in src/tensor/random.ts). test/tensor/video_kernels.test.ts
holds the same case tables and checks that the fixture has exactly their cases.
"""
import torch.nn.functional as F

from common import rand, save_fixture

# name, x shape [N,C,T,H,W], weight shape [O,C/groups,kt,kh,kw], bias, options (stride, padding, groups)
CONV3D_CASES = [
    ("k1_pointwise", [2, 6, 3, 4, 5], [8, 6, 1, 1, 1], True, dict()),
    ("k1_stride2_no_bias", [1, 6, 5, 6, 7], [4, 6, 1, 1, 1], False, dict(stride=2)),  # r3d's downsample
    ("k3_pad1", [1, 3, 4, 6, 5], [4, 3, 3, 3, 3], True, dict(padding=1)),
    ("k3_stride2_pad1_no_bias", [1, 4, 5, 7, 8], [6, 4, 3, 3, 3], False, dict(stride=2, padding=1)),
    ("k3_no_padding_batch2", [2, 2, 4, 5, 5], [3, 2, 3, 3, 3], True, dict()),
    ("stem_3x7x7_s122_p133", [1, 3, 4, 12, 11], [5, 3, 3, 7, 7], False, dict(stride=[1, 2, 2], padding=[1, 3, 3])),
    ("kernel_3x2x3_s213_p011", [1, 3, 5, 6, 7], [4, 3, 3, 2, 3], True, dict(stride=[2, 1, 3], padding=[0, 1, 1])),
    ("temporal_3x1x1_p100", [1, 4, 6, 3, 3], [5, 4, 3, 1, 1], True, dict(padding=[1, 0, 0])),
    ("groups2", [1, 4, 3, 5, 6], [6, 2, 3, 3, 3], True, dict(padding=1, groups=2)),
    ("depthwise", [1, 6, 4, 6, 6], [6, 1, 3, 3, 3], True, dict(padding=1, groups=6)),
    ("depthwise_s122_no_bias", [1, 4, 5, 7, 6], [4, 1, 3, 3, 3], False, dict(stride=[1, 2, 2], padding=1, groups=4)),
    ("depthwise_multiplier2_3x5x5", [1, 3, 3, 5, 5], [6, 1, 3, 5, 5], True, dict(padding=[1, 2, 2], groups=3)),
    ("one_cell_k3_pad1", [1, 3, 1, 1, 1], [4, 3, 3, 3, 3], True, dict(padding=1)),
    ("wider_16_to_24", [1, 16, 4, 8, 8], [24, 16, 3, 3, 3], True, dict(padding=1)),
]


def conv3d_goldens(tensors: dict) -> None:
    for name, x_shape, w_shape, has_bias, opts in CONV3D_CASES:
        x = rand(f"conv3d.{name}.x", x_shape)
        weight = rand(f"conv3d.{name}.weight", w_shape, 0.5)
        bias = rand(f"conv3d.{name}.bias", [w_shape[0]], 0.5) if has_bias else None
        tensors[f"conv3d_{name}.x"] = x
        tensors[f"conv3d_{name}.out"] = F.conv3d(x, weight, bias, **opts)


# name, x shape, x offset (all-negative inputs show that padding never wins a max), options
MAX_POOL3D_CASES = [
    ("k3_s2_p1", [1, 3, 5, 7, 6], 0.0, dict(kernel_size=3, stride=2, padding=1)),
    ("k3_s2_p1_negative", [1, 2, 4, 5, 7], -3.0, dict(kernel_size=3, stride=2, padding=1)),
    ("k2_default_stride", [2, 2, 4, 5, 6], 0.0, dict(kernel_size=2)),
    ("k133_s122_p011", [1, 3, 4, 8, 7], 0.0, dict(kernel_size=[1, 3, 3], stride=[1, 2, 2], padding=[0, 1, 1])),
    ("one_cell_k3_s2_p1", [1, 2, 1, 1, 1], 0.0, dict(kernel_size=3, stride=2, padding=1)),
]
# name, x shape, options
AVG_POOL3D_CASES = [
    ("k3_s2_p1_include", [1, 3, 5, 7, 6], dict(kernel_size=3, stride=2, padding=1)),
    ("k3_s2_p1_exclude", [1, 3, 5, 7, 6], dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("k2_default_stride", [2, 2, 4, 5, 6], dict(kernel_size=2)),
    ("k3_s1_p1_include", [1, 2, 4, 5, 5], dict(kernel_size=3, stride=1, padding=1)),
    ("k133_s1_p011_exclude", [1, 2, 3, 6, 5], dict(kernel_size=[1, 3, 3], stride=1, padding=[0, 1, 1], count_include_pad=False)),
]
GLOBAL_POOL3D_CASES = [("global_2x3x4x5x6", [2, 3, 4, 5, 6]), ("global_one_cell", [1, 4, 1, 1, 1])]


def pool3d_goldens(tensors: dict) -> None:
    for name, x_shape, offset, opts in MAX_POOL3D_CASES:
        x = rand(f"maxpool3d.{name}.x", x_shape) + offset
        tensors[f"maxpool3d_{name}.x"] = x
        tensors[f"maxpool3d_{name}.out"] = F.max_pool3d(x, **opts)
    for name, x_shape, opts in AVG_POOL3D_CASES:
        x = rand(f"avgpool3d.{name}.x", x_shape) + 0.5  # a non-zero mean makes the divisor visible
        tensors[f"avgpool3d_{name}.x"] = x
        tensors[f"avgpool3d_{name}.out"] = F.avg_pool3d(x, **opts)
    for name, x_shape in GLOBAL_POOL3D_CASES:
        x = rand(f"pool3d.{name}.x", x_shape) + 0.5
        tensors[f"pool3d_{name}.x"] = x
        tensors[f"pool3d_{name}.out"] = F.adaptive_avg_pool3d(x, 1).flatten(1)


# name, x shape, size [T, H, W], align_corners
TRILINEAR_CASES = []
for align in (False, True):
    tag = "align" if align else "noalign"
    TRILINEAR_CASES += [
        (f"{tag}_up", [1, 2, 3, 4, 5], [5, 7, 9], align),
        (f"{tag}_down", [1, 2, 8, 10, 12], [3, 5, 7], align),
        (f"{tag}_mixed_to_1x1x3", [2, 2, 4, 5, 6], [1, 1, 3], align),
        (f"{tag}_same_size", [1, 2, 3, 4, 4], [3, 4, 4], align),
        (f"{tag}_1x1x1_to_4x6x6", [1, 3, 1, 1, 1], [4, 6, 6], align),
    ]
TRILINEAR_CASES += [("papr_align_8x5x5_to_8x14x14", [1, 2, 8, 5, 5], [8, 14, 14], True)]  # X3D-S map -> token grid


def trilinear_goldens(tensors: dict) -> None:
    for name, x_shape, size, align in TRILINEAR_CASES:
        x = rand(f"trilinear.{name}.x", x_shape)
        tensors[f"trilinear_{name}.x"] = x
        tensors[f"trilinear_{name}.out"] = F.interpolate(x, size=size, mode="trilinear", align_corners=align)


def main():
    tensors = {}
    conv3d_goldens(tensors)
    pool3d_goldens(tensors)
    trilinear_goldens(tensors)
    return [save_fixture("video_kernels", tensors)]
