"""A quick PyTorch-side PaPr check of trained checkpoints, for choosing among them before the (long) `npm run eval`.

    python3 tools/train/papr_check.py [--vit vit.ckpt.pt] [--proposer proposer.ckpt.pt] [--scenes 2000]

Top-1 on test-split scenes 0..N-1 of the ViT unpruned (z = 1), with PaPr at z = 0.5 and 0.3 (the proposer's channel
mean, bicubic to 14x14, stable descending ranking, k = floor(197 z): tools/golden/gen_papr.py's reference) and with
random patches at z = 0.5 and 0.3 (one seed). About 20 s for 2000 scenes with OpenBLAS. The numbers of record are
`npm run eval`'s (TypeScript engine, 3 random seeds); this script agrees with it on the same scenes.
"""
import argparse
import json
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import models  # noqa: E402
import scenes  # noqa: E402
from gen_papr import keep_count, patch_significance, proposal_map  # noqa: E402
from train import to_input  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(scenes.ROOT, "train-out"))
    p.add_argument("--vit", default="vit.ckpt.pt")
    p.add_argument("--proposer", default="proposer.ckpt.pt")
    p.add_argument("--scenes", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    proposer = torchvision.models.mobilenet_v3_small(num_classes=10).eval()
    proposer.load_state_dict(torch.load(os.path.join(args.out, args.proposer))["model"])
    with open(os.path.join(args.out, "vit.json")) as f:
        vit = models.make_vit(json.load(f)).eval()
    vit.load_state_dict(torch.load(os.path.join(args.out, args.vit))["model"])

    data = scenes.load_items("test")
    settings = [("z=1", None, 1.0), ("PaPr z=0.5", "papr", 0.5), ("PaPr z=0.3", "papr", 0.3),
                ("random z=0.5", "random", 0.5), ("random z=0.3", "random", 0.3)]
    correct = [0] * len(settings)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for start in range(0, args.scenes, 50):
            images, labels, _ = scenes.make_batch(*data, "test", start, min(50, args.scenes - start))
            x, y = to_input(images), torch.from_numpy(labels)
            features = proposer.features(x)  # [B, 576, 7, 7]
            significance = torch.cat([patch_significance(proposal_map(features[i:i + 1]), 14).reshape(1, -1)
                                      for i in range(len(x))])  # [B, 196]
            ranking = torch.sort(significance, dim=1, descending=True, stable=True).indices
            for s, (_, method, z) in enumerate(settings):
                k = keep_count(z, 196, 1)
                if method is None:
                    logits = vit(x)
                elif method == "papr":
                    logits = vit(x, ranking[:, :k])
                else:
                    logits = vit(x, torch.rand(len(x), 196, generator=generator).argsort(dim=1)[:, :k])
                correct[s] += int((logits.argmax(-1) == y).sum())
    print(f"{args.vit} + {args.proposer}, test scenes 0..{args.scenes - 1}: "
          + ", ".join(f"{name} {100 * c / args.scenes:.1f}%" for (name, _, _), c in zip(settings, correct)))


if __name__ == "__main__":
    main()
