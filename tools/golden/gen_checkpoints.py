"""Checkpoint-reader fixtures: tiny real torch.save files in test/fixtures/checkpoints/,
and checkpoints.safetensors holding, for each file, the float32 values torch itself
reads back (`torch.load(...)[name].float()`), keyed "<file>/<name>".

Files:
  basic.pth        Module state_dict (OrderedDict with _metadata) + float16 / bfloat16 / float64 /
                   int64 / int32 / uint8 / bool tensors, a transposed view, two slices of one
                   storage, an expanded (stride 0) view, a strided column, a scalar and an empty tensor
  nested.pth       {"epoch", "state_dict": {"model": sd}, "model_ema": sd_ema, "optimizer": ...}
  protocol5.pth    a state dict pickled with protocol 5 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)
  parameter.pth    nn.Parameter values (torch._utils._rebuild_parameter)
  nontensor.pth    tensors mixed with str / int / float / None / list values and a list of tensors
  zip64.pth        basic.pth re-packed by Python's zipfile with zip64 records forced
  deflated.pth     basic.pth re-packed with deflate (torch never does this: must be rejected)
  forbidden_os_system.pth   hand-written pickle calling GLOBAL 'os system'
  forbidden_reduce.pth      an object whose __reduce__ returns (os.system, ...) -> 'posix.system'
  whole_module.pth          torch.save(nn.Linear) -> refuses the class global
  legacy.pth       the pre-1.6 non-zip format (_use_new_zipfile_serialization=False)
  torchscript.pt   torch.jit.save of a tiny module
  plain_p{2,3,4,5}.pkl  CPython's pickle.dumps(PLAIN, protocol) of the plain object below (no torch),
                   which test/load/pickle.test.ts spells out as the expected value
"""
import collections
import os
import pickle
import zipfile

import numpy as np
import torch

from common import FIXTURES, save_fixture, synthetic_tensor

OUT = os.path.join(FIXTURES, "checkpoints")


def save(name: str, obj, **kwargs) -> str:
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kwargs)
    return path


def expected(prefix: str, state: dict) -> dict:
    """What torch reads back, as float32 contiguous tensors."""
    return {f"{prefix}/{k}": v.detach().float().contiguous() for k, v in state.items()}


def to_bfloat16(values: torch.Tensor) -> torch.Tensor:
    """float32 -> bfloat16 (round to nearest even, NaN as 0x7fc0), spelled out: torch's vector kernels
    write other NaN bits than its scalar ones, and the file must not depend on the CPU."""
    bits = values.numpy().view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded = np.where(np.isnan(values.numpy()), 0x7FC0, rounded).astype(np.uint16)
    return torch.from_numpy(rounded.view(np.int16)).view(torch.bfloat16)


def seeded_linear(tag: str) -> torch.nn.Linear:
    """nn.Linear(2, 2) with synthetic values (its random init differs between CPU kernels)."""
    layer = torch.nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(synthetic_tensor(tag + ".weight", [2, 2], 1.0))
        layer.bias.copy_(synthetic_tensor(tag + ".bias", [2], 1.0))
    return layer


def basic_state() -> collections.OrderedDict:
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2), torch.nn.BatchNorm2d(4))
    sd = module.state_dict()  # OrderedDict carrying _metadata (pickled with BUILD)
    for k, v in sd.items():
        if v.is_floating_point():
            sd[k] = synthetic_tensor("basic." + k, list(v.shape), 1.0)
    sd["1.num_batches_tracked"] = torch.tensor(7)
    specials = [0.0, -0.0, 1.0, -2.5, 65504.0, 2.0 ** -24, 2.0 ** -14, float("inf"), float("-inf"), float("nan")]
    sd["half"] = torch.tensor(specials + [0.1, 1 / 3], dtype=torch.float16)
    sd["bf16"] = to_bfloat16(torch.cat([torch.tensor(specials), synthetic_tensor("bf16", [6], 100.0)]))
    sd["double"] = torch.tensor([0.1, 1 / 3, 1e-50, 1e300, -7.0], dtype=torch.float64)  # rounds / flushes / overflows in float32
    sd["int64"] = torch.tensor([-3, 0, 2 ** 20, 2 ** 40 + 1, -(2 ** 31)], dtype=torch.int64)
    sd["int32"] = torch.tensor([-5, 2 ** 30], dtype=torch.int32)
    sd["uint8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    base = synthetic_tensor("base", [3, 5], 1.0)
    sd["transposed"] = base.t()  # [5, 3], strides (1, 5)
    shared = synthetic_tensor("shared", [4, 6], 1.0)
    sd["shared_a"] = shared[1:3]  # rows 1-2: storage offset 6
    sd["shared_b"] = shared[:, 2:5]  # a non-contiguous window of the same storage
    sd["column"] = shared[:, 4]  # 1-D, stride 6, offset 4
    sd["expanded"] = synthetic_tensor("expanded", [3, 1], 1.0).expand(3, 4)  # stride 0
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def small_state(tag: str) -> dict:
    return {"fc.weight": synthetic_tensor(tag + ".fc.weight", [2, 3], 1.0), "fc.bias": synthetic_tensor(tag + ".fc.bias", [2], 1.0)}


def repack(source: str, target: str, compression: int, force_zip64: bool) -> str:
    """Copies a zip entry by entry with Python's zipfile (fixed timestamps)."""
    limit, count_limit = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    if force_zip64:  # every size/offset above 64 counts as "large", so zip64 fields and records are written
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 64, 1
    try:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
            for info in src.infolist():
                out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                out.compress_type = compression
                dst.writestr(out, src.read(info.filename))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limit, count_limit
    return target


def replace_pickle(source: str, target: str, pickle_bytes: bytes) -> str:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = pickle_bytes if info.filename.endswith("data.pkl") else src.read(info.filename)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return target


class CallsOsSystem:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


class TinyScript(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = seeded_linear("script.fc")

    def forward(self, x):
        return self.fc(x)


def plain_object():
    """Mirrored literally in test/load/pickle.test.ts."""
    shared = [7]
    return {
        "a": 1,
        "numbers": [0, 255, 256, 65535, 65536, -1, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 70), 2 ** 64],
        "floats": [0.5, -1e-300, 1e300, float("inf")],
        "flags": [True, False, None],
        "text": ("x", "\u00fc\u20ac\U0001F600", ""),
        "empty": [{}, [], ()],
        "nested": collections.OrderedDict([("k", {"deep": (1,)})]),
        "s1": shared,
        "s2": shared,
        65536: "int key",
        "many": [f"s{i}" for i in range(300)],  # > 256 memo entries: LONG_BINPUT
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    written = []
    golden = {}

    sd = basic_state()
    written.append(save("basic.pth", sd))
    golden.update(expected("basic", sd))

    model, ema = small_state("model"), small_state("ema")
    optimizer = {"state": {0: {"step": 4, "exp_avg": synthetic_tensor("exp_avg", [2, 3], 1.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    written.append(save("nested.pth", {"epoch": 3, "state_dict": {"model": model}, "model_ema": ema, "optimizer": optimizer}))
    golden.update(expected("nested", model))
    golden.update(expected("nested_ema", ema))
    golden.update(expected("nested_optimizer", {"0.exp_avg": optimizer["state"][0]["exp_avg"]}))

    p5 = small_state("protocol5")
    written.append(save("protocol5.pth", p5, pickle_protocol=5))
    golden.update(expected("protocol5", p5))

    params = {"weight": torch.nn.Parameter(synthetic_tensor("param.weight", [3, 2], 1.0)),
              "frozen": torch.nn.Parameter(synthetic_tensor("param.frozen", [2], 1.0), requires_grad=False)}
    written.append(save("parameter.pth", params))
    golden.update(expected("parameter", params))

    w, x, l0, l1 = (synthetic_tensor(n, [2, 2], 1.0) for n in ("nt.w", "nt.x", "nt.l0", "nt.l1"))
    written.append(save("nontensor.pth", {"w": w, "note": "hello", "step": 5, "lr": 0.1, "flags": [1, 2],
                                          "nested": {"x": x, "y": None}, "layers": [l0, l1], "huge": 2 ** 70}))
    golden.update(expected("nontensor", {"w": w, "nested.x": x, "layers.0": l0, "layers.1": l1}))

    basic = os.path.join(OUT, "basic.pth")
    written.append(repack(basic, os.path.join(OUT, "zip64.pth"), zipfile.ZIP_STORED, force_zip64=True))
    written.append(repack(basic, os.path.join(OUT, "deflated.pth"), zipfile.ZIP_DEFLATED, force_zip64=False))

    # GLOBAL 'os system', memo, a str argument, TUPLE1, REDUCE, SETITEM, STOP: {"x": os.system("...")}
    by_hand = b"\x80\x02}q\x00X\x01\x00\x00\x00xq\x01cos\nsystem\nq\x02X\x05\x00\x00\x00echo!q\x03\x85q\x04Rq\x05s."
    written.append(replace_pickle(os.path.join(OUT, "protocol5.pth"), os.path.join(OUT, "forbidden_os_system.pth"), by_hand))
    written.append(save("forbidden_reduce.pth", {"x": torch.zeros(2), "payload": CallsOsSystem()}))
    written.append(save("whole_module.pth", seeded_linear("whole_module")))
    written.append(save("legacy.pth", small_state("legacy"), _use_new_zipfile_serialization=False))
    torch.jit.save(torch.jit.script(TinyScript()), os.path.join(OUT, "torchscript.pt"))
    written.append(os.path.join(OUT, "torchscript.pt"))

    for protocol in (2, 3, 4, 5):
        path = os.path.join(OUT, f"plain_p{protocol}.pkl")
        with open(path, "wb") as f:
            pickle.dump(plain_object(), f, protocol=protocol)
        written.append(path)

    for name in ("basic", "nested", "protocol5", "parameter", "nontensor"):  # torch reads back what the tests expect
        torch.load(os.path.join(OUT, name + ".pth"))
    # PyTorch's own reader (miniz) refuses Python's small-offset zip64 records, although
    # Info-ZIP `unzip -t` and zipfile accept them: check the entries are byte-identical instead.
    with zipfile.ZipFile(basic) as a, zipfile.ZipFile(os.path.join(OUT, "zip64.pth")) as b:
        assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
        assert all(a.read(n) == b.read(n) for n in a.namelist())
        assert any(len(i.extra) >= 12 for i in b.infolist()), "no zip64 extra fields were written"
    written.append(save_fixture("checkpoints", golden))
    return written
