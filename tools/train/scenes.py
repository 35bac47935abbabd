"""Cluttered Fashion-MNIST scenes: one item at random scale and position on a 224x224 canvas.

The same generator is implemented in src/data/scenes.ts; both produce byte-identical scenes.

Scene spec (v1). Every quantity is a non-negative integer; a // b is floor division, >> a right shift.
  rng      = Mulberry32(fnv1a("fashion-scene/" + split + "/" + index))      split: "train" | "test"
  below(n) = (rng.next_uint32() * n) >> 32                                  uniform integer in [0, n)
  items    = the split's Fashion-MNIST images (28x28 uint8) and labels; N of them
             ("train": the 60000 train items; "test": the 10000 t10k items, nothing else)
Draws, in this order:
  1. target   t = below(N); label = labels[t]; S = 48 + below(113) (48..160 px)
              x = below(225 - S); y = below(225 - S)                 (the S x S square lies inside the canvas)
  2. backdrop lo = below(64); span = 32 + below(65)
              G[gy][gx] = lo + below(span + 1) for gy in 0..8, gx in 0..8 (row-major)
              dx = below(5); dy = below(5); period = 4 + below(13); amp = below(41); na = below(33)
              noise[py][px] = below(na + 1) for every pixel, row-major (50176 draws)
              bilinear grid, cells of 28 px: i = px // 28, fx = px % 28, j = py // 28, fy = py % 28
                top = G[j][i] * (28 - fx) + G[j][i + 1] * fx;  bot = G[j + 1][i] * (28 - fx) + G[j + 1][i + 1] * fx
                grid = (top * (28 - fy) + bot * fy) // 784
              stripe = amp if ((px * dx + py * dy - 2 * (px + py) + 1024) // period) % 2 == 0 else 0
                       (i.e. direction (dx - 2, dy - 2), kept non-negative by the +1024)
              gray[py][px] = min(255, grid + stripe + noise)
  3. clutter  D = 2 + below(4); for each of the D fragments, in order:
                k = below(N); if k == t: k = (k + 1) % N
                cw = 8 + below(9); ch = 8 + below(9); cx = below(29 - cw); cy = below(29 - ch)
                m = 2 + below(5); ox = below(225 - cw * m); oy = below(225 - ch * m); level = 128 + below(129)
                for v in 0..ch*m-1, u in 0..cw*m-1: paint(ox + u, oy + v, items[k][cy + v // m][cx + u // m], level)
  4. target   for v in 0..S-1, u in 0..S-1: paint(x + u, y + v, items[t][(v * 28) // S][(u * 28) // S], 256)
     paint(px, py, s, level): f = (s * level) >> 8; op = min(256, 8 * s)
                              gray[py][px] = (gray[py][px] * (256 - op) + f * op) >> 8
  5. tint     tr = 200 + below(57); tg = 200 + below(57); tb = 200 + below(57)
              rgb[py][px] = ((gray * tr) >> 8, (gray * tg) >> 8, (gray * tb) >> 8)      -> uint8 [224, 224, 3]
Box: the tight box of the target's painted pixels with s > 0, [x0, y0, x1, y1] (x1, y1 exclusive); the whole
S x S square if the item had no non-zero pixel.
"""
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden"))
from common import Mulberry32, fnv1a  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = 224
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
M32 = 0xFFFFFFFF
STEP = 0x6D2B79F5

# Where each split's items come from: the committed t10k files, and Debian's copy of the train set.
ITEM_FILES = {
    "test": (os.path.join(ROOT, "data", "fashion-mnist"), "t10k"),
    "train": (os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"), "train"),
}


def read_idx(path: str) -> np.ndarray:
    """Parses a gzipped IDX file (unsigned byte data) into a uint8 array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"read_idx: {path} is not an unsigned-byte IDX file")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"read_idx: {path} has {data.size} values, header says {dims}")
    return data.reshape(dims)


def load_items(split: str):
    """(images uint8 [N, 28, 28], labels uint8 [N]) of the split's Fashion-MNIST items."""
    if split not in ITEM_FILES:
        raise ValueError(f"load_items: split must be 'train' or 'test', got {split!r}")
    folder, prefix = ITEM_FILES[split]
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise ValueError(f"load_items({split}): images {images.shape} and labels {labels.shape} do not match")
    return images, labels


class SceneRng:
    """Mulberry32 with integer draws; many() returns the next n outputs at once (same values as n steps)."""

    def __init__(self, seed: int):
        self.rng = Mulberry32(seed)

    def below(self, n: int) -> int:
        return (self.rng.next_uint32() * n) >> 32

    def many_below(self, n: int, count: int) -> np.ndarray:
        # Mulberry32's k-th state is seed + k * STEP, so the outputs can be computed all at once.
        s = (self.rng.state + STEP * np.arange(1, count + 1, dtype=np.uint64)) & M32
        t = ((s ^ (s >> 15)) * (s | 1)) & M32
        t = t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)
        t = (t ^ (t >> 14)) & M32
        self.rng.state = (self.rng.state + STEP * count) & M32
        return ((t * n) >> 32).astype(np.int64)


def scene_seed(split: str, index: int) -> int:
    return fnv1a(f"fashion-scene/{split}/{index}")


def _paint(gray: np.ndarray, px: int, py: int, src: np.ndarray, level: int) -> None:
    """Blends src (int64 [h, w], item values 0..255) into gray at (px, py) with opacity min(256, 8 s)."""
    h, w = src.shape
    f = (src * level) >> 8
    op = np.minimum(256, 8 * src)
    region = gray[py:py + h, px:px + w]
    gray[py:py + h, px:px + w] = (region * (256 - op) + f * op) >> 8


def _backdrop(rng: SceneRng) -> np.ndarray:
    lo = rng.below(64)
    span = 32 + rng.below(65)
    grid = np.array([lo + rng.below(span + 1) for _ in range(81)], dtype=np.int64).reshape(9, 9)
    dx, dy = rng.below(5), rng.below(5)
    period = 4 + rng.below(13)
    amp = rng.below(41)
    na = rng.below(33)
    noise = rng.many_below(na + 1, SIZE * SIZE).reshape(SIZE, SIZE)

    p = np.arange(SIZE, dtype=np.int64)
    cell, frac = p // 28, p % 28
    # rows of G interpolated along x at every column: [9, 224]
    along_x = grid[:, cell] * (28 - frac) + grid[:, cell + 1] * frac
    top, bot = along_x[cell], along_x[cell + 1]  # [224 (y), 224 (x)]
    smooth = (top * (28 - frac)[:, None] + bot * frac[:, None]) // 784
    phase = p[None, :] * (dx - 2) + p[:, None] * (dy - 2) + 1024
    stripe = np.where((phase // period) % 2 == 0, amp, 0)
    return np.minimum(255, smooth + stripe + noise)


def make_scene(items: np.ndarray, labels: np.ndarray, split: str, index: int):
    """One scene: (rgb uint8 [224, 224, 3], label int, box [x0, y0, x1, y1])."""
    rng = SceneRng(scene_seed(split, index))
    n = items.shape[0]
    t = rng.below(n)
    label = int(labels[t])
    s = 48 + rng.below(113)
    x, y = rng.below(225 - s), rng.below(225 - s)

    gray = _backdrop(rng)

    for _ in range(2 + rng.below(4)):
        k = rng.below(n)
        if k == t:
            k = (k + 1) % n
        cw, ch = 8 + rng.below(9), 8 + rng.below(9)
        cx, cy = rng.below(29 - cw), rng.below(29 - ch)
        m = 2 + rng.below(5)
        ox, oy = rng.below(225 - cw * m), rng.below(225 - ch * m)
        level = 128 + rng.below(129)
        crop = items[k, cy:cy + ch, cx:cx + cw].astype(np.int64)
        _paint(gray, ox, oy, np.repeat(np.repeat(crop, m, axis=0), m, axis=1), level)

    src_index = (np.arange(s) * 28) // s
    target = items[t].astype(np.int64)[src_index[:, None], src_index[None, :]]
    _paint(gray, x, y, target, 256)

    tint = np.array([200 + rng.below(57) for _ in range(3)], dtype=np.int64)
    rgb = ((gray[:, :, None] * tint[None, None, :]) >> 8).astype(np.uint8)

    rows, cols = np.nonzero(target.any(axis=1))[0], np.nonzero(target.any(axis=0))[0]
    if rows.size == 0:
        box = [x, y, x + s, y + s]
    else:
        box = [x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1]
    return rgb, label, box


def make_batch(items, labels, split: str, start: int, count: int):
    """Scenes start..start+count-1: (uint8 [count, 224, 224, 3], int64 labels [count], int64 boxes [count, 4])."""
    images = np.empty((count, SIZE, SIZE, 3), dtype=np.uint8)
    ys = np.empty(count, dtype=np.int64)
    boxes = np.empty((count, 4), dtype=np.int64)
    for i in range(count):
        images[i], ys[i], boxes[i] = make_scene(items, labels, split, start + i)
    return images, ys, boxes
