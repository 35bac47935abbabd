"""Goldens for the quantized MobileNetV3 graph of src/quant (docs/quantization.md §10): a plain PyTorch /
float64 reference, written from the formulas of that section, on the small MobileNetV3-like net of
test/quant/v3_fixture.ts (stem 3x3/2 + hardswish; ds block with ReLU and SE; ir block with hardswish, SE
and a residual; cn block; conv_head + hardswish; classifier), shared synthetic weights with He gain,
16x16 images, four seeded calibration images and one probe.

Per bit width (W8A8, W4A8, W4A4, W2A4) and power-of-two method (pow2-minmax, pow2-mse; pow2-adjusted: the
greedy +-1 exponent search over the graph's units, scored by the logit error; rapq: that, then the BN-based
reconstruction of every BN conv, as src/quant/v3_ptq.ts describes them): the
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
from gen_quant import ceil_exp, grid, mse_exp, quantize_channels, signed, unsigned

SIZE = 16
BITS = ["w8a8", "w4a8", "w4a4", "w2a4"]
METHODS = ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"]
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
    tap.setdefault("pre", {})[c["name"]] = y
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
    return dict(act=act, w=wscales, wb=wb, ab=ab, eight=eight, b={c["name"]: c["b"].clone() for c in convs(g)},
                gain={c["name"]: torch.ones(c["w"].shape[0], dtype=torch.float32) for c in convs(g)})


# ---- quantized net and integer execution ----------------------------------------------------------------

class BuildError(Exception):
    """A plan the TS refuses to build (the 2^24 exactness bound, the gate's sum grid below 2^-32)."""


def quantize(c, p, in_scale, in_range, out_scale, out_range):
    lo, hi = signed(8 if c["name"] in p["eight"] else p["wb"])
    gains = p["gain"][c["name"]]
    w32 = (c["w"].double() * gains.double().view(-1, 1, 1, 1)).float()
    wq, bias, scales, fits = quantize_channels(w32, p["b"][c["name"]], p["w"][c["name"]], lo, hi, in_scale, in_range)
    if not fits:
        raise BuildError(c["name"])
    if c["act"] in ("hardsigmoid", "hardswish") and any(math.log2(sc * in_scale) < -32 for sc in scales):
        raise BuildError(c["name"])
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


def build(g, p):
    """The quantized net of a plan (the TS planV3Net)."""
    A = p["ab"]

    def q(c, grid_in):
        out_range = (0, 0) if c is g["classifier"] else act_range(c["act"], A)
        out_scale = 1.0 if c is g["classifier"] else 2.0 ** -A if c["act"] == "hardsigmoid" else p["act"][c["name"]]
        return quantize(c, p, grid_in[0], grid_in[1], out_scale, out_range)

    out = lambda qc: (qc["out_scale"], qc["out_range"])  # noqa: E731
    net = dict(input_scale=p["act"]["input"], stem=q(g["stem"], (p["act"]["input"], signed(8))), blocks=[])
    gr = out(net["stem"])
    for b in g["blocks"]:
        qb = dict(name=b["name"], in_grid=gr, expand=None, dw=None, se=None, add=None)
        for key in ("expand", "dw"):
            if b[key] is not None:
                qb[key] = q(b[key], gr)
                gr = out(qb[key])
        if b["se"]:
            qr = q(b["se"][0], gr)
            qe = q(b["se"][1], out(qr))
            qb["se"] = (qr, qe, p["act"][f"{b['name']}.se"], gr[1])
            gr = (p["act"][f"{b['name']}.se"], gr[1])
        qb["project"] = q(b["project"], gr)
        gr = out(qb["project"])
        if b["residual"]:
            qb["add"] = (p["act"][f"{b['name']}.add"], signed(A))
            gr = qb["add"]
        net["blocks"].append(qb)
    net["head"] = q(g["head"], gr)
    net["classifier"] = q(g["classifier"], out(net["head"]))
    return net


def net_convs(net):
    out = [net["stem"]]
    for b in net["blocks"]:
        for c in (b["expand"], b["dw"], *(b["se"][:2] if b["se"] else ()), b["project"]):
            if c is not None:
                out.append(c)
    return out + [net["head"], net["classifier"]]


def conv_sums(q, x):
    return F.conv2d(x, q["wq"], q["bias"], q["stride"], q["pad"], 1, q["groups"])


def run_conv(q, x, tap=None):
    s = conv_sums(q, x)
    ex, ey = math.log2(q["in_scale"]), math.log2(q["out_scale"])
    if tap is not None:
        scale = torch.tensor([sw * q["in_scale"] for sw in q["scales"]], dtype=torch.float64).view(1, -1, 1, 1)
        tap(q["name"], s * scale)
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


def run_block(b, h, tap=None):
    A = None
    inp = h
    for key in ("expand", "dw"):
        if b[key] is not None:
            h = run_conv(b[key], h, tap)
    if b["se"]:
        qr, qe, se_scale, se_range = b["se"]
        gt = run_conv(qe, run_conv(qr, pool(h), tap), tap)
        A = -math.log2(qe["out_scale"])
        n = math.log2(se_scale) - math.log2(qr["in_scale"]) + A
        prod = (h * gt).flatten().tolist()
        h = torch.tensor([clamp(shift_round(v, n), se_range) for v in prod], dtype=torch.float64).view(h.shape)
    h = run_conv(b["project"], h, tap)
    if b["add"]:
        ex, eh = math.log2(b["in_grid"][0]), math.log2(b["project"]["out_scale"])
        e = min(ex, eh)
        ey = math.log2(b["add"][0])
        s = (inp * 2.0 ** (ex - e) + h * 2.0 ** (eh - e)).flatten().tolist()
        h = torch.tensor([clamp(shift_round(v, ey - e), b["add"][1]) for v in s], dtype=torch.float64).view(h.shape)
    return h


def run_head(net, h, tap=None):
    hidden = run_conv(net["head"], pool(h), tap)
    qc = net["classifier"]
    sums = conv_sums(qc, hidden).flatten()
    scale = torch.tensor(qc["scales"], dtype=torch.float64) * qc["in_scale"]
    return (sums * scale).float()


def run_unit(net, u, x, tap=None):
    """Unit 0: the stem (from the float image), 1..B: the blocks, B + 1: the head (-> logits)."""
    if u == 0:
        return run_conv(net["stem"], grid(x.double(), net["input_scale"], -128, 127), tap)
    if u <= len(net["blocks"]):
        return run_block(net["blocks"][u - 1], x, tap)
    return run_head(net, x, tap)


def run_from(net, u, x):
    for v in range(u, len(net["blocks"]) + 2):
        x = run_unit(net, v, x)
    return x


def copy_plan(p):
    return dict(p, act=dict(p["act"]), w={k: list(v) for k, v in p["w"].items()},
                b={k: v.clone() for k, v in p["b"].items()}, gain={k: v.clone() for k, v in p["gain"].items()})


def unit_parts(g, u):
    names = {n for n, _ in grids(g)}
    B = len(g["blocks"])
    if u == 0:
        cs = [g["stem"]]
    elif u <= B:
        b = g["blocks"][u - 1]
        cs = [c for c in (b["expand"], b["dw"], *(b["se"] or ()), b["project"]) if c is not None]
    else:
        cs = [g["head"], g["classifier"]]
    gs = [c["name"] for c in cs if c["name"] in names]
    if u == 0:
        gs.insert(0, "input")
    if 0 < u <= B:
        n = g["blocks"][u - 1]["name"]
        gs += [x for x in (f"{n}.se", f"{n}.add") if x in names]
    return cs, gs


def logit_loss(q, t):
    total = 0.0
    for a, b in zip(q, t):
        s = 0.0
        for x, y in zip(a.tolist(), b.tolist()):
            s += (x - y) ** 2
        total += s / len(a)
    return total / len(q)


def adjust(g, start, images, targets):
    """The TS adjustV3Scales: greedy +-1 exponent steps, unit by unit, kept when the logit loss falls."""
    p = copy_plan(start)
    net = build(g, p)
    inputs = list(images)
    loss = logit_loss([run_from(net, 0, x) for x in inputs], targets)
    B = len(g["blocks"])
    for u in range(B + 2):
        cs, gs = unit_parts(g, u)
        moves = []
        for step in (-1, 1):
            moves += [("w", c["name"], step) for c in cs] + [("a", n, step) for n in gs]
        for kind, name, step in moves:
            trial = copy_plan(p)
            if kind == "w":
                trial["w"][name] = [s * 2.0 ** step for s in trial["w"][name]]
            else:
                trial["act"][name] *= 2.0 ** step
            try:
                trial_net = build(g, trial)
            except BuildError:
                continue
            trial_loss = logit_loss([run_from(trial_net, u, x) for x in inputs], targets)
            if trial_loss < loss:
                loss, p, net = trial_loss, trial, trial_net
        if u < B + 1:
            inputs = [run_unit(net, u, x) for x in inputs]
    return p


def sum_moments(net, u, inputs, name):
    acc = {}

    def tap(n, y):
        if n != name:
            return
        C = y.shape[1]
        if "sum" not in acc:
            acc.update(sum=[0.0] * C, sq=[0.0] * C, count=0)
        for c in range(C):
            for v in y[0, c].flatten().tolist():
                acc["sum"][c] += v
                acc["sq"][c] += v * v
        acc["count"] += y.shape[2] * y.shape[3]

    for x in inputs:
        run_unit(net, u, x, tap)
    n = acc["count"]
    mean = [s / n for s in acc["sum"]]
    std = [math.sqrt(max(0.0, q / n - m * m)) for q, m in zip(acc["sq"], mean)]
    return mean, std


def f32(v):
    return float(torch.tensor(v, dtype=torch.float32))


def reconstruct(g, start, images, cal, lam=1.0):
    """The TS bnReconstructV3: per BN conv, gain and bias towards (float + BN) / 2, then the mean step."""
    p = copy_plan(start)
    inputs = list(images)
    for u in range(len(g["blocks"]) + 1):
        cs, _ = unit_parts(g, u)
        for c in cs:
            if c["bn_mean"] is None:
                continue
            name = c["name"]
            mean_q, std_q = sum_moments(build(g, p), u, inputs, name)
            target = []
            for ch in range(len(mean_q)):
                tm = (cal["mean"][name][ch] + lam * float(c["bn_mean"][ch])) / (1 + lam)
                ts = (cal["std"][name][ch] + lam * float(c["bn_std"][ch])) / (1 + lam)
                gain = min(2.0, max(0.5, ts / std_q[ch])) if std_q[ch] > 0 else 1.0
                p["b"][name][ch] = f32(tm - gain * (mean_q[ch] - float(p["b"][name][ch])))
                p["gain"][name][ch] = f32(float(p["gain"][name][ch]) * gain)
                target.append(tm)
            regained, _ = sum_moments(build(g, p), u, inputs, name)
            for ch in range(len(target)):
                p["b"][name][ch] = f32(float(p["b"][name][ch]) + (target[ch] - regained[ch]))
        net = build(g, p)
        inputs = [run_unit(net, u, x) for x in inputs]
    return p


def bn_float_moments(g, taps_pre):
    """Per BN conv: per-channel mean / std of the float pre-activations (sequential float64 sums, as TS)."""
    mean, std = {}, {}
    for name, tensors in taps_pre.items():
        C = tensors[0].shape[1]
        s, q, n = [0.0] * C, [0.0] * C, 0
        for y in tensors:
            for c in range(C):
                for v in y[0, c].flatten().tolist():
                    s[c] += v
                    q[c] += v * v
            n += y.shape[2] * y.shape[3]
        mean[name] = [x / n for x in s]
        std[name] = [math.sqrt(max(0.0, b / n - m * m)) for b, m in zip(q, mean[name])]
    return dict(mean=mean, std=std)


def main():
    torch.set_num_threads(1)
    g = graph(weights())
    bn_names = [c["name"] for c in convs(g) if c["bn_mean"] is not None]
    with torch.no_grad():
        images = [rand(f"quant_v3.calibration.{i}", [1, 3, SIZE, SIZE]) for i in range(4)]
        probe = rand("quant_v3.probe", [1, 3, SIZE, SIZE])
        taps = [float_forward(g, x) for x in images]
        cal = bn_float_moments(g, {n: [t["pre"][n] for t in taps] for n in bn_names})
        targets = [t["classifier"].flatten() for t in taps]
        tensors = {"probe_head": probe.flatten()[:64], "float_logits": float_forward(g, probe)["classifier"].flatten()}
        for bits in BITS:
            wb, ab = int(bits[1]), int(bits[3])
            plans = {m: layerwise_plan(g, taps, wb, ab, m) for m in ("pow2-minmax", "pow2-mse")}
            plans["pow2-adjusted"] = adjust(g, plans["pow2-mse"], images, targets)
            plans["rapq"] = reconstruct(g, plans["pow2-adjusted"], images, cal)
            for method in METHODS:
                p = plans[method]
                net = build(g, p)
                features = probe
                for u in range(len(g["blocks"]) + 1):
                    features = run_unit(net, u, features)
                logits = run_head(net, features)
                qconvs = net_convs(net)
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
