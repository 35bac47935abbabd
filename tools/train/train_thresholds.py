"""Budget-aware training of the adaptive-pruning thresholds (tools/train/adaptive.py) for the default scenes ViT.

    nice -n 10 /usr/bin/python3 tools/train/train_thresholds.py [--budgets 0.7,0.5,0.35] [--steps 150] [--minutes 18]

The backbone (weights/vit-scenes) stays frozen; only the thresholds (one per pruning block) are trained, with soft
masks, on fresh train-split scenes (the stream of train.py: scene indices step * batch ..., seeded flips), from
scene OFFSET on (after every scene the backbone's own training used). Loss, per batch:
    cross-entropy(labels) + KL(unpruned model's softmax || pruned softmax) + LAMBDA * (mean MAC ratio - budget)^2
where the MAC ratio is the blocks' MACs with the soft mask's expected token counts over the unpruned blocks' MACs,
averaged over the batch (a budget for the mean: each image keeps as many tokens as its scores pass).
After training, each budget's thresholds are checked with hard masks on VALIDATION train-split scenes that training
never saw; the results go into the thresholds file (weights/vit-scenes/adaptive-thresholds.json).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adaptive  # noqa: E402
import models  # noqa: E402
import scenes  # noqa: E402
from train import read_safetensors, to_input, train_batch  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OFFSET_STEPS = 20000  # train-split scene stream, in units of 32 scenes: beyond the 243200 scenes train.py used
LAMBDA = 20.0
TAU_START, TAU_END = 0.5, 0.1


def load_default_vit(folder: str):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)["model"]
    vit = models.VisionTransformer(cfg["imageSize"], cfg["patchSize"], cfg["embedDim"], cfg["depth"], cfg["numHeads"],
                                   int(cfg["mlpRatio"]), cfg["numClasses"], cfg["layerNormEps"])
    vit.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    return vit.eval()


@torch.no_grad()
def validate(model, data, first_step: int, batches: int, batch: int):
    """Hard masks on train-split scenes of steps first_step ..: accuracy, MAC ratio (mean, min, max), kept tokens."""
    correct, ratios, kept = 0, [], []
    full = adaptive.full_block_macs(model.vit)
    for s in range(first_step, first_step + batches):
        x, y = train_batch(data, s, batch, seed=0)
        logits, macs, k, _ = model(x, mode="hard")
        correct += int((logits.argmax(-1) == y).sum())
        ratios.append(macs / full)
        kept.append(k)
    ratios, kept = torch.cat(ratios), torch.cat(kept)
    return {
        "scenes": batches * batch,
        "accuracy": correct / (batches * batch),
        "blockMacRatio": {"mean": ratios.mean().item(), "min": ratios.min().item(), "max": ratios.max().item()},
        "meanTokensAfterStage": kept.mean(0).tolist(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=os.path.join(ROOT, "weights", "vit-scenes"))
    p.add_argument("--out", default=None, help="thresholds file (default: <weights>/adaptive-thresholds.json)")
    p.add_argument("--budgets", default="0.7,0.5,0.35", help="target mean fraction of the blocks' MACs")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--val-batches", type=int, default=16)
    p.add_argument("--minutes", type=float, default=18.0, help="hard wall-time cap for all budgets together")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    t0 = time.time()
    data = scenes.load_items("train")
    vit = load_default_vit(args.weights)
    for param in vit.parameters():
        param.requires_grad_(False)
    depth = len(vit.blocks)
    blocks = adaptive.pruning_blocks(depth)
    full = adaptive.full_block_macs(vit)
    budgets = [float(b) for b in args.budgets.split(",")]
    per_budget = args.minutes * 60 / len(budgets)
    results = []
    for budget in budgets:
        model = adaptive.AdaptiveSparse(vit, blocks)
        opt = torch.optim.Adam([model.log_units], lr=args.lr)
        start = time.time()
        done = 0  # steps run
        for step in range(args.steps):
            if time.time() - start > per_budget:
                print(f"budget {budget}: STOPPED EARLY at step {step} (time cap)", flush=True)
                break
            done = step + 1
            # soft-mask temperature annealed from TAU_START to TAU_END (log scale), closing in on the hard mask
            model.tau = TAU_START * (TAU_END / TAU_START) ** (step / max(1, args.steps - 1))
            x, y = train_batch(data, OFFSET_STEPS + step, args.batch, args.seed)
            with torch.no_grad():
                teacher = vit(x)
            logits, macs, kept, _ = model(x, mode="soft")
            ratio = (macs / full).mean()
            ce = F.cross_entropy(logits, y)
            kl = F.kl_div(F.log_softmax(logits, -1), F.log_softmax(teacher, -1), log_target=True, reduction="batchmean")
            loss = ce + kl + LAMBDA * (ratio - budget) ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 0 or step == args.steps - 1:
                print(f"budget {budget} step {step}: loss {loss.item():.4f} ce {ce.item():.4f} kl {kl.item():.4f} "
                      f"soft MAC ratio {ratio.item():.3f} kept {[round(v, 1) for v in kept.mean(0).tolist()]} "
                      f"theta*P {[round(v, 4) for v in (model.thresholds() * model.num_patches).tolist()]} ({time.time() - t0:.0f} s)", flush=True)
        val = validate(model, data, OFFSET_STEPS + args.steps + 100, args.val_batches, args.batch)
        print(f"budget {budget}: hard masks on {val['scenes']} validation scenes: {val}", flush=True)
        results.append({
            "budget": budget,
            "thresholds": [float(v) for v in model.thresholds().tolist()],
            "trainSteps": done,  # (the committed file, written before this fix, says one more when stopped early)
            "validation": val,
        })
    out = args.out or os.path.join(args.weights, "adaptive-thresholds.json")
    doc = {
        "format": "papr-ts/adaptive-thresholds/1",
        "method": "adaptive sparse token pruning (AS-ViT, Liu, Wu, Guo, IJCAI 2023): keep a patch token while its "
                  "head-importance-weighted class attention >= the block's threshold",
        "headWeighting": "outputNorm",
        "blocks": blocks,
        "budgetMeaning": "target mean fraction of the unpruned blocks' MACs on training scenes",
        "training": {
            "script": "tools/train/train_thresholds.py", "backbone": "frozen", "steps": args.steps,
            "batch": args.batch, "lr": args.lr, "lambda": LAMBDA, "seed": args.seed,
            "scenes": f"train split, stream steps {OFFSET_STEPS}.. of batch {args.batch}",
            "softMask": f"sigmoid((log s - log theta) / tau), tau annealed {TAU_START} -> {TAU_END}", "seconds": round(time.time() - t0),
        },
        "budgets": results,
    }
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out} ({time.time() - t0:.0f} s in all)", flush=True)


if __name__ == "__main__":
    main()
