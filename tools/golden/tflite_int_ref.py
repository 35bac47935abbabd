"""Reference for src/models/tflite_int.ts: a quantized TFLite graph run in integers with numpy, written
from the same specification (TFLite's quantization spec, gemmlowp's fixed-point rounding) and with its
own reader of the .tflite FlatBuffer (no flatbuffers / tflite module needed).

  real = scale * (q - zero_point); conv sums in integers; out = clamp(MBQM(acc, M) + z_out, min, max)
  MBQM(x, M) = RDBP(SRDHM(x * 2^max(shift,0), multiplier), max(-shift,0)), M = multiplier * 2^(shift-31)
  ADD: both inputs * 2^20 scaled by s_i / (2 max(s_a, s_b)), summed, scaled by 2 max(s_a,s_b) / (2^20 s_out)
  AVERAGE_POOL_2D: (sum + count // 2) // count over in-image cells
The final SOFTMAX is not run: the result is its quantized input (the logits).

Convolution sums use float64 matrix products: every product and partial sum is an integer below
2^53 (at most 1280 * 255 * 255 < 2^27), so float64 is exact whatever order BLAS sums in.

CLI (the 500-photo check, compared by scripts/check_tflite_int.ts):
  /usr/bin/python3 tools/golden/tflite_int_ref.py MODEL.tflite PHOTO_DIR OUT_DIR [--limit N]
writes OUT_DIR/<photo>.png (the 224x224 crop both sides run) and OUT_DIR/logits.jsonl (one line per photo).
"""
import json
import math
import os
import struct
import sys

import numpy as np

OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 22: "RESHAPE", 25: "SOFTMAX"}
TYPES = {0: "float32", 2: "int32", 3: "uint8", 9: "int8"}
NP_TYPES = {"int32": "<i4", "uint8": "u1", "int8": "i1", "float32": "<f4"}


# ---- FlatBuffer reading (fields by schema index; see src/models/load/tflite.ts for the list) ----

class Reader:
    def __init__(self, data: bytes):
        self.b = data

    def u32(self, p):
        return struct.unpack_from("<I", self.b, p)[0]

    def table(self, p):
        vt = p - struct.unpack_from("<i", self.b, p)[0]
        size = struct.unpack_from("<H", self.b, vt)[0]
        offsets = struct.unpack_from("<%dH" % ((size - 4) // 2), self.b, vt + 4)
        return p, offsets

    def field(self, t, i):
        p, offsets = t
        return p + offsets[i] if i < len(offsets) and offsets[i] else None

    def scalar(self, t, i, fmt, default):
        f = self.field(t, i)
        return default if f is None else struct.unpack_from("<" + fmt, self.b, f)[0]

    def target(self, t, i):
        f = self.field(t, i)
        return None if f is None else f + self.u32(f)

    def vector(self, t, i, fmt):
        q = self.target(t, i)
        if q is None:
            return None
        n = self.u32(q)
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.b, q + 4))

    def tables(self, t, i):
        q = self.target(t, i)
        if q is None:
            return []
        return [self.table(q + 4 + 4 * k + self.u32(q + 4 + 4 * k)) for k in range(self.u32(q))]

    def sub(self, t, i):
        q = self.target(t, i)
        return None if q is None else self.table(q)

    def raw(self, t, i):
        q = self.target(t, i)
        return b"" if q is None else self.b[q + 4:q + 4 + self.u32(q)]


def read_model(path):
    with open(path, "rb") as f:
        r = Reader(f.read())
    assert r.b[4:8] == b"TFL3", "not a TFLite file"
    model = r.table(r.u32(0))
    codes = []
    for c in r.tables(model, 1):
        code = max(r.scalar(c, 0, "b", 0), r.scalar(c, 3, "i", 0))
        codes.append(OPS.get(code, "BUILTIN_%d" % code))
    buffers = [r.raw(b, 0) for b in r.tables(model, 4)]
    graph = r.tables(model, 2)[0]
    tensors = []
    for t in r.tables(graph, 0):
        q = r.sub(t, 4)
        scale = r.vector(q, 2, "f") if q else None
        zero = r.vector(q, 3, "q") if q else None
        kind = TYPES[r.scalar(t, 1, "b", 0)]
        shape = r.vector(t, 0, "i") or []
        data = buffers[r.scalar(t, 2, "I", 0)]
        value = np.frombuffer(data, NP_TYPES[kind]).reshape(shape) if data else None
        tensors.append({"shape": shape, "type": kind, "scale": scale, "zero": zero, "value": value})
    ops = []
    for o in r.tables(graph, 3):
        name = codes[r.scalar(o, 0, "I", 0)]
        opt = r.sub(o, 4)
        get = (lambda i, fmt, d: d if opt is None else r.scalar(opt, i, fmt, d))
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            dw = name == "DEPTHWISE_CONV_2D"
            options = {"padding": get(0, "b", 0), "stride": (get(2, "i", 1), get(1, "i", 1)),
                       "act": get(4 if dw else 3, "b", 0),
                       "dilation": (get(6 if dw else 5, "i", 1), get(5 if dw else 4, "i", 1))}
        elif name == "AVERAGE_POOL_2D":
            options = {"padding": get(0, "b", 0), "stride": (get(2, "i", 1), get(1, "i", 1)),
                       "filter": (get(4, "i", 1), get(3, "i", 1)), "act": get(5, "b", 0)}
        elif name == "ADD":
            options = {"act": get(0, "b", 0)}
        else:
            options = {}
        ops.append({"op": name, "inputs": r.vector(o, 1, "i"), "outputs": r.vector(o, 2, "i"), "options": options})
    return {"tensors": tensors, "ops": ops, "inputs": r.vector(graph, 1, "i"), "outputs": r.vector(graph, 2, "i")}


# ---- fixed point (TFLite / gemmlowp), vectorized over int64 arrays ----

def quantize_multiplier(real):
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    fixed = int(math.floor(q * 2 ** 31 + 0.5))  # q > 0: round half away from zero
    if fixed == 2 ** 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def srdhm(a, b):
    a = a.astype(np.int64)
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    s = ab + nudge
    out = np.where(s >= 0, s // (1 << 31), -((-s) // (1 << 31)))  # C++ division: toward zero
    return np.where((a == -2 ** 31) & (b == -2 ** 31), 2 ** 31 - 1, out)


def rdbp(x, exponent):
    x = x.astype(np.int64)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def mbqm(x, multiplier, shift):
    left = max(shift, 0)
    return rdbp(srdhm(x.astype(np.int64) * (1 << left), multiplier), max(-shift, 0))


def act_range(t, act):
    lo, hi = (0, 255) if t["type"] == "uint8" else (-128, 127)
    s, z = t["scale"][0], t["zero"][0]
    quant = lambda f: z + round_away(float(np.float32(f) / np.float32(s)))  # f / scale in float32, as TFLite
    if act == 0:
        return lo, hi
    if act == 1:
        return max(lo, quant(0.0)), hi
    if act == 3:
        return max(lo, quant(0.0)), min(hi, quant(6.0))
    raise ValueError("activation %d" % act)


def round_away(v):
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def window(size, k, s, d, padding):
    eff = (k - 1) * d + 1
    out = -(-size // s) if padding == 0 else (size - eff + s) // s
    total = max((out - 1) * s + eff - size, 0)
    return out, total // 2


# ---- operators (x: [H, W, C] int64) ----

def conv(x, t_in, t_w, t_b, t_out, o, depthwise):
    H, W, C = x.shape
    w = t_w["value"].astype(np.int64) - t_w["zero"][0]
    kh, kw = w.shape[1], w.shape[2]
    (sh, sw), (dh, dw) = o["stride"], o["dilation"]
    oh, pt = window(H, kh, sh, dh, o["padding"])
    ow, pl = window(W, kw, sw, dw, o["padding"])
    xc = x - t_in["zero"][0]
    # padded copy: zeros (= the input zero point after centering) around the image
    ph = max((oh - 1) * sh + (kh - 1) * dh + 1 - H - pt, 0)
    pw = max((ow - 1) * sw + (kw - 1) * dw + 1 - W - pl, 0)
    xp = np.zeros((H + pt + ph, W + pl + pw, C), np.int64)
    xp[pt:pt + H, pl:pl + W] = xc
    taps = [xp[ky * dh:ky * dh + (oh - 1) * sh + 1:sh, kx * dw:kx * dw + (ow - 1) * sw + 1:sw]
            for ky in range(kh) for kx in range(kw)]  # each [oh, ow, C]
    O = t_out["shape"][3]
    if depthwise:
        mult = O // C
        wt = w.reshape(kh * kw, O)
        acc = np.zeros((oh, ow, O), np.int64)
        for i, tap in enumerate(taps):
            acc += np.repeat(tap, mult, axis=2) * wt[i]
    else:
        patches = np.concatenate(taps, axis=2).reshape(oh * ow, kh * kw * C)
        wm = w.reshape(O, kh * kw * C)
        acc = (patches.astype(np.float64) @ wm.T.astype(np.float64)).astype(np.int64).reshape(oh, ow, O)
    acc += t_b["value"].astype(np.int64)
    scales = t_w["scale"] if len(t_w["scale"]) > 1 else t_w["scale"][:1]
    multipliers = [quantize_multiplier(float(t_in["scale"][0]) * float(s) / float(t_out["scale"][0])) for s in scales]
    if len(multipliers) == 1:
        out = mbqm(acc, *multipliers[0])
    else:
        out = np.empty_like(acc)
        for c, (m, s) in enumerate(multipliers):
            out[..., c] = mbqm(acc[..., c], m, s)
    lo, hi = act_range(t_out, o["act"])
    return np.clip(out + t_out["zero"][0], lo, hi)


def add(a, b, ta, tb, to, o):
    left = 20
    sa, sb, so = float(ta["scale"][0]), float(tb["scale"][0]), float(to["scale"][0])
    twice = 2 * max(sa, sb)
    ma, ea = quantize_multiplier(sa / twice)
    mb, eb = quantize_multiplier(sb / twice)
    mo, eo = quantize_multiplier(twice / ((1 << left) * so))
    va = mbqm((a - ta["zero"][0]) * (1 << left), ma, ea)
    vb = mbqm((b - tb["zero"][0]) * (1 << left), mb, eb)
    out = mbqm(va + vb, mo, eo) + to["zero"][0]
    lo, hi = act_range(to, o["act"])
    return np.clip(out, lo, hi)


def avg_pool(x, t_out, o):
    H, W, C = x.shape
    (fh, fw), (sh, sw) = o["filter"], o["stride"]
    oh, pt = window(H, fh, sh, 1, o["padding"])
    ow, pl = window(W, fw, sw, 1, o["padding"])
    out = np.zeros((oh, ow, C), np.int64)
    for y in range(oh):
        for xx in range(ow):
            y0, x0 = y * sh - pt, xx * sw - pl
            cells = x[max(y0, 0):min(y0 + fh, H), max(x0, 0):min(x0 + fw, W)].reshape(-1, C)
            n = cells.shape[0]
            out[y, xx] = (cells.sum(0) + n // 2) // n
    lo, hi = act_range(t_out, o["act"])
    return np.clip(out, lo, hi)


def run(model, image):
    """image: uint8 [H, W, 3] -> (logits int64 [N], {tensor index: value}) up to the final SOFTMAX."""
    T = model["tensors"]
    values = {model["inputs"][0]: image.astype(np.int64)}
    logits = None
    for op in model["ops"]:
        kind, ins, outs, o = op["op"], op["inputs"], op["outputs"], op["options"]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            y = conv(values[ins[0]], T[ins[0]], T[ins[1]], T[ins[2]], T[outs[0]], o, kind == "DEPTHWISE_CONV_2D")
        elif kind == "ADD":
            y = add(values[ins[0]], values[ins[1]], T[ins[0]], T[ins[1]], T[outs[0]], o)
        elif kind == "AVERAGE_POOL_2D":
            y = avg_pool(values[ins[0]], T[outs[0]], o)
        elif kind == "RESHAPE":
            y = values[ins[0]].reshape(-1)
        elif kind == "SOFTMAX":
            logits = values[ins[0]].reshape(-1)
            break
        else:
            raise ValueError("unsupported operator " + kind)
        values[outs[0]] = y
    if logits is None:
        logits = values[model["outputs"][0]].reshape(-1)
    return logits, values


def crop_224(path):
    """PIL: RGB, shorter side to 256 (bilinear), center 224 crop -> uint8 [224, 224, 3]."""
    from PIL import Image
    im = Image.open(path).convert("RGB")
    w, h = im.size
    scale = 256 / min(w, h)
    im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    return np.asarray(im.crop((left, top, left + 224, top + 224)), np.uint8)


def main(argv):
    from PIL import Image
    args = [a for a in argv if not a.startswith("--")]
    limit = int(argv[argv.index("--limit") + 1]) if "--limit" in argv else None
    if "--limit" in argv:
        args.remove(str(limit))
    model_path, photo_dir, out_dir = args
    model = read_model(model_path)
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(f for f in os.listdir(photo_dir) if not f.startswith("."))[:limit]
    done = 0
    # one JSON line per photo, flushed, so a run stopped early still leaves its results
    with open(os.path.join(out_dir, "logits.jsonl"), "w") as f:
        for i, name in enumerate(names):
            crop = crop_224(os.path.join(photo_dir, name))
            png = os.path.splitext(name)[0] + ".png"
            Image.fromarray(crop).save(os.path.join(out_dir, png))
            logits, _ = run(model, crop)
            f.write(json.dumps({"crop": png, "logits": [int(v) for v in logits]}) + "\n")
            f.flush()
            done += 1
            if i % 50 == 0:
                print(f"{i + 1}/{len(names)} {name}: top-1 {int(np.argmax(logits))}", flush=True)
    print(f"wrote {done} crops and {out_dir}/logits.jsonl")

if __name__ == "__main__":
    main(sys.argv[1:])
