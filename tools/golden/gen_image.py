"""Image input goldens: decoding (PIL's Image.open(f).convert("RGB")), PIL resize, and timm's eval
transform as torchvision runs it (Resize(floor(size / crop_pct), BICUBIC), CenterCrop(size), ToTensor,
Normalize) on small synthetic images written here (PNG of every colour type and depth, BMP, JPEG).

Writes test/fixtures/images/*.{png,bmp,jpg} (the inputs), and the expected outputs:
test/fixtures/image.safetensors, test/fixtures/image_resize.safetensors (uint8 pixels stored as U8) and
test/fixtures/images/expected_rgb8_300x200_crop224.png (PIL's 224 crop of the 300x200 case, lossless).

Also a command line used by test/image/photos.test.ts to measure jpeg-js against PIL on real photos
without committing anything derived from them:
  /usr/bin/python3 tools/golden/gen_image.py --reference SIZE CROP_PCT FILE...
writes, for each file, width and height (uint32 LE), PIL's RGB pixels, then the float32 [3, SIZE, SIZE]
tensor of the eval transform, to stdout.
"""
import json
import os
import struct
import sys
import zlib

import warnings

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURES  # noqa: E402

IMAGES = os.path.join(FIXTURES, "images")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BICUBIC = T.InterpolationMode.BICUBIC
BILINEAR = T.InterpolationMode.BILINEAR


def eval_transform(size, crop_pct=0.875, interpolation=BICUBIC):
    """timm's transforms_factory eval path for an int img_size and crop_mode 'center'."""
    scale_size = int(np.floor(size / crop_pct))
    return T.Compose([T.Resize(scale_size, interpolation=interpolation), T.CenterCrop(size),
                      T.ToTensor(), T.Normalize(MEAN, STD)])


# ---- synthetic pictures ---------------------------------------------------------------------

def picture(h, w, seed, channels=3, noise=18.0):
    """Smooth waves + a hard-edged black/white block + noise: exercises ringing and clipping."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        v = 128 + 90 * np.sin(xx / (3.0 + c) + c) * np.cos(yy / (4.0 + 0.5 * c)) + rng.normal(0, noise, (h, w))
        v[h // 4: h // 2, w // 5: w // 2] = 255 if c % 2 == 0 else 0
        planes.append(v)
    return np.clip(np.rint(np.stack(planes, -1)), 0, 255).astype(np.uint8)


def to16(pic8, seed):
    """16-bit samples whose high byte is the 8-bit picture and low byte is noise."""
    low = np.random.default_rng(seed).integers(0, 256, pic8.shape)
    return (pic8.astype(np.uint32) * 256 + low).astype(np.uint16)


# ---- a minimal PNG writer (PIL cannot write 16-bit RGB(A), 2-bit gray or interlaced files) ------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_rows(samples, depth):
    """samples [h, w] (depth < 8) or [h, w, c] -> filtered scanlines (filter 0, big-endian)."""
    out = bytearray()
    for row in samples:
        out.append(0)
        if depth < 8:
            bits = np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, 8 - depth:].reshape(-1)
            out += np.packbits(bits).tobytes()
        elif depth == 16:
            out += row.astype(">u2").tobytes()
        else:
            out += row.astype(np.uint8).tobytes()
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, samples, color_type, depth, palette=None, trns=None, interlace=False):
    h, w = samples.shape[:2]
    if interlace:
        raw = b"".join(png_rows(samples[y0::dy, x0::dx], depth) for x0, y0, dx, dy in ADAM7
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = png_rows(samples, depth)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        data += png_chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    path = os.path.join(IMAGES, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def write_bmp(name, rgb, bits, top_down=False, masks=None):
    """Uncompressed 24/32-bit BMP; `masks` (r, g, b, a) writes a BITFIELDS (compression 3) V4 header."""
    h, w, _ = rgb.shape
    order = [2, 1, 0] if masks is None else [[0xFF, 0xFF00, 0xFF0000, 0xFF000000].index(m) for m in masks[:3]]
    stride = (bits * w + 31) // 32 * 4
    pixels = bytearray(stride * h)
    for y in range(h):
        row = (y if top_down else h - 1 - y) * stride
        for x in range(w):
            px = row + x * bits // 8
            for c in range(3):
                pixels[px + order[c]] = rgb[y, x, c]
            if bits == 32:
                pixels[px + [i for i in range(4) if i not in order][0]] = 77  # alpha / padding byte
    info_size = 108 if masks else 40
    info = struct.pack("<IiiHHIIiiII", info_size, w, -h if top_down else h, 1, bits, 3 if masks else 0, len(pixels),
                       2835, 2835, 0, 0)
    if masks:
        info += struct.pack("<IIII", *masks) + bytes(108 - 56)  # masks, then colour space fields left zero
    offset = 14 + len(info)
    data = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + bytes(pixels)
    path = os.path.join(IMAGES, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def save_pil(name, image, **options):
    path = os.path.join(IMAGES, name)
    image.save(path, **options)
    return path


def make_inputs():
    """Writes every input picture; returns {name: path}."""
    os.makedirs(IMAGES, exist_ok=True)
    paths = {
        "rgb8_64x48.png": save_pil("rgb8_64x48.png", Image.fromarray(picture(48, 64, 1))),
        "rgb8_47x61.png": save_pil("rgb8_47x61.png", Image.fromarray(picture(61, 47, 2))),
        "gray8_50x40.png": save_pil("gray8_50x40.png", Image.fromarray(picture(40, 50, 3, 1)[..., 0])),
        "rgba8_64x48.png": save_pil("rgba8_64x48.png", Image.fromarray(picture(48, 64, 4, 4))),
        "graya8_45x38.png": save_pil("graya8_45x38.png", Image.fromarray(picture(38, 45, 5, 2), "LA")),
        "gray1_37x23.png": save_pil("gray1_37x23.png", Image.fromarray(picture(23, 37, 6, 1)[..., 0] > 128)),
        # 5x5 blocks of a 60x40 picture: compresses well, and its edges still ring under bicubic
        "rgb8_300x200.png": save_pil("rgb8_300x200.png",
                                     Image.fromarray(picture(40, 60, 7)).resize((300, 200), Image.NEAREST)),
    }
    # 16-bit gray: left half below 256 (PIL keeps it), right half large (PIL's "I" -> RGB clips to 255).
    gray16 = to16(picture(50, 40, 8, 1)[..., 0], 9)
    gray16[:, :20] = picture(50, 20, 10, 1)[..., 0]
    paths["gray16_40x50.png"] = write_png("gray16_40x50.png", gray16, 0, 16)
    paths["graya16_38x45.png"] = write_png("graya16_38x45.png", to16(picture(45, 38, 11, 2), 12), 4, 16)
    paths["rgb16_61x47.png"] = write_png("rgb16_61x47.png", to16(picture(47, 61, 13), 14), 2, 16)
    paths["rgba16_48x64.png"] = write_png("rgba16_48x64.png", to16(picture(64, 48, 15, 4), 16), 6, 16)
    levels = picture(20, 30, 17, 1)[..., 0]
    paths["gray2_30x20.png"] = write_png("gray2_30x20.png", levels >> 6, 0, 2)
    paths["gray4_30x20.png"] = write_png("gray4_30x20.png", levels >> 4, 0, 4)
    palette = np.random.default_rng(18).integers(0, 256, (16, 3))
    paths["palette4_33x29.png"] = write_png("palette4_33x29.png", picture(29, 33, 19, 1)[..., 0] >> 4, 3, 4,
                                            palette=palette, trns=bytes([0, 128, 255]))
    quantised = Image.fromarray(picture(48, 64, 20)).quantize(64)
    paths["palette8_64x48.png"] = save_pil("palette8_64x48.png", quantised, transparency=3)
    paths["adam7_rgb8_35x27.png"] = write_png("adam7_rgb8_35x27.png", picture(27, 35, 21), 2, 8, interlace=True)
    paths["adam7_rgb16_19x22.png"] = write_png("adam7_rgb16_19x22.png", to16(picture(22, 19, 22), 23), 2, 16,
                                               interlace=True)
    # BMP: PIL's own 24-bit writer, and hand-written 32-bit, top-down and BITFIELDS variants.
    paths["bgr24_31x17.bmp"] = save_pil("bgr24_31x17.bmp", Image.fromarray(picture(17, 31, 24)))
    paths["bgrx32_topdown_21x13.bmp"] = write_bmp("bgrx32_topdown_21x13.bmp", picture(13, 21, 25), 32, top_down=True)
    paths["bitfields32_18x11.bmp"] = write_bmp("bitfields32_18x11.bmp", picture(11, 18, 26), 32,
                                               masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000))
    # JPEG (decoder differences are measured, not required to be zero).
    photo = Image.fromarray(picture(48, 64, 27))
    paths["baseline444_64x48.jpg"] = save_pil("baseline444_64x48.jpg", photo, quality=92, subsampling=0)
    paths["baseline420_64x48.jpg"] = save_pil("baseline420_64x48.jpg", photo, quality=92, subsampling=2)
    paths["progressive_64x48.jpg"] = save_pil("progressive_64x48.jpg", photo, quality=92, subsampling=0,
                                              progressive=True)
    paths["gray_64x48.jpg"] = save_pil("gray_64x48.jpg", photo.convert("L"), quality=92)
    paths["cmyk_64x48.jpg"] = save_pil("cmyk_64x48.jpg", photo.convert("CMYK"), quality=92)
    return paths


# ---- goldens ----------------------------------------------------------------------------------

def save_u8_fixture(name, tensors, metadata=None):
    """Like common.save_fixture, but numpy uint8 arrays are stored as U8 (4x smaller), the rest as F32."""
    header = {"__metadata__": {k: str(v) for k, v in (metadata or {}).items()}}
    blobs, offset = [], 0
    for key in sorted(tensors):
        value = tensors[key]
        arr = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        dtype, arr = ("U8", arr) if arr.dtype == np.uint8 else ("F32", arr.astype("<f4"))
        blob = np.ascontiguousarray(arr).tobytes()
        header[key] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    path = os.path.join(FIXTURES, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + b"".join(blobs))
    return path


def decoded(path):
    with Image.open(path) as im, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Palette images with Transparency ...": convert("RGB") drops it, as timm does
        return im.convert("RGB")


WITH_TENSOR = ["rgb8_64x48.png", "rgb8_47x61.png", "gray16_40x50.png"]


def image_goldens(paths):
    out = {}
    small = eval_transform(32)  # Resize(36) + CenterCrop(32)
    for name, path in paths.items():
        rgb = decoded(path)
        if name == "rgb8_300x200.png":
            continue  # only its 224 crop is kept (below)
        out[name + ".decoded"] = np.asarray(rgb)
        if name.endswith(".png"):
            out[name + ".resized"] = np.asarray(T.Resize(36, interpolation=BICUBIC)(rgb))
        if name in WITH_TENSOR:
            out[name + ".tensor"] = small(rgb)[None]
    rgb = decoded(paths["rgb8_64x48.png"])
    out["rgb8_64x48.png.bilinear.tensor"] = eval_transform(32, interpolation=BILINEAR)(rgb)[None]
    out["rgb8_64x48.png.crop_pct_1.tensor"] = eval_transform(32, crop_pct=1.0)(rgb)[None]
    # CenterCrop offsets that are x.5: Python's round() goes to even (33x44 -> top round(0.5) = 0,
    # 37x49 -> top round(2.5) = 2, left round(8.5) = 8)
    out["rgb8_64x48.png.crop_pct_0.95.tensor"] = eval_transform(32, crop_pct=0.95)(rgb)[None]
    out["rgb8_64x48.png.crop_pct_0.86.tensor"] = eval_transform(32, crop_pct=0.86)(rgb)[None]
    # crop larger than the resized image: torchvision pads with zeros before cropping
    out["rgb8_47x61.png.padded.tensor"] = eval_transform(32, crop_pct=1.2)(decoded(paths["rgb8_47x61.png"]))[None]
    big = decoded(paths["rgb8_300x200.png"])
    crop = T.CenterCrop(224)(T.Resize(256, interpolation=BICUBIC)(big))
    crop_path = save_pil("expected_rgb8_300x200_crop224.png", crop)  # lossless, smaller than raw U8
    return [save_u8_fixture("image", out), crop_path]


RESIZE_CASES = [(17, 13), (7, 5), (1, 1), (40, 71), (97, 30), (40, 9), (23, 30), (61, 45), (13, 29)]


def resize_goldens():
    """PIL Image.resize on a noisy 40x30 RGB picture (values at 0 and 255 force clipping)."""
    rng = np.random.default_rng(30)
    source = np.where(rng.random((30, 40, 3)) < 0.15, 255 * rng.integers(0, 2, (30, 40, 3)),
                      picture(30, 40, 31)).astype(np.uint8)
    image = Image.fromarray(source)
    out = {"input": source}
    for w, h in RESIZE_CASES:
        out[f"bicubic_{w}x{h}"] = np.asarray(image.resize((w, h), Image.BICUBIC))
        out[f"bilinear_{w}x{h}"] = np.asarray(image.resize((w, h), Image.BILINEAR))
    return save_u8_fixture("image_resize", out)


def main():
    paths = make_inputs()
    return sorted(paths.values()) + image_goldens(paths) + [resize_goldens()]


# ---- reference output for real photos (nothing is written to disk) ----------------------------

def reference(size, crop_pct, files):
    transform = eval_transform(size, crop_pct)
    for path in files:
        rgb = decoded(path)
        sys.stdout.buffer.write(struct.pack("<II", *rgb.size) + np.asarray(rgb).tobytes())
        sys.stdout.buffer.write(transform(rgb).numpy().astype("<f4").tobytes())
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) >= 4 and sys.argv[1] == "--reference":
        reference(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:])
    else:
        print(", ".join(os.path.basename(p) for p in main()))
