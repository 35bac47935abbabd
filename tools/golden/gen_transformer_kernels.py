"""Goldens for the engine kernels of part A: linear, elementwise, softmax, layerNorm, shape ops,
attention, sort.  Writes test/fixtures/kernel_<kernel>.safetensors.

Inputs are float32. Expected outputs are computed by torch in float64 on those float32 inputs and
rounded to float32 once: the exact answer for the inputs, which the TS kernels (float64 sums) must
reach within 1e-5 of the output's scale. Large inputs and weights are not stored: they are rebuilt on
both sides from the shared seeded generator (synthetic_tensor / synthetic_parameter, names below).
Integer results (indices) are stored as float32 (exact below 2^24).
"""
import math

import torch
import torch.nn.functional as F

from common import rand, save_fixture, synthetic_parameter, synthetic_tensor

torch.set_num_threads(1)


def f64(t):
    return t.double()


# ---- linear.ts --------------------------------------------------------------

def gen_linear():
    out = {}
    for name, (m, k, n) in {"odd": (5, 7, 3), "one": (1, 1, 1), "square": (9, 9, 9), "column": (13, 17, 1)}.items():
        a, b = rand(f"mm.{name}.a", [m, k]), rand(f"mm.{name}.b", [k, n])
        out[f"matmul.{name}.a"], out[f"matmul.{name}.b"] = a, b
        out[f"matmul.{name}.out"] = f64(a) @ f64(b)
    a, b = rand("bmm.a", [3, 5, 7]), rand("bmm.b", [3, 7, 4])
    out["bmm.a"], out["bmm.b"], out["bmm.out"] = a, b, torch.bmm(f64(a), f64(b))

    w, bias = rand("lin.w", [7, 10], 0.3), rand("lin.b", [7], 0.5)
    out["linear.w"], out["linear.b"] = w, bias
    for name, shape in {"rank2": [6, 10], "rank3": [2, 3, 10], "rank1": [10], "rows5": [5, 10]}.items():
        x = rand(f"lin.x.{name}", shape)
        out[f"linear.{name}.x"] = x
        out[f"linear.{name}.out"] = F.linear(f64(x), f64(w), f64(bias))
        out[f"linear.{name}.nobias"] = F.linear(f64(x), f64(w))
    # mid-size, rebuilt in TS: x = synthetic_tensor("linear.big.x", [50, 192], 1),
    # weight / bias = synthetic_parameter("big.weight" [576, 192], "big.bias" [576])
    x = synthetic_tensor("linear.big.x", [50, 192], 1.0)
    w, bias = synthetic_parameter("big.weight", [576, 192]), synthetic_parameter("big.bias", [576])
    out["linear.big.out"] = F.linear(f64(x), f64(w), f64(bias))
    return save_fixture("kernel_linear", out)


# ---- elementwise.ts -----------------------------------------------------------

def hundredths(first: int, last: int) -> torch.Tensor:
    """float32(i / 100) for i = first..last: IEEE-exact steps, unlike linspace, whose last bits
    depend on the vector kernel the CPU runs."""
    return torch.arange(first, last + 1, dtype=torch.float64).div(100).float()


def gen_elementwise():
    special = torch.tensor([-3.0, 3.0, 0.0, -0.0, 6.0, -6.0, 1e-8, -1e-8, 20.0, -20.0, 50.0, -50.0, 88.0, -88.0])
    x = torch.cat([hundredths(-1000, 1000), special])
    xd = f64(x)
    out = {
        "x": x,
        "relu": F.relu(xd),
        "relu6": F.relu6(xd),
        "leaky_relu_0.01": F.leaky_relu(xd, 0.01),
        "leaky_relu_0.2": F.leaky_relu(xd, 0.2),
        "hardswish": F.hardswish(xd),
        "hardsigmoid": F.hardsigmoid(xd),
        "silu": F.silu(xd),
        "sigmoid": torch.sigmoid(xd),
        "gelu": F.gelu(xd),
        "gelu_tanh": F.gelu(xd, approximate="tanh"),
        # the same function without the cancellation of 1 + erf(x / sqrt 2) for x << 0 (for pointwise checks)
        "gelu_erfc": 0.5 * xd * torch.special.erfc(-xd / math.sqrt(2)),
        # erf to float32 accuracy, and beyond: in float64, rounded once
        "erf.x": hundredths(-600, 600),
    }
    out["erf"] = torch.erf(f64(out["erf.x"]))
    out["erfc.x"] = hundredths(-300, 900)
    out["erfc"] = torch.special.erfc(f64(out["erfc.x"]))

    cases = {
        "rank3_rank2": ([3, 1, 5], [4, 1]),
        "same": ([4, 6], [4, 6]),
        "scalar_like_b": ([2, 3], [1]),
        "scalar_like_a": ([1], [2, 3]),
        "row": ([2, 3, 5], [5]),
        "both_stretch": ([2, 1, 4], [1, 3, 1]),
        "rank0": ([], [2, 3]),
    }
    for name, (sa, sb) in cases.items():
        a, b = rand(f"bc.{name}.a", sa, 2.0), rand(f"bc.{name}.b", sb, 2.0)
        out[f"{name}.a"], out[f"{name}.b"] = a, b
        out[f"{name}.add"] = f64(a) + f64(b)
        out[f"{name}.mul"] = f64(a) * f64(b)
    return save_fixture("kernel_elementwise", out)


# ---- softmax.ts ---------------------------------------------------------------

def gen_softmax():
    out = {}
    x = rand("sm.x", [4, 7], 3.0)
    large = rand("sm.large", [3, 5], 2000.0) + 5000.0
    large[1] = 1e4  # a row of equal large values -> uniform
    large[2, 0] = -1e4
    x3 = rand("sm.x3", [2, 3, 4], 3.0)
    inf = torch.tensor([[1.0, -math.inf, 2.0, -math.inf], [-math.inf, 0.0, -math.inf, -math.inf]])
    for name, t, axes in [("x", x, [-1, 0]), ("large", large, [-1, 0]), ("x3", x3, [1, -1, 0]), ("inf", inf, [-1])]:
        out[f"{name}.in"] = t
        for axis in axes:
            out[f"{name}.axis{axis}"] = torch.softmax(f64(t), dim=axis)
    return save_fixture("kernel_softmax", out)


# ---- norm.ts: layerNorm -------------------------------------------------------

def gen_layernorm():
    out = {}
    # [17, 192] rebuilt in TS: x = synthetic_tensor("ln.x", [17, 192], 2) + 0.5,
    # weight / bias = synthetic_parameter("norm.weight" [192], "norm.bias" [192])
    x = synthetic_tensor("ln.x", [17, 192], 2.0) + 0.5
    w, b = synthetic_parameter("norm.weight", [192]), synthetic_parameter("norm.bias", [192])
    for eps in (1e-6, 1e-5):
        out[f"d192.eps{eps:g}"] = F.layer_norm(f64(x), [192], f64(w), f64(b), eps)
    out["d192.noaffine"] = F.layer_norm(f64(x), [192], None, None, 1e-6)
    # rank 3, stored
    x3, w3, b3 = rand("ln.x3", [2, 5, 7], 3.0), rand("ln.w3", [7], 1.5), rand("ln.b3", [7], 0.5)
    out["rank3.x"], out["rank3.w"], out["rank3.b"] = x3, w3, b3
    out["rank3.out"] = F.layer_norm(f64(x3), [7], f64(w3), f64(b3), 1e-5)
    # tiny variance (~1e-7): eps 1e-5 vs 1e-6 changes the output a lot
    tiny = rand("ln.tiny", [4, 16], 1e-3)
    out["tiny.x"] = tiny
    for eps in (1e-6, 1e-5):
        out[f"tiny.eps{eps:g}"] = F.layer_norm(f64(tiny), [16], None, None, eps)
    # large common offset: the mean must not swamp the variance
    offset = rand("ln.offset", [3, 32], 1.0) + 100.0
    out["offset.x"] = offset
    out["offset.out"] = F.layer_norm(f64(offset), [32], None, None, 1e-6)
    return save_fixture("kernel_layernorm", out)


# ---- shape.ts -----------------------------------------------------------------

def gen_shape():
    out = {}
    parts = [rand("cat.a", [2, 3, 4]), rand("cat.b", [2, 1, 4]), rand("cat.c", [2, 5, 4])]
    for i, p in enumerate(parts):
        out[f"concat1.{i}"] = p
    out["concat1.out"] = torch.cat(parts, 1)
    p0, p1 = rand("cat0.a", [2, 3]), rand("cat0.b", [4, 3])
    out["concat0.0"], out["concat0.1"], out["concat0.out"] = p0, p1, torch.cat([p0, p1], 0)
    q0, q1 = rand("catl.a", [2, 2]), rand("catl.b", [2, 3])
    out["concatlast.0"], out["concatlast.1"], out["concatlast.out"] = q0, q1, torch.cat([q0, q1], -1)

    x = rand("gather.x", [10, 6])
    idx = torch.tensor([3, 0, 9, 3, 7])
    out["gather.x"], out["gather.indices"], out["gather.out"] = x, idx.float(), x.index_select(0, idx)

    t4 = rand("perm.x4", [2, 3, 4, 5])
    out["perm.x4"] = t4
    out["perm.x4.0213"] = t4.permute(0, 2, 1, 3).contiguous()
    out["perm.x4.3102"] = t4.permute(3, 1, 0, 2).contiguous()
    t2 = rand("perm.x2", [6, 7])
    out["perm.x2"], out["perm.x2.10"] = t2, t2.t().contiguous()
    return save_fixture("kernel_shape", out)


# ---- attention.ts ---------------------------------------------------------------

def timm_attention(x, qkv_w, qkv_b, proj_w, proj_b, num_heads):
    """timm vision_transformer.Attention.forward (no q/k norm, no dropout), x [N, D], float64."""
    x = x.unsqueeze(0)
    B, N, C = x.shape
    head_dim = C // num_heads
    scale = head_dim ** -0.5
    qkv = F.linear(x, qkv_w, qkv_b).reshape(B, N, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    q = q * scale
    attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
    x = (attn @ v).transpose(1, 2).reshape(B, N, C)
    return F.linear(x, proj_w, proj_b)[0]


ATTN_D = 192


def attention_weights():
    """Rebuilt in TS with syntheticParameter under these names."""
    d = ATTN_D
    return (synthetic_parameter("attn.qkv.weight", [3 * d, d]), synthetic_parameter("attn.qkv.bias", [3 * d]),
            synthetic_parameter("attn.proj.weight", [d, d]), synthetic_parameter("attn.proj.bias", [d]))


def gen_attention():
    qkv_w, qkv_b, proj_w, proj_b = (f64(t) for t in attention_weights())
    out = {}
    # x for N tokens is rebuilt in TS: synthetic_tensor(f"attn.x{N}", [N, 192], 2)
    # case name -> (N, heads, qkv bias?, proj bias?)
    cases = {
        "n197_h3": (197, 3, True, True),
        "n197_h6_noqkvbias": (197, 6, False, True),
        "n16_h1": (16, 1, True, True),
        "n16_h2_noprojbias": (16, 2, True, False),
        "n1_h1": (1, 1, True, True),
        "n1_h2": (1, 2, True, True),
        "n1_h3": (1, 3, False, True),
        "n1_h6": (1, 6, True, True),
    }
    for name, (n, heads, use_qkv_b, use_proj_b) in cases.items():
        x = f64(synthetic_tensor(f"attn.x{n}", [n, ATTN_D], 2.0))
        out[name] = timm_attention(x, qkv_w, qkv_b if use_qkv_b else None, proj_w, proj_b if use_proj_b else None, heads)
    return save_fixture("kernel_attention", out, {"D": ATTN_D})


# ---- sort.ts ----------------------------------------------------------------------

def gen_sort():
    out = {}
    ties = torch.floor(5 * (rand("sort.ties", [50], 1.0) + 1) / 2)  # integers 0..4, many ties
    scores = rand("sort.scores", [197], 1.0)  # PaPr-like patch scores
    zeros = torch.tensor([0.0, -0.0, 1.0, -0.0, 0.0, -1.0, 0.0])  # -0 == 0: a tie
    for name, v in [("ties", ties), ("scores", scores), ("zeros", zeros)]:
        order = torch.sort(v, stable=True, descending=True).indices
        out[f"{name}.values"], out[f"{name}.argsort"] = v, order.float()
    order = torch.sort(ties, stable=True, descending=True).indices[:10]
    out["ties.top10.indices"], out["ties.top10.values"] = order.float(), ties[order]
    return save_fixture("kernel_sort", out)


def main():
    return [gen_linear(), gen_elementwise(), gen_softmax(), gen_layernorm(), gen_shape(), gen_attention(), gen_sort()]
