"""Goldens for src/quant (power-of-two post-training quantization, docs/quantization.md), written from
the RAPQ paper (Yao et al., IJCAI 2022) in this project's form: a plain PyTorch/float64 reference of
every step, on MobileNetV1-0.25 (gen_tfjs_models.MobileNetV1, shared synthetic weights, He gain) at
32x32 with four seeded calibration images and one probe image.

Per bit width (W8A8, W4A8, W4A4, W2A4) and power-of-two method (pow2-minmax, pow2-mse, pow2-adjusted,
rapq), the fixture holds: the final exponents (weights per output channel, activations per tensor),
the integer biases, the sum of |integer weights| per conv, and the probe's last-unit integers and
logits from the integer execution (int8 image, shifts for requantization, round half up), all exact.

Conventions (the same as src/quant): 8-bit signed image, 8-bit first-conv and classifier weights,
unsigned activations after ReLU6; q = clamp(floor(v / s + 1/2)); a conv's bias on the grid of its sum;
a channel's weight scale raised until its bias fits 2^22 units; global average pool rounded half up.
Float steps (the calibration pass, folding) are computed in float64 and stored in float32 per layer,
as the TS js backend does; integer steps in float64 on integer values (exact).
"""
import math

import torch
import torch.nn.functional as F

from common import load_synthetic, rand, save_fixture
from gen_tfjs_models import MobileNetV1, pad_same
from he_gain import apply_he_gain

SIZE = 32
MIN_E = -40
BIAS_LIMIT = 2.0 ** 22
LAMBDA = 1.0
BITS = ["w8a8", "w4a8", "w4a4", "w2a4"]
METHODS = ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"]


def signed(bits):
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def unsigned(bits):
    return 0, 2 ** bits - 1


def grid(v64, scale, lo, hi):
    return torch.clamp(torch.floor(v64 / scale + 0.5), lo, hi)


def ceil_exp(m, hi):
    return MIN_E if not m > 0 else max(MIN_E, math.ceil(math.log2(m / hi)))


def sse(v64, scale, lo, hi):
    return float(((grid(v64, scale, lo, hi) * scale - v64) ** 2).sum())


def mse_exp(v64, lo, hi, span=4):
    top = ceil_exp(float(v64.abs().max()), hi)
    best, best_err = top, sse(v64, 2.0 ** top, lo, hi)
    for e in range(top - 1, max(MIN_E, top - span) - 1, -1):
        err = sse(v64, 2.0 ** e, lo, hi)
        if err < best_err:
            best, best_err = e, err
    return best


def fold(model):
    """Conv + BN folded as src/tensor/norm.ts foldBatchNorm (scale and shift in float64)."""
    units = []
    for conv_name, bn_name in model.order:
        conv, bn = getattr(model, conv_name), getattr(model, bn_name)
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        shift = bn.bias.double() - bn.running_mean.double() * scale
        units.append(dict(name=conv_name, w=(conv.weight.double() * scale.view(-1, 1, 1, 1)).float(),
                          b=shift.float(), stride=conv.stride[0], groups=conv.groups,
                          bn_mean=bn.bias.detach().float().clone(), bn_std=bn.weight.detach().float().abs()))
    return units


def conv64(x, w, b, stride, groups):
    return F.conv2d(pad_same(x, w.shape[2], stride), w, b, stride, 0, 1, groups)


def calibrate(units, head_w, head_b, images):
    L = len(units)
    stats = dict(input_max=max(float(x.abs().max()) for x in images), output_max=[0.0] * L,
                 samples=[[] for _ in range(L)], sums=[0] * L, squares=[0] * L, count=[0] * L, logits=[])
    for x in images:
        y = x
        for l, u in enumerate(units):
            pre = conv64(y.double(), u["w"].double(), u["b"].double(), u["stride"], u["groups"]).float()
            stats["sums"][l] = stats["sums"][l] + pre.double().sum((0, 2, 3))
            stats["squares"][l] = stats["squares"][l] + (pre.double() ** 2).sum((0, 2, 3))
            stats["count"][l] += pre.shape[2] * pre.shape[3]
            y = torch.clamp(pre, 0, 6)
            stats["output_max"][l] = max(stats["output_max"][l], float(y.max()))
            stats["samples"][l].append(y.flatten())
        pooled = y.double().mean((2, 3)).float()
        stats["logits"].append((pooled.double() @ head_w.double().T + head_b.double()).float()[0])
    stats["mean"] = [s / n for s, n in zip(stats["sums"], stats["count"])]
    stats["std"] = [torch.sqrt(torch.clamp(q / n - m ** 2, min=0)) for q, n, m in
                    zip(stats["squares"], stats["count"], stats["mean"])]
    stats["samples"] = [torch.cat(s).double() for s in stats["samples"]]
    for s in stats["samples"]:
        assert s.numel() <= 65536, "TS samples every value below 2^16 values; keep SIZE small"
    return stats


def layerwise_plan(units, head_w, stats, wb, ab, rule):
    act_hi = unsigned(ab)[1]

    def rule_scale(v64, lo, hi):
        return 2.0 ** (ceil_exp(float(v64.abs().max()), hi) if rule == "pow2-minmax" else mse_exp(v64, lo, hi))

    def channel_scales(w, bits):
        lo, hi = signed(bits)
        return [rule_scale(w[o].double().flatten(), lo, hi) for o in range(w.shape[0])]

    return dict(
        input_scale=2.0 ** ceil_exp(stats["input_max"], 127), wb=wb, ab=ab,
        weight_scales=[channel_scales(u["w"], 8 if l == 0 else wb) for l, u in enumerate(units)],
        output_scales=[2.0 ** ceil_exp(stats["output_max"][l], act_hi) if rule == "pow2-minmax"
                       else rule_scale(stats["samples"][l], 0, act_hi) for l in range(len(units))],
        head_scales=channel_scales(head_w, 8),
        biases=[u["b"].clone() for u in units],
        gains=[torch.ones(u["w"].shape[0], dtype=torch.float32) for u in units])


def copy_plan(p):
    return dict(p, weight_scales=[list(s) for s in p["weight_scales"]], output_scales=list(p["output_scales"]),
                head_scales=list(p["head_scales"]), biases=[b.clone() for b in p["biases"]],
                gains=[g.clone() for g in p["gains"]])


def quantize_channels(w32, b32, scales, lo, hi, in_scale, in_range):
    """Per output channel o: its scale raised to a power of two until the bias fits BIAS_LIMIT grid units,
    the weights on the grid [lo, hi], the bias as an integer on the sum's grid. Returns (wq, bias, scales, fits):
    fits = every channel's largest |sum| stays below 2^24 (exact in float32)."""
    scales = list(scales)
    O = w32.shape[0]
    wq = torch.empty(w32.shape, dtype=torch.float64)
    bias = torch.empty(O, dtype=torch.float64)
    in_max = max(-in_range[0], in_range[1])
    fits = True
    for o in range(O):
        b = float(b32[o])
        needed = abs(b) / (in_scale * BIAS_LIMIT)
        if scales[o] < needed:
            scales[o] = 2.0 ** math.ceil(math.log2(needed))
        wq[o] = grid(w32[o].double(), scales[o], lo, hi)
        bias[o] = math.floor(b / (scales[o] * in_scale) + 0.5)
        fits = fits and float(wq[o].abs().sum()) * in_max + abs(bias[o]) < 2 ** 24
    return wq, bias, scales, fits


def quantize_conv(w32, b32, scales, wbits, in_scale, in_range, out_scale, abits, stride=1, groups=1):
    lo, hi = signed(wbits)
    wq, bias, scales, fits = quantize_channels(w32, b32, scales, lo, hi, in_scale, in_range)
    assert fits
    return dict(wq=wq, bias=bias, scales=scales, in_scale=in_scale, out_scale=out_scale, stride=stride,
                groups=groups, out_max=min(unsigned(abits)[1], math.floor(6 / out_scale + 0.5)))


def plan_unit(units, p, l):
    u = units[l]
    gained = (u["w"].double() * p["gains"][l].double().view(-1, 1, 1, 1)).float()
    in_scale, in_range = (p["input_scale"], signed(8)) if l == 0 else (p["output_scales"][l - 1], unsigned(p["ab"]))
    return quantize_conv(gained, p["biases"][l], p["weight_scales"][l], 8 if l == 0 else p["wb"], in_scale,
                         in_range, p["output_scales"][l], p["ab"], u["stride"], u["groups"])


def plan_head(head_w, head_b, p):
    return quantize_conv(head_w.view(*head_w.shape, 1, 1), head_b, p["head_scales"], 8, p["output_scales"][-1],
                         unsigned(p["ab"]), 1.0, 8)


def unit_sum(qc, x_int):
    return conv64(x_int, qc["wq"], qc["bias"], qc["stride"], qc["groups"])


def run_unit(qc, x_int):
    """conv on integers, then q = clamp(floor(sum 2^-n + 1/2), 0, outputMax), n = e_y - e_w - e_x."""
    s = unit_sum(qc, x_int)
    ex, ey = math.log2(qc["in_scale"]), math.log2(qc["out_scale"])
    n = torch.tensor([ey - math.log2(sw) - ex for sw in qc["scales"]], dtype=torch.float64).view(1, -1, 1, 1)
    return torch.clamp(torch.floor(s * torch.pow(2.0, -n) + 0.5), 0, qc["out_max"])


def run_head(qc, feats_int):
    area = feats_int.shape[2] * feats_int.shape[3]
    pooled = torch.floor((2 * feats_int.sum((2, 3)) + area) / (2 * area))
    sums = pooled @ qc["wq"].view(qc["wq"].shape[0], -1).T + qc["bias"]
    scale = torch.tensor(qc["scales"], dtype=torch.float64) * qc["in_scale"]
    return (sums * scale).float()[0]


def quantize_input(p, x):
    return grid(x.double(), p["input_scale"], -128, 127)


def logits_from(l, inputs, qunits, qhead):
    out = []
    for x in inputs:
        for j in range(l, len(qunits)):
            x = run_unit(qunits[j], x)
        out.append(run_head(qhead, x))
    return out


def logit_loss(q, t):
    return sum(float(((a.double() - b.double()) ** 2).sum()) / a.numel() for a, b in zip(q, t)) / len(q)


def adjust(units, head_w, head_b, start, images, targets):
    """Greedy whole-network exponent adjustment, as src/quant/scale_adjust.ts."""
    p = copy_plan(start)
    L = len(units)
    qunits = [plan_unit(units, p, l) for l in range(L)]
    qhead = plan_head(head_w, head_b, p)
    inputs = [quantize_input(p, x) for x in images]
    loss = logit_loss(logits_from(0, inputs, qunits, qhead), targets)
    for l in range(L):
        for step in (-1, 1):
            for what in ("weights", "output"):
                trial = copy_plan(p)
                if what == "weights":
                    trial["weight_scales"][l] = [s * 2.0 ** step for s in trial["weight_scales"][l]]
                else:
                    trial["output_scales"][l] *= 2.0 ** step
                tu, th = list(qunits), qhead
                tu[l] = plan_unit(units, trial, l)
                if what == "output":
                    if l + 1 < L:
                        tu[l + 1] = plan_unit(units, trial, l + 1)
                    else:
                        th = plan_head(head_w, head_b, trial)
                trial_loss = logit_loss(logits_from(l, inputs, tu, th), targets)
                if trial_loss < loss:
                    loss, p, qunits, qhead = trial_loss, trial, tu, th
        inputs = [run_unit(qunits[l], x) for x in inputs]
    return p


def moments(qc, inputs):
    """Per-channel mean and std of the dequantized sums over inputs and positions."""
    unit = torch.tensor(qc["scales"], dtype=torch.float64).view(1, -1, 1, 1) * qc["in_scale"]
    ys = [unit_sum(qc, x) * unit for x in inputs]
    count = sum(y.shape[2] * y.shape[3] for y in ys)
    mean = sum(y.sum((0, 2, 3)) for y in ys) / count
    sq = sum((y ** 2).sum((0, 2, 3)) for y in ys) / count
    return mean, torch.sqrt(torch.clamp(sq - mean ** 2, min=0))


def bn_reconstruct(units, start, images, stats):
    """BN-based reconstruction, as src/quant/bn_reconstruction.ts (lambda = 1)."""
    p = copy_plan(start)
    inputs = [quantize_input(p, x) for x in images]
    for l, u in enumerate(units):
        mean_q, std_q = moments(plan_unit(units, p, l), inputs)
        t_mean = (stats["mean"][l] + LAMBDA * u["bn_mean"].double()) / (1 + LAMBDA)
        t_std = (stats["std"][l] + LAMBDA * u["bn_std"].double()) / (1 + LAMBDA)
        for c in range(len(mean_q)):
            g = min(2.0, max(0.5, float(t_std[c] / std_q[c]))) if std_q[c] > 0 else 1.0
            p["biases"][l][c] = float(t_mean[c]) - g * (float(mean_q[c]) - float(p["biases"][l][c]))
            p["gains"][l][c] = float(p["gains"][l][c]) * g
        mean_2, _ = moments(plan_unit(units, p, l), inputs)
        for c in range(len(mean_2)):
            p["biases"][l][c] = float(p["biases"][l][c]) + (float(t_mean[c]) - float(mean_2[c]))
        inputs = [run_unit(plan_unit(units, p, l), x) for x in inputs]
    return p


def main():
    torch.set_num_threads(1)
    model = MobileNetV1(0.25)
    model.eval()
    load_synthetic(model)
    apply_he_gain(model)
    with torch.no_grad():
        units = fold(model)
        head_w = model.conv_preds.weight.detach().view(1000, -1).float()
        head_b = model.conv_preds.bias.detach().float()
        images = [rand(f"quant.calibration.{i}", [1, 3, SIZE, SIZE]) for i in range(4)]
        probe = rand("quant.probe", [1, 3, SIZE, SIZE])
        stats = calibrate(units, head_w, head_b, images)
        tensors = {"probe_head": probe.flatten()[:64]}
        for bits in BITS:
            wb, ab = int(bits[1]), int(bits[3])
            plans = {m: layerwise_plan(units, head_w, stats, wb, ab, m) for m in ("pow2-minmax", "pow2-mse")}
            plans["pow2-adjusted"] = adjust(units, head_w, head_b, plans["pow2-mse"], images, stats["logits"])
            plans["rapq"] = bn_reconstruct(units, plans["pow2-adjusted"], images, stats)
            for method in METHODS:
                p = plans[method]
                qunits = [plan_unit(units, p, l) for l in range(len(units))]
                qhead = plan_head(head_w, head_b, p)
                x = quantize_input(p, probe)
                for qc in qunits:
                    x = run_unit(qc, x)
                key = f"{bits}.{method}"
                convs = qunits + [qhead]
                tensors[f"{key}.weight_exponents"] = torch.tensor(
                    [math.log2(s) for qc in convs for s in qc["scales"]])
                tensors[f"{key}.act_exponents"] = torch.tensor(
                    [math.log2(p["input_scale"])] + [math.log2(s) for s in p["output_scales"]])
                tensors[f"{key}.bias"] = torch.cat([qc["bias"] for qc in convs])
                tensors[f"{key}.weight_abs_sums"] = torch.tensor([float(qc["wq"].abs().sum()) for qc in convs])
                tensors[f"{key}.features"] = x.flatten()
                tensors[f"{key}.logits"] = run_head(qhead, x)
    return [save_fixture("quant_mobilenetv1", tensors, metadata={"size": SIZE, "calibration_images": 4})]


if __name__ == "__main__":
    print(main())
