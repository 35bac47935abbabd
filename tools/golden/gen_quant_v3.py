"""Goldens for the quantized MobileNetV3 graph of src/quant (docs/quantization.md §10): a plain PyTorch /
float64 reference, written from the formulas of that section, on the small MobileNetV3-like net of
test/quant/v3_fixture.ts (stem 3x3/2 + hardswish; ds block with ReLU and SE; ir block with hardswish, SE
and a residual; cn block; conv_head + hardswish; classifier), shared synthetic weights with He gain,
16x16 images, four seeded calibration images and one probe.

Per bit width (W8A8, W4A8, W4A4, W2A4) and layerwise power-of-two method (pow2-minmax, pow2-mse): the
activation exponents (every calibrated grid), the weight exponents, the integer biases, the sum of
|integer weights| per conv, and the probe's last-block integers and logits from the integer execution:
shifts, the hard-sigmoid's fixed-point 1/6 (21846 / 2^17), the pooled mean as a rounded integer
division, the SE's channel product and the residual sum by shifts. All exact.

Float steps (folding, the calibration pass) in float64, stored in float32 per op as the TS js backend does.
"""
import math

import torch
import torch.nn.functional as F

from common import rand, save_fixture, synthetic_parameter
from gen_quant import BIAS_LIMIT, ceil_exp, grid, mse_exp, signed, unsigned

SIZE = 16
BITS = ["w8a8", "w4a8", "w4a4", "w2a4"]
METHODS = ["pow2-minmax", "pow2-mse"]
GAIN = torch.tensor(math.sqrt(2.0), dtype=torch.float32)
M6, M6_SHIFT, HSWISH_BITS = 21846, 17, 15
BN_EPS = 1e-5

# (name, kind, in, mid, out, se, kernel, stride, act, residual), as planBlocks gives for the fixture's table
BLOCKS = [
    ("blocks.0.0", "ds", 8, 8, 8, 8, 3, 2, "relu", False),
    ("blocks.1.0", "ir", 8, 16, 8, 8, 3, 1, "hardswish", True),
    ("blocks.2.0", "cn", 8, 16, 16, 0, 1, 1, "hardswish", False),
]


def spec():
    s = {"conv_stem.weight": [8, 3, 3, 3]}

    def bn(prefix, c):
        for k in ("weight", "bias", "running_mean", "running_var"):
            s[f"{prefix}.{k}"] = [c]

    bn("bn1", 8)
    for n, kind, cin, mid, out, se, k, st, act, res in BLOCKS:
        def se_spec():
            if se:
                s[f"{n}.se.conv_reduce.weight"] = [se, mid, 1, 1]
                s[f"{n}.se.conv_reduce.bias"] = [se]
                s[f"{n}.se.conv_expand.weight"] = [mid, se, 1, 1]
                s[f"{n}.se.conv_expand.bias"] = [mid]
        if kind == "cn":
            s[f"{n}.conv.weight"] = [out, cin, k, k]
            bn(f"{n}.bn1", out)
        elif kind == "ds":
            s[f"{n}.conv_dw.weight"] = [cin, 1, k, k]
            bn(f"{n}.bn1", cin)
            se_spec()
            s[f"{n}.conv_pw.weight"] = [out, cin, 1, 1]
            bn(f"{n}.bn2", out)
        else:
            s[f"{n}.conv_pw.weight"] = [mid, cin, 1, 1]
            bn(f"{n}.bn1", mid)
            s[f"{n}.conv_dw.weight"] = [mid, 1, k, k]
            bn(f"{n}.bn2", mid)
            se_spec()
            s[f"{n}.conv_pwl.weight"] = [out, mid, 1, 1]
            bn(f"{n}.bn3", out)
    s["conv_head.weight"] = [32, 16, 1, 1]
    s["conv_head.bias"] = [32]
    s["classifier.weight"] = [5, 32]
    s["classifier.bias"] = [5]
    return s


def weights():
    out = {}
    for name, shape in spec().items():
        t = synthetic_parameter(name, shape).reshape(shape).float()
        out[name] = t * GAIN if len(shape) >= 2 else t
    return out


def graph(W):
    """Convs in execution order: dict(name, w, b, stride, pad, groups, act, bn) (BN folded as foldBatchNorm)."""
    def folded(name, bn, stride, pad, groups, act):
        scale = W[f"{bn}.weight"].double() / torch.sqrt(W[f"{bn}.running_var"].double() + BN_EPS)
        shift = W[f"{bn}.bias"].double() - W[f"{bn}.running_mean"].double() * scale
        w = (W[f"{name}.weight"].double() * scale.view(-1, 1, 1, 1)).float()
        return dict(name=name, w=w, b=shift.float(), stride=stride, pad=pad, groups=groups, act=act,
                    bn_mean=W[f"{bn}.bias"], bn_std=W[f"{bn}.weight"].abs())

    def plain(name, act):
        w = W[f"{name}.weight"]
        return dict(name=name, w=w.reshape(*w.shape[:2], 1, 1), b=W[f"{name}.bias"], stride=1, pad=0, groups=1,
                    act=act, bn_mean=None, bn_std=None)

    stem = folded("conv_stem", "bn1", 2, 1, 1, "hardswish")
    blocks = []
    for n, kind, cin, mid, out, se, k, st, act, res in BLOCKS:
        pad = (st - 1 + k - 1) // 2
        b = dict(name=n, residual=res, expand=None, dw=None, se=None)
        if se:
            b["se"] = (plain(f"{n}.se.conv_reduce", "relu"), plain(f"{n}.se.conv_expand", "hardsigmoid"))
        if kind == "cn":
            b["project"] = folded(f"{n}.conv", f"{n}.bn1", st, pad, 1, act)
        elif kind == "ds":
            b["dw"] = folded(f"{n}.conv_dw", f"{n}.bn1", st, pad, cin, act)
            b["project"] = folded(f"{n}.conv_pw", f"{n}.bn2", 1, 0, 1, "none")
        else:
            b["expand"] = folded(f"{n}.conv_pw", f"{n}.bn1", 1, 0, 1, act)
            b["dw"] = folded(f"{n}.conv_dw", f"{n}.bn2", st, pad, mid, act)
            b["project"] = folded(f"{n}.conv_pwl", f"{n}.bn3", 1, 0, 1, "none")
        blocks.append(b)
    return dict(stem=stem, blocks=blocks, head=plain("conv_head", "hardswish"), classifier=plain("classifier", "none"))


def convs(g):
    out = [g["stem"]]
    for b in g["blocks"]:
        for c in (b["expand"], b["dw"], *(b["se"] or ()), b["project"]):
            if c is not None:
                out.append(c)
    return out + [g["head"], g["classifier"]]


def grids(g):
    """(tensor name, kind) of every calibrated grid, in the TS order (gridTensors)."""
    out = [("input", "none")]
    add = lambda c: out.append((c["name"], c["act"]))  # noqa: E731
    add(g["stem"])
    for b in g["blocks"]:
        for c in (b["expand"], b["dw"]):
            if c is not None:
                add(c)
        if b["se"]:
            add(b["se"][0])
            out.append((f"{b['name']}.se", (b["dw"] or b["expand"])["act"]))
        add(b["project"])
        if b["residual"]:
            out.append((f"{b['name']}.add", "add"))
    add(g["head"])
    return out


# ---- float pass ---------------------------------------------------------------------------------------

def act64(v, act):
    if act == "relu":
        return torch.clamp(v, min=0)
    if act == "hardsigmoid":
        return torch.clamp(v + 3, 0, 6) / 6
    if act == "hardswish":
        return v * (torch.clamp(v + 3, 0, 6) / 6)
    return v


def fconv(c, x, tap):
    y = F.conv2d(x.double(), c["w"].double(), c["b"].double(), c["stride"], c["pad"], 1, c["groups"]).float()
    y = act64(y.double(), c["act"]).float()
    tap[c["name"]] = y
    return y


def float_forward(g, x):
    tap = {"input": x}
    h = fconv(g["stem"], x, tap)
    for b in g["blocks"]:
        inp = h
        for c in (b["expand"], b["dw"]):
            if c is not None:
                h = fconv(c, h, tap)
        if b["se"]:
            pooled = h.double().mean((2, 3), keepdim=True).float()
            gate = fconv(b["se"][1], fconv(b["se"][0], pooled, tap), tap)
            h = (h.double() * gate.double()).float()
            tap[f"{b['name']}.se"] = h
        h = fconv(b["project"], h, tap)
        if b["residual"]:
            h = (h.double() + inp.double()).float()
            tap[f"{b['name']}.add"] = h
    pooled = h.double().mean((2, 3), keepdim=True).float()
    fconv(g["classifier"], fconv(g["head"], pooled, tap), tap)
    return tap


def act_range(kind, bits):
    if kind == "relu":
        return unsigned(bits)
    if kind == "hardsigmoid":
        return 0, 2 ** bits
    return signed(bits)


def layerwise_plan(g, taps, wb, ab, rule):
    act = {}
    for name, kind in grids(g):
        values = torch.cat([t[name].flatten() for t in taps]).double()
        if name == "input":
            act[name] = 2.0 ** ceil_exp(float(values.abs().max()), 127)
            continue
        lo, hi = act_range(kind, ab)
        act[name] = 2.0 ** (ceil_exp(float(values.abs().max()), hi) if rule == "pow2-minmax" else mse_exp(values, lo, hi))
    eight = {g["stem"]["name"], g["head"]["name"], g["classifier"]["name"]}
    wscales = {}
    for c in convs(g):
        lo, hi = signed(8 if c["name"] in eight else wb)
        wscales[c["name"]] = [
            2.0 ** (ceil_exp(float(c["w"][o].double().abs().max()), hi) if rule == "pow2-minmax"
                    else mse_exp(c["w"][o].double().flatten(), lo, hi)) for o in range(c["w"].shape[0])]
    return dict(act=act, w=wscales, wb=wb, ab=ab, eight=eight)


# ---- quantized net and integer execution ----------------------------------------------------------------

def quantize(c, p, in_scale, in_range, out_scale, out_range):
    lo, hi = signed(8 if c["name"] in p["eight"] else p["wb"])
    scales = list(p["w"][c["name"]])
    O = c["w"].shape[0]
    wq = torch.empty(c["w"].shape, dtype=torch.float64)
    bias = torch.empty(O, dtype=torch.float64)
    in_max = max(-in_range[0], in_range[1])
    for o in range(O):
        b = float(c["b"][o])
        needed = abs(b) / (in_scale * BIAS_LIMIT)
        if scales[o] < needed:
            scales[o] = 2.0 ** math.ceil(math.log2(needed))
        wq[o] = grid(c["w"][o].double(), scales[o], lo, hi)
        bias[o] = math.floor(b / (scales[o] * in_scale) + 0.5)
        assert float(wq[o].abs().sum()) * in_max + abs(bias[o]) < 2 ** 24
    return dict(c, wq=wq, bias=bias, scales=scales, in_scale=in_scale, in_range=in_range, out_scale=out_scale,
                out_range=out_range)


def shift_round(x, n):
    return math.floor(x / 2.0 ** n + 0.5) if n > 0 else x * 2.0 ** -n


def clamp(q, r):
    return min(max(q, r[0]), r[1])


def gate(t, a, frac):
    three = 3 * 2.0 ** -a
    r = min(max(t + three, 0), 2 * three)
    return min(2 ** frac, shift_round(r * M6, M6_SHIFT - frac - a))


def requant(t, a, e, act, r):
    if a > 0:
        t, a = t * 2.0 ** a, 0
    if act in ("none", "relu"):
        return clamp(shift_round(t, e - a), r)
    if act == "hardsigmoid":
        return clamp(gate(t, a, -e), r)
    return clamp(shift_round(t * gate(t, a, HSWISH_BITS), e + HSWISH_BITS - a), r)


def run_conv(q, x):
    s = F.conv2d(x, q["wq"], q["bias"], q["stride"], q["pad"], 1, q["groups"])
    ex, ey = math.log2(q["in_scale"]), math.log2(q["out_scale"])
    out = torch.empty_like(s)
    for o in range(s.shape[1]):
        a = math.log2(q["scales"][o]) + ex
        flat = s[0, o].flatten().tolist()
        out[0, o] = torch.tensor([requant(v, a, ey, q["act"], q["out_range"]) for v in flat],
                                 dtype=torch.float64).view(s.shape[2], s.shape[3])
    return out


def pool(x):
    area = x.shape[2] * x.shape[3]
    return torch.floor((2 * x.sum((2, 3), keepdim=True) + area) / (2 * area))


def run_quantized(g, p, x):
    A = p["ab"]
    sc, rg = p["act"]["input"], signed(8)
    h = grid(x.double(), sc, -128, 127)
    convs_q = []

    def q_run(c, h, grid_in):
        out_range = (0, 0) if c is g["classifier"] else act_range(c["act"], A)
        out_scale = 1.0 if c is g["classifier"] else 2.0 ** -A if c["act"] == "hardsigmoid" else p["act"][c["name"]]
        q = quantize(c, p, grid_in[0], grid_in[1], out_scale, out_range)
        convs_q.append(q)
        return q, (out_scale, out_range)

    q, gr = q_run(g["stem"], h, (sc, rg))
    h = run_conv(q, h)
    for b in g["blocks"]:
        inp, inp_grid = h, gr
        for c in (b["expand"], b["dw"]):
            if c is not None:
                q, gr = q_run(c, h, gr)
                h = run_conv(q, h)
        if b["se"]:
            x_grid = gr
            qr, rgrid = q_run(b["se"][0], None, gr)
            hidden = run_conv(qr, pool(h))
            qe, _ = q_run(b["se"][1], None, rgrid)
            gt = run_conv(qe, hidden)
            ey = math.log2(p["act"][f"{b['name']}.se"])
            n = ey - math.log2(x_grid[0]) + A
            prod = (h * gt).flatten().tolist()
            h = torch.tensor([clamp(shift_round(v, n), x_grid[1]) for v in prod], dtype=torch.float64).view(h.shape)
            gr = (p["act"][f"{b['name']}.se"], x_grid[1])
        q, gr = q_run(b["project"], h, gr)
        h = run_conv(q, h)
        if b["residual"]:
            ex, eh = math.log2(inp_grid[0]), math.log2(gr[0])
            e = min(ex, eh)
            ey = math.log2(p["act"][f"{b['name']}.add"])
            rr = signed(A)
            s = (inp * 2.0 ** (ex - e) + h * 2.0 ** (eh - e)).flatten().tolist()
            h = torch.tensor([clamp(shift_round(v, ey - e), rr) for v in s], dtype=torch.float64).view(h.shape)
            gr = (p["act"][f"{b['name']}.add"], rr)
    features = h
    qh, gr = q_run(g["head"], None, gr)
    hidden = run_conv(qh, pool(h))
    qc, _ = q_run(g["classifier"], None, gr)
    sums = F.conv2d(hidden, qc["wq"], qc["bias"]).flatten()
    scale = torch.tensor(qc["scales"], dtype=torch.float64) * qc["in_scale"]
    return features, (sums * scale).float(), convs_q


def main():
    torch.set_num_threads(1)
    g = graph(weights())
    with torch.no_grad():
        images = [rand(f"quant_v3.calibration.{i}", [1, 3, SIZE, SIZE]) for i in range(4)]
        probe = rand("quant_v3.probe", [1, 3, SIZE, SIZE])
        taps = [float_forward(g, x) for x in images]
        tensors = {"probe_head": probe.flatten()[:64], "float_logits": float_forward(g, probe)["classifier"].flatten()}
        for bits in BITS:
            wb, ab = int(bits[1]), int(bits[3])
            for method in METHODS:
                p = layerwise_plan(g, taps, wb, ab, method)
                features, logits, qconvs = run_quantized(g, p, probe)
                key = f"{bits}.{method}"
                tensors[f"{key}.act_exponents"] = torch.tensor([math.log2(p["act"][n]) for n, _ in grids(g)])
                tensors[f"{key}.weight_exponents"] = torch.tensor([math.log2(s) for q in qconvs for s in q["scales"]])
                tensors[f"{key}.bias"] = torch.cat([q["bias"] for q in qconvs])
                tensors[f"{key}.weight_abs_sums"] = torch.tensor([float(q["wq"].abs().sum()) for q in qconvs])
                tensors[f"{key}.features"] = features.flatten()
                tensors[f"{key}.logits"] = logits
    return [save_fixture("quant_mobilenetv3", tensors, metadata={"size": SIZE, "calibration_images": 4})]


if __name__ == "__main__":
    print(main())
