"""Animated PNG goldens: small APNGs written by PIL (its encoder crops each frame to the region that
changed, so frames are sub-regions of the canvas) with each dispose / blend op, and the frames PIL's
reader composites from them (Image.open(f); seek(t); convert("RGB")).

Writes test/fixtures/images/apng/<case>.png and test/fixtures/apng.safetensors: per case, the frames
[T, H, W, 3] (uint8 values stored as float32).
"""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURES, save_fixture  # noqa: E402

FOLDER = os.path.join(FIXTURES, "images", "apng")
W, H, T = 24, 20, 5


def backdrop(channels, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.stack([(xx * 9 + c * 40) % 256 for c in range(3)] + [np.full((H, W), 255)], -1)
    base = base + rng.integers(0, 8, (H, W, 4))
    return np.clip(base, 0, 255).astype(np.uint8)[..., :channels]


def moving_frames(channels, alpha_values, seed):
    """A 6x5 block moving right and down over a backdrop; with 4 channels, part of the canvas is
    transparent and the block's alpha cycles through `alpha_values`."""
    frames = []
    for t in range(T):
        f = backdrop(channels, seed).copy()
        if channels == 4:
            f[: H // 3, :, 3] = 0  # a transparent band across the top
        x, y = 2 + 3 * t, 1 + 2 * t
        f[y: y + 5, x: x + 6, :3] = [200 - 30 * t, 40 + 20 * t, 90]
        if channels == 4:
            f[y: y + 5, x: x + 6, 3] = alpha_values[t % len(alpha_values)]
        frames.append(Image.fromarray(f, "RGBA" if channels == 4 else "RGB"))
    return frames


def cases():
    rgb = moving_frames(3, None, 1)
    rgba = moving_frames(4, [255, 0, 255], 2)
    partial = moving_frames(4, [255, 128, 60], 3)
    palette = [f.quantize(colors=32, method=Image.Quantize.MEDIANCUT) for f in moving_frames(3, None, 4)]
    return {
        "rgb_none_source": (rgb, dict(disposal=0, blend=0)),
        "rgba_background_over": (rgba, dict(disposal=1, blend=1)),
        "rgba_previous_over": (rgba, dict(disposal=2, blend=1)),
        "rgba_none_source": (rgba, dict(disposal=0, blend=0)),
        "rgba_partial_none_over": (partial, dict(disposal=0, blend=1)),
        "palette_none_source": (palette, dict(disposal=0, blend=0)),
    }


def main():
    os.makedirs(FOLDER, exist_ok=True)
    tensors = {}
    written = []
    for name, (frames, options) in cases().items():
        path = os.path.join(FOLDER, name + ".png")
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, **options)
        with Image.open(path) as im:
            decoded = []
            for t in range(im.n_frames):
                im.seek(t)
                decoded.append(np.asarray(im.convert("RGB")))
        tensors[name] = np.stack(decoded)
        written.append(path)
    written.append(save_fixture("apng", tensors, {"cases": ",".join(sorted(tensors)), "frames": T}))
    return written


if __name__ == "__main__":
    main()
