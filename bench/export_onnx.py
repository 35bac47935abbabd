"""Exports the benchmark's peer models to ONNX with Debian's python3-torch (no `onnx` package needed).

  bench/models/deit_{tiny,small}.onnx         image [1,3,224,224] -> logits [1,1000]  (unpruned)
  bench/models/deit_{tiny,small}_pruned.onnx  image, keep (int64 [k] patch indices) -> logits:
                                              embed, keep the prefix token + the k patches, blocks, head
  bench/models/mobilenetv3_{small,large}.onnx image -> last feature map [1, 576|960, 7, 7] (the proposer)

The DeiTs are tools/golden/vit_ref.py's timm-named ViT with the shared seeded weights
(load_synthetic, seed 0): the same values papr-ts builds with syntheticWeights(vitSpec(...)), so the
benchmark also checks that ONNX Runtime and papr-ts agree on the logits. The proposer is
torchvision's MobileNetV3 (same architecture as src/models/mobilenetv3.ts) with seeded weights.
Run: /usr/bin/python3 bench/export_onnx.py   (a few seconds; bench.ts runs it when a file is missing)
"""
import os
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "golden"))
from common import load_synthetic  # noqa: E402
from vit_ref import VisionTransformer, VitConfig  # noqa: E402

OUT = os.path.join(HERE, "models")
OPSET = 14
DEITS = {"tiny": VitConfig(embed_dim=192, num_heads=3), "small": VitConfig(embed_dim=384, num_heads=6)}


class PrunedVit(torch.nn.Module):
    """PaPr's backbone step: embed, gather the prefix token and the kept patches, blocks, head."""

    def __init__(self, vit: VisionTransformer):
        super().__init__()
        self.vit = vit

    def forward(self, x, keep):
        tokens = self.vit.embed(x)  # [1, 1 + patches, D]
        prefix = torch.zeros(1, dtype=torch.int64)
        rows = torch.cat([prefix, keep + 1])
        return self.vit.head_of(self.vit.blocks(tokens[:, rows]))


def export(module, args, path, names, dynamic=None):
    torch.onnx.export(module, args, path, input_names=names, output_names=["out"], opset_version=OPSET,
                      dynamic_axes=dynamic or {})
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1e6:.1f} MB)")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        for size, config in DEITS.items():
            vit = VisionTransformer(config).eval()
            load_synthetic(vit)
            export(vit, (x,), os.path.join(OUT, f"deit_{size}.onnx"), ["image"])
            keep = torch.arange(98, dtype=torch.int64)
            export(PrunedVit(vit).eval(), (x, keep), os.path.join(OUT, f"deit_{size}_pruned.onnx"), ["image", "keep"],
                   {"keep": {0: "k"}})
        for variant in ["small", "large"]:
            builder = getattr(torchvision.models, f"mobilenet_v3_{variant}")
            net = builder().eval()
            load_synthetic(net)
            export(net.features, (x,), os.path.join(OUT, f"mobilenetv3_{variant}.onnx"), ["image"])


if __name__ == "__main__":
    main()
