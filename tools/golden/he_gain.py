"""He gain for synthetic weights of deep plain (non-residual) ConvNets.

The shared synthetic rule draws conv weights with variance 1/fanIn: each ReLU layer then halves the
signal while biases stay put, so after ~28 layers (MobileOne-S0, MobileNetV1) the output no longer
depends on the input (measured: logits of two random inputs differ by 5e-7 relative) and a golden test
could not see a bug in the early layers. Multiplying every weight of rank >= 2 by float32(sqrt(2))
(He initialisation's gain) keeps the signal alive (logits of two inputs then differ by 2-9%).
Mirrored by withHeGain in test/models/he_gain.ts (the float32 products are identical on both sides).
"""
import math

import torch

GAIN = torch.tensor(math.sqrt(2.0), dtype=torch.float32)


def apply_he_gain(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for param in module.parameters():
            if param.dim() >= 2:
                param.mul_(GAIN)
