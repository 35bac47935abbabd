"""Fixture proving the TS and Python seeded generators agree."""
from common import Mulberry32, fnv1a, save_fixture, synthetic_tensor
import torch


def main():
    rng = Mulberry32(12345)
    first = [rng.uniform() for _ in range(8)]
    return [save_fixture("random", {
        "mulberry32_12345": torch.tensor(first),
        "synthetic_blocks.0.attn.qkv.weight": synthetic_tensor("blocks.0.attn.qkv.weight", [6, 5], 0.02),
        "synthetic_seed7": synthetic_tensor("x", [1000], 3.0, seed=7),
        "fnv1a": torch.tensor([float(fnv1a("") >> 16), float(fnv1a("patch_embed.proj.weight") & 0xFFFF)]),
    })]
