"""Trains the proposer (MobileNetV3-small) and the DeiT-style ViT on the Fashion-MNIST scenes task, one after
the other, on CPU. See tools/train/README.md for the command, budget and outputs.

Every train batch is generated fresh from the seeded scene generator (train split, scene indices
step * batch .. step * batch + batch - 1), flipped left-right by a generator seeded with (seed, step), so a run
is reproducible and a resumed run sees the same data. Held-out accuracy: test-split scenes 0..1999.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import scenes  # noqa: E402

MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]
EVAL_SCENES = 2000


class Log:
    def __init__(self, path: str):
        self.path = path

    def __call__(self, text: str) -> None:
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + text
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def save_safetensors(path: str, tensors: dict, metadata: dict | None = None) -> None:
    """float32 safetensors (names sorted, header padded to 8 bytes), written atomically."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype("<f4"))
        blob = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text.encode())) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text.encode())))
        f.write(text.encode())
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


def read_safetensors(path: str) -> dict:
    """float32 safetensors -> {name: tensor} (the project's weights files; header checked against the file size)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    if 8 + length > len(raw):
        raise ValueError(f"{path}: header length {length} runs past the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + length])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", offset=8 + length + a,
                                                   count=(b - a) // 4).copy()).reshape(info["shape"])
    return out


def float_state(model: torch.nn.Module) -> dict:
    """Parameters and buffers to export: everything but BatchNorm's num_batches_tracked counters."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [B, 224, 224, 3] -> float32 [B, 3, 224, 224] normalised with MEAN, STD."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def train_batch(data, step: int, batch: int, seed: int):
    """Batch `step` of the training stream: train-split scenes step*batch .. step*batch+batch-1, half flipped."""
    images, labels, _ = scenes.make_batch(*data, "train", step * batch, batch)
    x = to_input(images)
    flip = torch.rand(batch, generator=torch.Generator().manual_seed(seed * 1_000_003 + step)) < 0.5
    x[flip] = x[flip].flip(-1)
    return x, torch.from_numpy(labels)


class TrainBatches(torch.utils.data.Dataset):
    """Batch `step` of the training stream, built in a DataLoader worker process so that scene generation
    (numpy, ~5 ms a scene) overlaps the model's step. Same batches as calling train_batch(step) in order."""

    def __init__(self, data, start: int, steps: int, batch: int, seed: int):
        self.data, self.start, self.steps, self.batch, self.seed = data, start, steps, batch, seed

    def __len__(self) -> int:
        return self.steps - self.start

    def __getitem__(self, i: int):
        torch.set_num_threads(1)
        return train_batch(self.data, self.start + i, self.batch, self.seed)


def train_stream(data, start: int, steps: int, batch: int, seed: int, workers: int):
    if workers == 0:
        return (train_batch(data, step, batch, seed) for step in range(start, steps))
    return iter(torch.utils.data.DataLoader(TrainBatches(data, start, steps, batch, seed), batch_size=None,
                                            shuffle=False, num_workers=workers, prefetch_factor=4))


@torch.no_grad()
def evaluate(model, data, count: int, batch: int = 50, half: bool = False):
    """Top-1 accuracy and per-class accuracy on test-split scenes 0..count-1 (at 112 px if `half`)."""
    model.eval()
    correct = torch.zeros(10)
    total = torch.zeros(10)
    for start in range(0, count, batch):
        images, labels, _ = scenes.make_batch(*data, "test", start, min(batch, count - start))
        x = to_input(images)
        pred = model(F.avg_pool2d(x, 2) if half else x).argmax(-1)
        y = torch.from_numpy(labels)
        total += torch.bincount(y, minlength=10).float()
        correct += torch.bincount(y[pred == y], minlength=10).float()
    model.train()
    return float(correct.sum() / total.sum()), (correct / total.clamp(min=1)).tolist()


@torch.no_grad()
def recalibrate_batchnorm(model, data, first_scene: int, batches: int, batch: int) -> None:
    """Replaces BatchNorm running stats by their plain average over `batches` fresh train batches.

    The weights move fast in a short run, so running averages (torchvision's MobileNetV3 uses momentum 0.01)
    lag behind them and eval mode scores at chance; exact stats of the final weights fix that."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    for b in range(batches):
        images, _, _ = scenes.make_batch(*data, "train", first_scene + b * batch, batch)
        model(to_input(images))
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum


def patch_keep(step: int, batch: int, patches: int, hp: dict, seed: int) -> torch.Tensor | None:
    """Patch dropout for the fine-tune stage: a random keep rate for the batch (uniform in hp["patch_keep"], or all
    patches with probability hp["full_batches"]), then a random subset of that size per scene: [B, K] indices."""
    g = torch.Generator().manual_seed(seed * 7_000_003 + step)
    if torch.rand(1, generator=g).item() < hp["full_batches"]:
        return None
    low, high = hp["patch_keep"]
    rate = low + (high - low) * torch.rand(1, generator=g).item()
    kept = max(1, round(rate * patches))
    return torch.rand(batch, patches, generator=g).argsort(dim=1)[:, :kept]


def lr_at(step: int, steps: int, warmup: int, peak: float, floor: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


def run(name: str, model, cfg: dict, hp: dict, args, train_data, test_data, log: Log) -> None:
    out = args.out
    ckpt_path = os.path.join(out, f"{name}.ckpt.pt")
    def decays(n: str, p) -> bool:  # no weight decay on norms, biases, positions and prefix tokens
        return p.ndim > 1 and not any(k in n for k in ("pos_embed", "cls_token", "dist_token"))

    decay = [p for n, p in model.named_parameters() if decays(n, p)]
    no_decay = [p for n, p in model.named_parameters() if not decays(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=hp["lr"])
    start = 0
    if hp.get("init_from"):  # fine-tune stage: starts from an earlier stage's final weights
        init_path = os.path.join(out, hp["init_from"])
        if not os.path.exists(init_path):
            raise FileNotFoundError(f"train.py: {name} starts from {init_path}, which is missing: train that stage first")
        model.load_state_dict(torch.load(init_path)["model"])
        log(f"{name}: initialised from {hp['init_from']}")
    if args.resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        start = ckpt["step"]
        log(f"{name}: resumed at step {start}")
    teacher = load_teacher(out, hp["teacher"], log, args.teacher_weights, test_data) if hp.get("teacher") else None
    steps, batch = hp["steps"], hp["batch"]
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = hp.get("bn_momentum", m.momentum)
    log(f"{name}: {sum(p.numel() for p in model.parameters())} params, {steps} steps x {batch} scenes, hp {hp}")

    def save(step: int, final: bool) -> None:
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt_path)
        meta = {"step": step, "final": final}
        save_safetensors(os.path.join(out, f"{name}.safetensors"), float_state(model), meta)
        cfg["training"] = {k: v for k, v in hp.items() if k != "max_minutes"}
        cfg["trained_steps"] = step
        cfg["trained_scenes"] = step * batch
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(cfg, f, indent=2)

    model.train()
    t0 = time.time()
    ema_loss, step = None, start
    offset = hp.get("data_offset", 0)  # a later stage trains on scenes after those of the earlier ones
    stream = train_stream(train_data, offset + start, offset + steps, batch, args.seed, args.data_workers)
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, hp["warmup"], hp["lr"], hp["lr"] * 0.01)
        x, y = next(stream)
        if teacher is not None:  # the teacher's hard label, from the scene at full resolution
            with torch.no_grad():
                y_teacher = teacher(x).argmax(dim=1)
        half = step < hp.get("low_res_steps", 0)
        if half:  # warm-up phase: the scene at 112 px (2x2 means), 49 patches
            x = F.avg_pool2d(x, 2)
        keep = patch_keep(step, batch, (x.shape[-1] // 16) ** 2, hp, args.seed) if "patch_keep" in hp else None
        logits = model(x, keep) if keep is not None else model(x)
        if teacher is not None:
            # DeiT's hard distillation: the class head learns the true label, the distillation head the teacher's
            logits, logits_dist = logits
            loss = 0.5 * F.cross_entropy(logits, y, label_smoothing=hp["label_smoothing"]) + 0.5 * F.cross_entropy(
                logits_dist, y_teacher)
        else:
            loss = F.cross_entropy(logits, y, label_smoothing=hp["label_smoothing"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["clip"])
        opt.step()
        ema_loss = loss.item() if ema_loss is None else 0.95 * ema_loss + 0.05 * loss.item()
        done = step + 1
        elapsed = time.time() - t0
        rate = (done - start) * batch / elapsed
        if done % args.log_every == 0 or done == steps:
            eta = (steps - done) * batch / rate
            log(f"{name}: step {done}/{steps} loss {ema_loss:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{rate:.1f} img/s elapsed {elapsed / 60:.1f} min ETA {eta / 60:.1f} min")
        if done % hp["ckpt_every"] == 0 and done < steps:
            acc, _ = evaluate(model, test_data, args.quick_eval, half=half)
            save(done, False)
            log(f"{name}: checkpoint at step {done}, accuracy on test scenes 0..{args.quick_eval - 1}"
                f"{' at 112 px' if half else ''}: {acc:.4f}")
        if elapsed > hp["max_minutes"] * 60 and done < steps:
            log(f"{name}: STOPPED EARLY at step {done}/{steps}: over the {hp['max_minutes']} min cap")
            break
    step = step + 1 if steps > start else start
    log(f"{name}: training took {(time.time() - t0) / 60:.1f} min")
    if hp.get("bn_recalibrate"):
        # fresh scenes after the ones trained on
        recalibrate_batchnorm(model, train_data, steps * batch, hp["bn_recalibrate"], batch)
        log(f"{name}: BatchNorm stats recomputed over {hp['bn_recalibrate'] * batch} fresh train scenes")
    eval_scenes = args.eval_scenes
    acc, per_class = evaluate(model, test_data, eval_scenes)
    cfg["test_accuracy"] = acc
    cfg["test_accuracy_per_class"] = per_class
    cfg["test_scenes"] = f"test split, scenes 0..{eval_scenes - 1}"
    save(step, True)
    log(f"{name}: held-out accuracy on {eval_scenes} test-split scenes: {acc:.4f}; per class "
        + " ".join(f"{a:.2f}" for a in per_class))


def load_teacher(out: str, name: str, log: Log, weights: str | None = None, test_data=None):
    """The distillation teacher, frozen, in eval mode: a model trained earlier in this run (train-out/<name>.ckpt.pt
    and .json, e.g. the proposer), or with --teacher-weights a torchvision-named safetensors of the proposer (the
    shipped one: tools/train/teacher_weights.ts writes it), whose held-out accuracy is then measured first."""
    if weights:
        cfg = {"arch": "mobilenet_v3_small", "num_classes": 10, "width_mult": 1.0}
        teacher = models.make_proposer(cfg)
        teacher.load_state_dict(read_safetensors(weights))
        teacher.eval()
        acc, _ = evaluate(teacher, test_data, EVAL_SCENES)
        cfg["test_accuracy"] = acc
        name = weights
    else:
        ckpt_path, cfg_path = os.path.join(out, f"{name}.ckpt.pt"), os.path.join(out, f"{name}.json")
        if not (os.path.exists(ckpt_path) and os.path.exists(cfg_path)):
            raise FileNotFoundError(f"train.py: the teacher {name} is missing in {out}: train it first (--models {name},...)")
        with open(cfg_path) as f:
            cfg = json.load(f)
        if cfg["arch"] != "mobilenet_v3_small":
            raise ValueError(f"train.py: teacher {name} is a {cfg['arch']}; only the proposer (mobilenet_v3_small) is supported")
        teacher = models.make_proposer(cfg)
        teacher.load_state_dict(torch.load(ckpt_path)["model"])
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    log(f"teacher: {name} ({cfg['arch']}, held-out accuracy {cfg.get('test_accuracy', 'not measured')})")
    return teacher


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(scenes.ROOT, "train-out"))
    p.add_argument("--models", default="proposer,vit", help="comma list, trained in this order (vit-patchdrop, deit-distilled, convnext: optional, see README)")
    p.add_argument("--proposer-steps", type=int, default=1500)
    p.add_argument("--vit-steps", type=int, default=7600)
    p.add_argument("--vit-low-res-steps", type=int, default=6900, help="first steps at 112 px (49 patches)")
    p.add_argument("--patchdrop-steps", type=int, default=1400, help="ViT fine-tune with random patch dropout")
    p.add_argument("--patchdrop-minutes", type=float, default=20.0, help="hard wall-time cap")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vit-dim", type=int, default=96)
    p.add_argument("--vit-depth", type=int, default=6)
    p.add_argument("--vit-heads", type=int, default=3)
    p.add_argument("--proposer-minutes", type=float, default=24.0, help="hard wall-time cap")
    p.add_argument("--vit-minutes", type=float, default=50.0, help="hard wall-time cap")
    p.add_argument("--convnext-steps", type=int, default=3000)
    p.add_argument("--convnext-low-res-steps", type=int, default=2600, help="first steps at 112 px")
    p.add_argument("--convnext-depths", default="2,2,4,2")
    p.add_argument("--convnext-dims", default="32,64,128,256")
    p.add_argument("--convnext-ls-init", type=float, default=0.1, help="layer scale (gamma) initial value")
    p.add_argument("--convnext-lr", type=float, default=1e-3)
    p.add_argument("--convnext-minutes", type=float, default=35.0, help="hard wall-time cap")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-every", type=int, default=100, help="proposer; the ViT checkpoints every 5x that")
    p.add_argument("--quick-eval", type=int, default=200, help="test scenes scored at each checkpoint")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--teacher-weights", help="deit-distilled's teacher from this torchvision-named safetensors (the "
                   "shipped proposer: tools/train/teacher_weights.ts) instead of train-out/proposer.ckpt.pt")
    p.add_argument("--eval-scenes", type=int, default=EVAL_SCENES, help="held-out test scenes scored at the end")
    p.add_argument("--data-workers", type=int, default=1, help="processes generating training scenes (0: inline)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    log(f"train.py {' '.join(sys.argv[1:])}; torch {torch.__version__}, threads {torch.get_num_threads()}")
    train_data = scenes.load_items("train")
    test_data = scenes.load_items("test")
    common = {"img_size": scenes.SIZE, "in_chans": 3, "num_classes": 10, "mean": MEAN, "std": STD,
              "labels": scenes.LABELS, "task": "fashion-mnist scenes v1 (tools/train/scenes.py)", "seed": args.seed}

    for name in args.models.split(","):
        torch.manual_seed(args.seed)
        if name == "proposer":
            cfg = {"arch": "mobilenet_v3_small", "names": "torchvision", "width_mult": 1.0, **common}
            model = models.make_proposer(cfg)
            hp = {"steps": args.proposer_steps, "batch": args.batch, "lr": 2e-3, "warmup": 30, "weight_decay": 0.01,
                  "label_smoothing": 0.1, "clip": 2.0, "max_minutes": args.proposer_minutes,
                  "bn_momentum": 0.1, "bn_recalibrate": 50, "ckpt_every": args.ckpt_every}
        elif name == "vit":
            cfg = {"arch": "vit", "names": "timm", "patch_size": 16, "embed_dim": args.vit_dim,
                   "depth": args.vit_depth, "num_heads": args.vit_heads, "mlp_ratio": 4, "qkv_bias": True,
                   "class_token": True, "num_prefix_tokens": 1, "global_pool": "token", "layer_norm_eps": 1e-6,
                   "act": "gelu (erf)", **common}
            model = models.make_vit(cfg)
            hp = {"steps": args.vit_steps, "batch": args.batch, "lr": 5e-4, "warmup": 100, "weight_decay": 0.05,
                  "label_smoothing": 0.1, "clip": 1.0, "max_minutes": args.vit_minutes,
                  "low_res_steps": args.vit_low_res_steps, "ckpt_every": 5 * args.ckpt_every}
        elif name == "deit-distilled":
            # DeiT-style: class + distillation token, hard distillation from the proposer (trained before it in this
            # run, the ConvNet teacher); the same FixRes schedule as the ViT (issue: a default that beats its proposer)
            cfg = {"arch": "vit", "names": "timm", "patch_size": 16, "embed_dim": args.vit_dim,
                   "depth": args.vit_depth, "num_heads": args.vit_heads, "mlp_ratio": 4, "qkv_bias": True,
                   "class_token": True, "distilled": True, "num_prefix_tokens": 2, "global_pool": "token",
                   "layer_norm_eps": 1e-6, "act": "gelu (erf)", "teacher": "proposer", **common}
            model = models.make_vit(cfg)
            hp = {"steps": args.vit_steps, "batch": args.batch, "lr": 5e-4, "warmup": 100, "weight_decay": 0.05,
                  "label_smoothing": 0.1, "clip": 1.0, "max_minutes": args.vit_minutes,
                  "low_res_steps": args.vit_low_res_steps, "ckpt_every": 5 * args.ckpt_every, "teacher": "proposer"}
        elif name == "vit-patchdrop":
            # Optional: the ViT above, fine-tuned at 224 px with random patch dropout (PatchDropout, Liu et al. 2022).
            # Measured and left out of the defaults (tools/train/README.md says why).
            with open(os.path.join(args.out, "vit.json")) as f:
                cfg = json.load(f)
            cfg.pop("test_accuracy", None)
            cfg.pop("test_accuracy_per_class", None)
            cfg["pretraining"] = {k: cfg.pop(k) for k in ("training", "trained_steps", "trained_scenes") if k in cfg}
            model = models.make_vit(cfg)
            hp = {"steps": args.patchdrop_steps, "batch": args.batch, "lr": 1.5e-4, "warmup": 50,
                  "weight_decay": 0.05, "label_smoothing": 0.1, "clip": 1.0, "max_minutes": args.patchdrop_minutes,
                  "ckpt_every": 5 * args.ckpt_every, "init_from": "vit.ckpt.pt", "data_offset": args.vit_steps,
                  "patch_keep": [0.2, 1.0], "full_batches": 0.25}
        elif name == "convnext":
            # The hierarchical backbone (PAPR-SPEC.md section 5): a small timm-named ConvNeXt, FixRes-style like the
            # ViT (its first --convnext-low-res-steps at 112 px, the rest at 224 px; fully convolutional + pooled).
            cfg = {"arch": "convnext", "names": "timm", "depths": [int(d) for d in args.convnext_depths.split(",")],
                   "dims": [int(d) for d in args.convnext_dims.split(",")], "mlp_ratio": 4, "kernel_size": 7,
                   "ls_init": args.convnext_ls_init, "layer_norm_eps": 1e-6, "act": "gelu (erf)", **common}
            model = models.make_convnext(cfg)
            hp = {"steps": args.convnext_steps, "batch": args.batch, "lr": args.convnext_lr, "warmup": 100,
                  "weight_decay": 0.05, "label_smoothing": 0.1, "clip": 1.0, "max_minutes": args.convnext_minutes,
                  "low_res_steps": args.convnext_low_res_steps, "ckpt_every": 5 * args.ckpt_every}
        else:
            raise ValueError(f"train.py: unknown model {name!r} "
                             "(expected proposer, vit, deit-distilled, vit-patchdrop or convnext)")
        run(name, model, cfg, hp, args, train_data, test_data, log)
    log("all done")


if __name__ == "__main__":
    main()
