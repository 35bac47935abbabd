"""Shared helpers for the golden-output generators (Debian's python3-torch).

The seeded generator below is implemented identically in src/tensor/random.ts:
  state = fnv1a(name) ^ seed;  mulberry32 step -> uint32 u;  uniform = (u >> 8) / 2**24
  synthetic_tensor(name, shape, scale) = float32(scale * (2 * uniform - 1))
so TS tests can rebuild large synthetic weights instead of reading them from fixtures.
"""
import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED_FIXTURES = os.path.join(ROOT, "test", "fixtures")
# Where generators write: the committed folder, or another one (make_all.py --check sets a temporary folder).
OUT_ENV = "PAPR_GOLDENS_OUT"
FIXTURES = os.path.abspath(os.environ.get(OUT_ENV) or COMMITTED_FIXTURES)
# Fixtures a generator could not rebuild on this machine: (path relative to FIXTURES, reason).
SKIPPED: list = []
M32 = 0xFFFFFFFF


def fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & M32
    return h


class Mulberry32:
    def __init__(self, seed: int):
        self.state = seed & M32

    def next_uint32(self) -> int:
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32
        return (t ^ (t >> 14)) & M32

    def uniform(self) -> float:
        return (self.next_uint32() >> 8) / 16777216.0


def uniform_array(seed: int, count: int) -> np.ndarray:
    """`count` uniforms of Mulberry32(seed), vectorised (same values as the loop)."""
    s = (seed + 0x6D2B79F5 * np.arange(1, count + 1, dtype=np.uint64)) & M32
    t = s
    t = ((t ^ (t >> 15)) * (t | 1)) & M32
    t = t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)
    t = (t ^ (t >> 14)) & M32
    return (t >> 8).astype(np.float64) / 16777216.0


def synthetic_tensor(name: str, shape, scale: float, seed: int = 0) -> torch.Tensor:
    count = int(np.prod(shape)) if len(shape) else 1
    u = uniform_array((fnv1a(name) ^ seed) & M32, count)
    values = (scale * (2.0 * u - 1.0)).astype(np.float32)
    return torch.from_numpy(values.reshape(shape))


def skip_fixture(relative_path: str, reason: str) -> None:
    """Records a fixture left unwritten (make_all.py --check reports it as not checked)."""
    SKIPPED.append((relative_path, reason))


def save_fixture(name: str, tensors: dict, metadata: dict | None = None) -> str:
    """Writes FIXTURES/<name>.safetensors (float32, names sorted, 8-byte aligned)."""
    path = os.path.join(FIXTURES, name + ".safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for key in sorted(tensors):
        value = tensors[key]
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        arr = np.require(arr.astype("<f4"), requirements="C")
        blob = arr.tobytes()
        header[key] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"))
    while (8 + len(text.encode())) % 8:
        text += " "
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text.encode())))
        f.write(text.encode())
        for blob in blobs:
            f.write(blob)
    return path


def rand(name: str, shape, scale: float = 1.0) -> torch.Tensor:
    """Fixture inputs: small, seeded by name."""
    return synthetic_tensor(name, shape, scale)


def synthetic_parameter(name: str, shape, seed: int = 0) -> torch.Tensor:
    """Mirror of syntheticParameter in src/models/synthetic.ts (same rule, same float32 values)."""
    shape = list(shape)
    if name.endswith("running_var"):
        return 1.0 + synthetic_tensor(name, shape, 0.5, seed)
    if name.endswith("running_mean"):
        return synthetic_tensor(name, shape, 0.1, seed)
    if name.endswith(".weight") and len(shape) == 1:
        return 1.0 + synthetic_tensor(name, shape, 0.1, seed)
    if name.endswith(".bias"):
        return synthetic_tensor(name, shape, 0.05, seed)
    if name.endswith(".weight") and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return synthetic_tensor(name, shape, float(np.sqrt(3.0 / fan_in)), seed)
    return synthetic_tensor(name, shape, 0.1, seed)


def load_synthetic(module: torch.nn.Module, seed: int = 0, skip=("num_batches_tracked",)) -> dict:
    """Fills every parameter and buffer of `module` by the shared rule; returns {name: shape}."""
    state = module.state_dict()
    spec = {}
    new_state = {}
    for name, value in state.items():
        if any(name.endswith(s) for s in skip):
            new_state[name] = value
            continue
        spec[name] = list(value.shape)
        new_state[name] = synthetic_parameter(name, value.shape, seed).reshape(value.shape)
    module.load_state_dict(new_state)
    return spec
