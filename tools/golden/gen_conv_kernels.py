"""Goldens for the engine's spatial kernels (part B): conv2d, batchNorm / foldBatchNorm, the pools,
squeezeExcite and interpolate, each computed by PyTorch.

Every case has a name; its input is committed as `<case>.x` and the torch result as `<case>.out`.
Weights are not committed: both sides rebuild them with rand("<kernel>.<case>.<param>", shape, scale)
(synthetic_tensor here, syntheticTensor in src/tensor/random.ts). The TS tests hold the same case tables
and check that the fixture has exactly their cases.

torch has no TF/Keras "same" padding for strides > 1 and no asymmetric padding, so those cases pad
explicitly first (F.pad; -inf for max pooling so a padded cell never wins) and then run the torch op
unpadded.
"""
import math

import torch
import torch.nn.functional as F

from common import rand, save_fixture

# name, x shape, weight shape, bias, options (stride, padding, dilation, groups as in conv.ts)
CONV_CASES = [
    ("basic_3x3", [2, 3, 7, 9], [4, 3, 3, 3], True, dict(padding=1)),
    ("no_padding_no_bias", [1, 3, 6, 5], [2, 3, 3, 3], False, dict()),
    ("stride2_pad3_7x7", [1, 3, 11, 8], [5, 3, 7, 7], True, dict(stride=2, padding=3)),
    ("pad_hw_kernel_3x2", [1, 2, 6, 5], [3, 2, 3, 2], True, dict(padding=[2, 0])),
    ("asymmetric_padding", [1, 3, 5, 6], [4, 3, 3, 3], True, dict(padding=[1, 2, 0, 3])),
    ("same_stride2_even", [1, 3, 8, 10], [4, 3, 3, 3], True, dict(stride=2, padding="same")),
    ("same_stride2_odd_5x5", [1, 3, 9, 7], [4, 3, 5, 5], False, dict(stride=2, padding="same")),
    ("same_stride1_even_kernel", [1, 2, 6, 7], [3, 2, 4, 4], True, dict(padding="same")),
    ("dilation2", [1, 3, 9, 10], [4, 3, 3, 3], True, dict(padding=2, dilation=2)),
    ("mixed_stride_dilation", [1, 3, 9, 8], [2, 3, 3, 3], True, dict(stride=[2, 1], padding=[1, 2], dilation=[1, 2])),
    ("groups2", [1, 4, 6, 7], [6, 2, 3, 3], True, dict(padding=1, groups=2)),
    ("groups2_dilation2_no_bias", [2, 6, 9, 9], [4, 3, 3, 3], False, dict(padding=2, dilation=2, groups=2)),
    ("depthwise_stride2", [1, 6, 7, 8], [6, 1, 3, 3], True, dict(stride=2, padding=1, groups=6)),
    ("depthwise_multiplier2", [1, 3, 5, 5], [6, 1, 5, 5], False, dict(padding=2, groups=3)),
    ("depthwise_same_stride2", [1, 4, 8, 8], [4, 1, 5, 5], True, dict(stride=2, padding="same", groups=4)),
    ("depthwise_same_stride2_odd", [1, 4, 9, 7], [4, 1, 3, 3], True, dict(stride=2, padding="same", groups=4)),
    ("pointwise", [2, 8, 5, 6], [12, 8, 1, 1], True, dict()),
    ("pointwise_stride2_no_bias", [1, 8, 7, 7], [16, 8, 1, 1], False, dict(stride=2)),
    ("one_pixel_1x1", [1, 5, 1, 1], [7, 5, 1, 1], True, dict()),
    ("one_pixel_3x3_pad1", [1, 3, 1, 1], [4, 3, 3, 3], True, dict(padding=1)),
    ("wider_16_to_32", [1, 16, 14, 13], [32, 16, 3, 3], True, dict(padding=1)),
]


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1):
    """TF/Keras SAME: (before, after) with the odd pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


# Known TF values: 3x3 stride 2 on an even size pads only after; on an odd size pads both sides.
assert same_pads(224, 3, 2) == (0, 1) and same_pads(225, 3, 2) == (1, 1) and same_pads(7, 4, 1) == (1, 2)


def explicit_pads(padding, h, w, kernel, stride, dilation):
    """(top, bottom, left, right) for an asymmetric or "same" spec."""
    if padding == "same":
        return same_pads(h, kernel[0], stride[0], dilation[0]) + same_pads(w, kernel[1], stride[1], dilation[1])
    return tuple(padding)


def torch_conv(x, weight, bias, stride=1, padding=0, dilation=1, groups=1):
    stride, dilation = pair(stride), pair(dilation)
    if padding == "same" or (isinstance(padding, list) and len(padding) == 4):
        top, bottom, left, right = explicit_pads(padding, x.shape[2], x.shape[3], weight.shape[2:], stride, dilation)
        x = F.pad(x, (left, right, top, bottom))
        padding = 0
    return F.conv2d(x, weight, bias, stride=stride, padding=pair(padding), dilation=dilation, groups=groups)


def conv_goldens():
    tensors = {}
    for name, x_shape, w_shape, has_bias, opts in CONV_CASES:
        x = rand(f"conv.{name}.x", x_shape)
        weight = rand(f"conv.{name}.weight", w_shape, 0.5)
        bias = rand(f"conv.{name}.bias", [w_shape[0]], 0.5) if has_bias else None
        tensors[f"{name}.x"] = x
        tensors[f"{name}.out"] = torch_conv(x, weight, bias, **opts)
    return save_fixture("kernel_conv", tensors)


# ---- batch norm ---------------------------------------------------------------------------------

def bn_params(prefix: str, channels: int):
    return dict(
        weight=1.0 + rand(f"{prefix}.weight", [channels], 0.5),
        bias=rand(f"{prefix}.bias", [channels], 0.5),
        running_mean=rand(f"{prefix}.running_mean", [channels], 0.5),
        running_var=1.0 + rand(f"{prefix}.running_var", [channels], 0.9),  # in (0.1, 1.9)
    )


def torch_bn(x, p, eps):
    bn = torch.nn.BatchNorm2d(x.shape[1], eps=eps).eval()
    with torch.no_grad():
        for key, value in p.items():
            getattr(bn, key).copy_(value)
        return bn(x)


# name, x shape, eps
BN_CASES = [("eps1e-5", [2, 5, 4, 3], 1e-5), ("eps1e-3_one_pixel", [3, 4, 1, 1], 1e-3)]
# name, x shape, conv weight shape, conv bias, conv options, bn eps
FOLD_CASES = [
    ("conv3x3_no_bias", [1, 3, 7, 6], [5, 3, 3, 3], False, dict(stride=2, padding=1), 1e-5),
    ("conv1x1_bias", [2, 6, 4, 5], [4, 6, 1, 1], True, dict(), 1e-3),
    ("depthwise", [1, 4, 6, 6], [4, 1, 3, 3], False, dict(padding=1, groups=4), 1e-5),
]


def batchnorm_goldens():
    tensors = {}
    for name, x_shape, eps in BN_CASES:
        x = rand(f"bn.{name}.x", x_shape, 2.0)
        tensors[f"{name}.x"] = x
        tensors[f"{name}.out"] = torch_bn(x, bn_params(f"bn.{name}", x_shape[1]), eps)
    for name, x_shape, w_shape, has_bias, opts, eps in FOLD_CASES:
        x = rand(f"fold.{name}.x", x_shape)
        weight = rand(f"fold.{name}.weight", w_shape, 0.5)
        bias = rand(f"fold.{name}.bias", [w_shape[0]], 0.5) if has_bias else None
        tensors[f"fold_{name}.x"] = x
        tensors[f"fold_{name}.out"] = torch_bn(torch_conv(x, weight, bias, **opts), bn_params(f"fold.{name}.bn", w_shape[0]), eps)
    return save_fixture("kernel_batchnorm", tensors)


# ---- pools --------------------------------------------------------------------------------------

def torch_max_pool(x, kernel, stride=None, padding=0, ceil_mode=False):
    kernel = pair(kernel)
    stride = pair(stride) if stride is not None else kernel
    if padding == "same":
        top, bottom, left, right = explicit_pads("same", x.shape[2], x.shape[3], kernel, stride, (1, 1))
        x = F.pad(x, (left, right, top, bottom), value=-math.inf)
        padding = 0
    return F.max_pool2d(x, kernel, stride, pair(padding), ceil_mode=ceil_mode)


def torch_avg_pool(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    kernel = pair(kernel)
    stride = pair(stride) if stride is not None else kernel
    if padding == "same":  # sum over the zero-padded window / number of real cells (or all cells)
        top, bottom, left, right = explicit_pads("same", x.shape[2], x.shape[3], kernel, stride, (1, 1))
        area = kernel[0] * kernel[1]
        sums = F.avg_pool2d(F.pad(x, (left, right, top, bottom)), kernel, stride) * area
        if count_include_pad:
            return sums / area
        ones = torch.ones(1, 1, x.shape[2], x.shape[3])
        counts = F.avg_pool2d(F.pad(ones, (left, right, top, bottom)), kernel, stride) * area
        return sums / counts
    return F.avg_pool2d(x, kernel, stride, pair(padding), ceil_mode=ceil_mode, count_include_pad=count_include_pad)


# name, x shape, x offset (all-negative inputs show that padding never wins a max), options
MAX_POOL_CASES = [
    ("k3_s2_p1", [1, 3, 9, 8], 0.0, dict(kernel=3, stride=2, padding=1)),
    ("k3_s2_p1_negative", [1, 2, 8, 7], -3.0, dict(kernel=3, stride=2, padding=1)),
    ("k2_default_stride", [2, 2, 7, 6], 0.0, dict(kernel=2)),
    ("k3_s2_ceil", [1, 2, 8, 7], 0.0, dict(kernel=3, stride=2, ceil_mode=True)),
    ("k3_s2_p1_ceil", [1, 2, 10, 9], 0.0, dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
    ("k2_s2_ceil_drops_last", [1, 1, 5, 5], 0.0, dict(kernel=2, stride=2, padding=1, ceil_mode=True)),
    ("kernel_3x2_s21_p11", [1, 2, 7, 6], 0.0, dict(kernel=[3, 2], stride=[2, 1], padding=[1, 1])),
    ("same_s2_even_negative", [1, 2, 8, 8], -3.0, dict(kernel=3, stride=2, padding="same")),
    ("same_s2_odd", [1, 2, 7, 9], 0.0, dict(kernel=3, stride=2, padding="same")),
    ("same_s1_k2_negative", [1, 2, 5, 6], -3.0, dict(kernel=2, stride=1, padding="same")),
    ("one_pixel_k3_s2_p1", [1, 3, 1, 1], 0.0, dict(kernel=3, stride=2, padding=1)),
]
AVG_POOL_CASES = [
    ("k3_s2_p1_include", [1, 3, 9, 8], dict(kernel=3, stride=2, padding=1)),
    ("k3_s2_p1_exclude", [1, 3, 9, 8], dict(kernel=3, stride=2, padding=1, count_include_pad=False)),
    ("k2_default_stride", [2, 2, 7, 6], dict(kernel=2)),
    ("k3_s2_p1_ceil_include", [1, 2, 10, 9], dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
    ("k3_s2_p1_ceil_exclude", [1, 2, 10, 9], dict(kernel=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("kernel_3x2_p10_exclude", [1, 2, 6, 5], dict(kernel=[3, 2], stride=1, padding=[1, 0], count_include_pad=False)),
    ("same_s2_even_exclude", [1, 2, 8, 8], dict(kernel=3, stride=2, padding="same", count_include_pad=False)),
    ("same_s2_odd_include", [1, 2, 7, 9], dict(kernel=3, stride=2, padding="same")),
]
GLOBAL_POOL_CASES = [("global_2x3x5x7", [2, 3, 5, 7]), ("global_one_pixel", [1, 4, 1, 1])]


def pool_goldens():
    tensors = {}
    for name, x_shape, offset, opts in MAX_POOL_CASES:
        x = rand(f"maxpool.{name}.x", x_shape) + offset
        tensors[f"max_{name}.x"] = x
        tensors[f"max_{name}.out"] = torch_max_pool(x, **opts)
    for name, x_shape, opts in AVG_POOL_CASES:
        x = rand(f"avgpool.{name}.x", x_shape) + 0.5  # a non-zero mean makes the divisor visible
        tensors[f"avg_{name}.x"] = x
        tensors[f"avg_{name}.out"] = torch_avg_pool(x, **opts)
    for name, x_shape in GLOBAL_POOL_CASES:
        x = rand(f"pool.{name}.x", x_shape) + 0.5
        tensors[f"{name}.x"] = x
        tensors[f"{name}.out"] = F.adaptive_avg_pool2d(x, 1).flatten(1)
    return save_fixture("kernel_pooling", tensors)


# ---- squeeze-excite ----------------------------------------------------------------------------

class SqueezeExcite(torch.nn.Module):
    """timm's SqueezeExcite (MobileNetV3 / EfficientNet): x * gate(expand(act(reduce(mean(x)))))."""

    def __init__(self, channels, reduced, act, gate):
        super().__init__()
        self.conv_reduce = torch.nn.Conv2d(channels, reduced, 1)
        self.act = act
        self.conv_expand = torch.nn.Conv2d(reduced, channels, 1)
        self.gate = gate

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.conv_expand(self.act(self.conv_reduce(s))))


# name, x shape, reduced channels, activation, gate
SE_CASES = [
    ("relu_hardsigmoid", [2, 8, 5, 4], 4, "relu", "hardsigmoid"),
    ("silu_sigmoid", [1, 6, 3, 7], 2, "silu", "sigmoid"),
    ("one_pixel", [1, 4, 1, 1], 3, "relu", "hardsigmoid"),
]
ACTIVATIONS = {"relu": torch.nn.ReLU(), "silu": torch.nn.SiLU(), "hardsigmoid": torch.nn.Hardsigmoid(), "sigmoid": torch.nn.Sigmoid()}


def se_goldens():
    tensors = {}
    for name, x_shape, reduced, act, gate in SE_CASES:
        channels = x_shape[1]
        se = SqueezeExcite(channels, reduced, ACTIVATIONS[act], ACTIVATIONS[gate])
        with torch.no_grad():
            # large enough that relu / hardsigmoid clip for some channels
            se.conv_reduce.weight.copy_(rand(f"se.{name}.reduceWeight", [reduced, channels, 1, 1], 3.0))
            se.conv_reduce.bias.copy_(rand(f"se.{name}.reduceBias", [reduced], 0.5))
            se.conv_expand.weight.copy_(rand(f"se.{name}.expandWeight", [channels, reduced, 1, 1], 3.0))
            se.conv_expand.bias.copy_(rand(f"se.{name}.expandBias", [channels], 0.5))
            x = rand(f"se.{name}.x", x_shape) + 0.3
            tensors[f"{name}.x"] = x
            tensors[f"{name}.out"] = se(x)
    return save_fixture("kernel_squeeze_excite", tensors)


# ---- interpolate --------------------------------------------------------------------------------

# name, x shape, size, mode, align_corners (None for nearest)
RESIZE_CASES = []
for mode in ("bicubic", "bilinear"):
    for align in (False, True):
        tag = f"{mode}_{'align' if align else 'noalign'}"
        RESIZE_CASES += [
            (f"{tag}_up", [1, 2, 5, 4], [9, 11], mode, align),
            (f"{tag}_down", [1, 2, 12, 10], [5, 7], mode, align),
            (f"{tag}_1x1_to_14x14", [1, 3, 1, 1], [14, 14], mode, align),
            (f"{tag}_to_1x3", [1, 2, 6, 5], [1, 3], mode, align),
            (f"{tag}_same_size", [2, 2, 6, 6], [6, 6], mode, align),
        ]
RESIZE_CASES += [
    ("bicubic_align_7x7_to_14x14", [1, 2, 7, 7], [14, 14], "bicubic", True),  # the PaPr proposal resize
    ("bicubic_align_7x7_to_14x14_batch2", [2, 3, 7, 7], [14, 14], "bicubic", True),
    ("nearest_up", [1, 2, 5, 4], [9, 11], "nearest", None),
    ("nearest_down", [1, 2, 12, 10], [5, 7], "nearest", None),
    ("nearest_exact_double", [1, 2, 4, 3], [8, 6], "nearest", None),
    ("nearest_3_to_7", [1, 1, 3, 3], [7, 7], "nearest", None),
    ("nearest_1x1_to_14x14", [1, 3, 1, 1], [14, 14], "nearest", None),
]


def resize_goldens():
    tensors = {}
    for name, x_shape, size, mode, align in RESIZE_CASES:
        x = rand(f"resize.{name}.x", x_shape)
        tensors[f"{name}.x"] = x
        tensors[f"{name}.out"] = F.interpolate(x, size=size, mode=mode, align_corners=align)
    return save_fixture("kernel_interpolate", tensors)


def main():
    torch.set_num_threads(1)
    return [conv_goldens(), batchnorm_goldens(), pool_goldens(), se_goldens(), resize_goldens()]
