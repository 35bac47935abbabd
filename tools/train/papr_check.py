"""A quick PyTorch-side PaPr check of trained checkpoints, for choosing among them before the (long) `npm run eval`.

    python3 tools/train/papr_check.py [--vit vit.ckpt.pt] [--proposer proposer.ckpt.pt] [--scenes 2000]
    python3 tools/train/papr_check.py --vit deit-distilled.ckpt.pt --proposer weights/mobilenetv3-scenes

--vit: a checkpoint in --out, its config <name>.json beside it (a distilled ViT keeps both prefix tokens and, unpruned,
also reports its two heads and how often the distillation head agrees with the proposer). --proposer: a checkpoint in
--out, or a papr-ts weights folder (the shipped proposer, timm names).

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
from train import read_safetensors, to_input  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(scenes.ROOT, "train-out"))
    p.add_argument("--vit", default="vit.ckpt.pt")
    p.add_argument("--proposer", default="proposer.ckpt.pt")
    p.add_argument("--scenes", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    if os.path.isdir(args.proposer):
        proposer = models.load_proposer(read_safetensors(os.path.join(args.proposer, "model.safetensors")))
    else:
        proposer = torchvision.models.mobilenet_v3_small(num_classes=10).eval()
        proposer.load_state_dict(torch.load(os.path.join(args.out, args.proposer))["model"])
    with open(os.path.join(args.out, args.vit.replace(".ckpt.pt", ".json"))) as f:
        vit = models.make_vit(json.load(f)).eval()
    vit.load_state_dict(torch.load(os.path.join(args.out, args.vit))["model"])
    prefix = vit.prefix
    heads = [0, 0, 0]  # distilled only: class head, distillation head, distillation head == proposer's argmax

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
            if prefix == 2:
                vit.train()  # (class-head logits, distillation-head logits); no dropout in this model
                class_logits, dist_logits = vit(x)
                vit.eval()
                heads[0] += int((class_logits.argmax(-1) == y).sum())
                heads[1] += int((dist_logits.argmax(-1) == y).sum())
                heads[2] += int((dist_logits.argmax(-1) == proposer(x).argmax(-1)).sum())
            for s, (_, method, z) in enumerate(settings):
                k = keep_count(z, 196, prefix)
                if method is None:
                    logits = vit(x)
                elif method == "papr":
                    logits = vit(x, ranking[:, :k])
                else:
                    logits = vit(x, torch.rand(len(x), 196, generator=generator).argsort(dim=1)[:, :k])
                correct[s] += int((logits.argmax(-1) == y).sum())
    print(f"{args.vit} + {args.proposer}, test scenes 0..{args.scenes - 1}: "
          + ", ".join(f"{name} {100 * c / args.scenes:.1f}%" for (name, _, _), c in zip(settings, correct)))
    if prefix == 2:
        print(f"unpruned heads: class {100 * heads[0] / args.scenes:.2f}%, distillation {100 * heads[1] / args.scenes:.2f}%; "
              f"the distillation head agrees with the proposer on {100 * heads[2] / args.scenes:.1f}%")


if __name__ == "__main__":
    main()
