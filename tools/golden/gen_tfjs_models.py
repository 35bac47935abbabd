"""Goldens for src/models/mobilenetv1.ts and src/models/darknet.ts (the two TF.js layers models in
../shared/weights), with seeded synthetic weights under this project's canonical names:

MobileNetV1 (Keras layer names, PyTorch suffixes and layouts):
  conv1.weight [8,3,3,3] + conv1_bn.{weight,bias,running_mean,running_var}
  conv_dw_i.weight [C,1,3,3] + conv_dw_i_bn.*, conv_pw_i.weight [O,C,1,1] + conv_pw_i_bn.*   (i = 1..13)
  conv_preds.weight [1000,256,1,1], conv_preds.bias          (1x1 conv head after global average pooling)
  every conv: TF "SAME" padding (stride 2 at even sizes pads 0 before, 1 after); BN eps 1e-3; ReLU6.
Darknet-Tiny:
  layers.i.conv.weight [O,C,k,k] + layers.i.bn.* (i = 0..14), head.weight [1000,128,1,1], head.bias
  conv (SAME, no bias) + BN (eps 1e-3) + LeakyReLU(0.1); 2x2/2 SAME max-pool after layers 0, 1, 5, 9;
  head = 1x1 conv + global average pool.
Weights: the shared synthetic rule, then every conv weight times float32(sqrt 2) (he_gain.py).
Features = last conv stage after its activation (MobileNetV1 [1,256,7,7], Darknet [1,128,14,14] at 224).
Inputs are rebuilt by the TS test from the shared generator (first 64 values committed). A second,
odd-sized input checks the asymmetric SAME padding of stride-2 convs and max-pools.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import load_synthetic, rand, save_fixture
from he_gain import apply_he_gain

BN_EPS = 1e-3
# (pointwise output channels at width 1.0, depthwise stride) for conv_dw_i / conv_pw_i, i = 1..13
MOBILENET_V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
# (kernel, filters, max-pool after) for Darknet-Tiny's 15 conv layers
DARKNET_TINY_LAYERS = [(3, 16, True), (3, 32, True), (1, 16, False), (3, 128, False), (1, 16, False),
                       (3, 128, True), (1, 32, False), (3, 256, False), (1, 32, False), (3, 256, True),
                       (1, 64, False), (3, 512, False), (1, 64, False), (3, 512, False), (1, 128, False)]


def same_padding(size: int, kernel: int, stride: int):
    """TF SAME padding (before, after) on one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    top, bottom = same_padding(x.shape[2], kernel, stride)
    left, right = same_padding(x.shape[3], kernel, stride)
    return F.pad(x, (left, right, top, bottom), value=value)


class ConvSame(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(pad_same(x, self.kernel_size[0], self.stride[0]), self.weight, self.bias, self.stride,
                        0, 1, self.groups)


class MobileNetV1(nn.Module):
    def __init__(self, alpha: float = 0.25, num_classes: int = 1000):
        super().__init__()
        chs = int(32 * alpha)
        self.add_module("conv1", ConvSame(3, chs, 3, 2, bias=False))
        self.add_module("conv1_bn", nn.BatchNorm2d(chs, eps=BN_EPS))
        self.order = [("conv1", "conv1_bn")]
        for i, (base, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
            out = int(base * alpha)
            self.add_module(f"conv_dw_{i}", ConvSame(chs, chs, 3, stride, groups=chs, bias=False))
            self.add_module(f"conv_dw_{i}_bn", nn.BatchNorm2d(chs, eps=BN_EPS))
            self.add_module(f"conv_pw_{i}", ConvSame(chs, out, 1, 1, bias=False))
            self.add_module(f"conv_pw_{i}_bn", nn.BatchNorm2d(out, eps=BN_EPS))
            self.order += [(f"conv_dw_{i}", f"conv_dw_{i}_bn"), (f"conv_pw_{i}", f"conv_pw_{i}_bn")]
            chs = out
        self.conv_preds = nn.Conv2d(chs, num_classes, 1)

    def features(self, x):
        for conv, bn in self.order:
            x = F.relu6(getattr(self, bn)(getattr(self, conv)(x)))
        return x

    def forward(self, x):
        return self.conv_preds(self.features(x).mean((2, 3), keepdim=True)).flatten(1)


class ConvBnLeaky(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel: int):
        super().__init__()
        self.conv = ConvSame(in_chs, out_chs, kernel, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_chs, eps=BN_EPS)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.conv(x)), 0.1)


class DarknetTiny(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, self.pool_after, chs = [], [], 3
        for kernel, filters, pool in DARKNET_TINY_LAYERS:
            layers.append(ConvBnLeaky(chs, filters, kernel))
            self.pool_after.append(pool)
            chs = filters
        self.layers = nn.ModuleList(layers)
        self.head = nn.Conv2d(chs, num_classes, 1)

    def features(self, x):
        for layer, pool in zip(self.layers, self.pool_after):
            x = layer(x)
            if pool:  # TF SAME max-pool: padding never wins the max
                x = F.max_pool2d(pad_same(x, 2, 2, value=-math.inf), 2, 2)
        return x

    def forward(self, x):
        return self.head(self.features(x)).mean((2, 3))


def golden(name: str, model: nn.Module, sizes) -> str:
    model.eval()
    spec = load_synthetic(model)
    apply_he_gain(model)  # see he_gain.py: without it the output barely depends on the input
    tensors, shapes = {}, {}
    for h, w in sizes:
        key = f"{h}x{w}"
        x = rand(f"{name}.input.{key}", [1, 3, h, w])
        with torch.no_grad():
            feats = model.features(x)
            logits = model(x)
        shapes[key] = list(feats.shape)
        tensors.update({
            f"{key}.input_head": x.flatten()[:64],
            f"{key}.logits": logits,
            f"{key}.features_spatial_mean": feats.mean((2, 3))[0],
            f"{key}.features_channel_mean": feats.mean(1)[0],
            f"{key}.features_first8": feats[0, :8],
        })
    return save_fixture(f"tfjs_models_{name}", tensors, metadata={
        "spec": json.dumps(spec, separators=(",", ":")), "features_shapes": json.dumps(shapes)})


def main():
    return [golden("mobilenetv1", MobileNetV1(0.25), [(224, 224), (96, 75)]),
            golden("darknet", DarknetTiny(), [(224, 224), (100, 75)])]
