"""Goldens for src/papr/adaptive_pruning.ts (adaptive sparse token pruning with learned thresholds), from the PyTorch
implementation the thresholds are trained with (tools/train/adaptive.py).

Fixtures (per case <c>: logits_<c> [classes]; tokens_<c> [depth] (tokens leaving each block); rows_<c>_<k> (embedding
rows of the tokens after pruning stage k, in token order); scores_<c>_<k> (the stage's scores); metadata: blocks,
thresholds_<c> (comma list, softmax scale), margin_<c> (smallest |s_j - theta| at a stage, in units of 1/m)):
  adaptive_synthetic   models.VisionTransformer shaped like the default ViT (dim 96, 6 blocks, 3 heads, 10 classes)
                       with seeded synthetic weights, input rand("adaptive.input"); hand-set thresholds at blocks
                       1, 3, 4: case "alone" (all patches) and "papr" (98 patches chosen by a seeded significance,
                       stored as `kept`, then the same thresholds)
  adaptive_scenes      the default ViT (weights/vit-scenes) with the trained thresholds of
                       weights/vit-scenes/adaptive-thresholds.json, every budget, on held-out scenes 0 and 1
                       (case "b<budget>_s<scene>"); weights' and thresholds' SHA-256 in the metadata
Every case is checked three ways before it is written: real dropping (hard_drop_forward) and the training model's
hard mask (AdaptiveSparse, mode "hard") give the same kept counts and logits within 1e-5; a float64 rerun keeps the
same tokens; and no score lies within MIN_MARGIN (in units of 1/m) of a threshold, so float rounding cannot flip a
decision on the TypeScript side (see tome_ref.py for the 2e-5 figure).
"""
import copy
import hashlib
import json
import os
import sys

import torch

from common import ROOT, load_synthetic, rand, save_fixture

sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import adaptive  # noqa: E402
import models  # noqa: E402
import scenes  # noqa: E402
from train_thresholds import load_default_vit  # noqa: E402

MIN_MARGIN = 2e-5
WEIGHTS = os.path.join(ROOT, "weights", "vit-scenes")
THRESHOLDS = os.path.join(WEIGHTS, "adaptive-thresholds.json")
SYNTHETIC_UNITS = [1.0, 1.1, 1.2]  # hand-set thresholds, in units of the mean score 1/196
SCENES = [0, 1]


def run_case(vit, tokens, rows, blocks, theta, name):
    """Reference run of one case, checked (see the module doc); returns the fixture tensors and the margin."""
    logits, records, kept_rows, scores, margin = adaptive.hard_drop_forward(vit, tokens, blocks, theta)
    if margin < MIN_MARGIN:
        raise SystemExit(f"gen_adaptive {name}: a score lies {margin:.2e} (units of 1/m) from its threshold")
    vit64 = _double(vit)
    logits64, records64, kept64, _, _ = adaptive.hard_drop_forward(vit64, tokens.double(), blocks,
                                                                    [float(t) for t in theta])
    if records64 != records or any(not torch.equal(a, b) for a, b in zip(kept64, kept_rows)):
        raise SystemExit(f"gen_adaptive {name}: float64 keeps other tokens")
    # the training model with hard masks (tokens masked, not removed) must compute the same thing
    model = adaptive.AdaptiveSparse(vit, blocks)
    with torch.no_grad():
        model.log_units.copy_(torch.tensor([float(t) * model.num_patches for t in theta]).log())
        masked_logits, _, kept_counts, _ = model(None, mode="hard", tokens=tokens)
    counts = [len(r) for r in kept_rows]
    if kept_counts[0].tolist() != [float(c) for c in counts]:
        raise SystemExit(f"gen_adaptive {name}: masked model keeps {kept_counts[0].tolist()}, dropping keeps {counts}")
    err = (masked_logits[0] - logits).abs().max() / logits.abs().max()
    if err > 1e-5:
        raise SystemExit(f"gen_adaptive {name}: masked model's logits differ from dropping by {err:.2e}")
    out = {"logits": logits, "tokens": torch.tensor([float(n_out) for _, n_out in records])}
    for k, (r, s) in enumerate(zip(kept_rows, scores)):
        out[f"rows_{k}"] = rows[r].float()  # embedding rows of the kept tokens, in token order
        out[f"scores_{k}"] = s
    return out, margin


def _double(vit):
    return copy.deepcopy(vit).double()


def add_case(fixture, meta, case, result, theta, margin):
    tensors, _ = result
    for key, value in tensors.items():
        head, _, tail = key.partition("_")
        fixture[f"{head}_{case}" + (f"_{tail}" if tail else "")] = value
    meta[f"thresholds_{case}"] = ",".join(repr(float(t)) for t in theta)
    meta[f"margin_{case}"] = f"{margin:.3e}"


def synthetic():
    vit = models.VisionTransformer(224, 16, 96, 6, 3, 4, 10).eval()
    load_synthetic(vit)
    blocks = adaptive.pruning_blocks(6)
    theta = [u / 196 for u in SYNTHETIC_UNITS]
    x = rand("adaptive.input", [1, 3, 224, 224])
    significance = rand("adaptive.significance", [196])
    kept = torch.sort(significance, descending=True, stable=True).indices[:98]
    fixture, meta = {"kept": kept.float()}, {"blocks": ",".join(map(str, blocks)), "cases": "alone,papr"}
    with torch.no_grad():
        tokens = model_embed(vit, x)
        all_rows = torch.arange(197)
        result = run_case(vit, tokens, all_rows, blocks, theta, "synthetic alone")
        add_case(fixture, meta, "alone", result, theta, result[1])
        rows = torch.cat([torch.tensor([0]), 1 + kept])
        result = run_case(vit, tokens[:, rows], rows, blocks, theta, "synthetic papr")
        add_case(fixture, meta, "papr", result, theta, result[1])
    return save_fixture("adaptive_synthetic", fixture, meta)


def model_embed(vit, x):
    t = vit.patch_embed(x)
    return torch.cat([vit.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + vit.pos_embed


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def trained():
    vit = load_default_vit(WEIGHTS)
    with open(THRESHOLDS) as f:
        doc = json.load(f)
    blocks = doc["blocks"]
    items, labels = scenes.load_items("test")
    images, ys, _ = scenes.make_batch(items, labels, "test", 0, max(SCENES) + 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0).sub(0.5).div(0.5)
    cases = []
    fixture = {"labels": torch.from_numpy(ys[SCENES]).float()}
    meta = {"blocks": ",".join(map(str, blocks)), "weights_sha256": sha256(os.path.join(WEIGHTS, "model.safetensors")),
            "thresholds_sha256": sha256(THRESHOLDS), "scenes": ",".join(map(str, SCENES))}
    with torch.no_grad():
        for entry in doc["budgets"]:
            theta = entry["thresholds"]
            for s in SCENES:
                case = f"b{entry['budget']}_s{s}"
                tokens = model_embed(vit, x[s:s + 1])
                result = run_case(vit, tokens, torch.arange(tokens.shape[1]), blocks, theta, case)
                add_case(fixture, meta, case, result, theta, result[1])
                cases.append(case)
    meta["cases"] = ",".join(cases)
    return save_fixture("adaptive_scenes", fixture, meta)


def main():
    return [synthetic(), trained()]
