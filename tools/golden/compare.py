"""Compares a freshly generated fixture folder with the committed one (make_all.py --check).

Every file under either folder is compared by the rule for its kind:
  *.safetensors   same tensor names, dtypes and shapes; values by TOLERANCES below; same metadata
  images/*        same decoded pixels (PIL: mode, size, bytes); the tests decode these files
  *.pkl           same bytes (CPython's pickle is deterministic)
  legacy .pth     same tensors as torch.load reads them (the format stores memory addresses as keys)
  other .pth/.pt  same zip entries, byte for byte, except TorchScript's *.debug_pkl (they hold the
                  absolute path of the generator script on the machine that ran it)
Returns one Result per file.
"""
import fnmatch
import json
import os
import re
import struct
import zipfile
from collections import namedtuple

import numpy as np

# worst: largest relative difference over the file's tensors (None: not a tensor comparison);
# by_rule: {rule: largest difference among tensors under that rule}.
Result = namedtuple("Result", "path ok worst note by_rule", defaults=(None, "", {}))

EXACT = ("exact", 0.0)


def scaled(tolerance: float):
    """max |new - committed| / max |committed| over one tensor (test/golden.ts relativeError)."""
    return ("scaled", tolerance)


def pointwise(tolerance: float):
    """max over elements of |new - committed| / |committed| (checkPointwise in elementwise.test.ts)."""
    return ("pointwise", tolerance)


# The tolerance each test allows when it reads the fixture; first matching row wins.
# Integer-dtype tensors are always compared exactly, whatever the row says.
#   file (glob)                        tensor names (regex)                  rule               read by (test/...)
TOLERANCES = [
    ("random.safetensors",               r".*",                               EXACT,             "tensor/random.test.ts"),
    ("kernel_shape.safetensors",         r".*",                               EXACT,             "tensor/shape.test.ts"),
    ("kernel_sort.safetensors",          r".*",                               EXACT,             "tensor/sort.test.ts"),
    ("kernel_elementwise.safetensors",   r"erfc?|gelu_erfc",                  pointwise(1.2e-7), "tensor/elementwise.test.ts"),
    ("kernel_*.safetensors",             r".*",                               scaled(1e-5),      "tensor/*.test.ts"),
    ("video_kernels.safetensors",        r".*",                               scaled(1e-5),      "tensor/video_kernels.test.ts"),
    ("adaptive_*.safetensors",           r"kept|labels|rows_.*|tokens_.*",    EXACT,             "papr/adaptive_pruning_golden.test.ts"),
    ("adaptive_*.safetensors",           r"scores_.*",                        scaled(1e-5),      "papr/adaptive_pruning_golden.test.ts"),
    ("adaptive_*.safetensors",           r"logits_.*",                        scaled(1e-4),      "papr/adaptive_pruning_golden.test.ts"),
    ("attnprune_attention_taps.safetensors", r".*",                           scaled(1e-5),      "papr/attention_pruning_golden.test.ts"),
    ("attnprune_*.safetensors",          r"kept|groups_.*|tokens_.*",         EXACT,             "papr/attention_pruning_golden.test.ts"),
    ("attnprune_*.safetensors",          r"scores_.*",                        scaled(1e-5),      "papr/attention_pruning_golden.test.ts"),
    ("attnprune_*.safetensors",          r"logits_.*",                        scaled(1e-4),      "papr/attention_pruning_golden.test.ts"),
    ("papr_*.safetensors",               r"kept_.*",                          EXACT,             "papr/papr_golden.test.ts"),
    ("papr_*.safetensors",               r"proposal|significance",            scaled(1e-5),      "papr/papr_golden.test.ts"),
    ("papr_*.safetensors",               r"logits_.*",                        scaled(1e-4),      "papr/papr_golden.test.ts"),
    ("tome_*.safetensors",               r"kept|groups_.*|tokens_.*",         EXACT,             "papr/tome_golden.test.ts"),
    ("tome_*.safetensors",               r"logits_.*",                        scaled(1e-4),      "papr/tome_golden.test.ts"),
    ("vit_*.safetensors",                r"input_head|pruned_patches",        EXACT,             "models/vit_golden.ts, models/vit.test.ts"),
    ("vit_*.safetensors",                r"embed_.*|block0_.*",               scaled(1e-5),      "models/vit_golden.ts"),
    ("vit_*.safetensors",                r"logits.*",                         scaled(1e-4),      "models/vit_golden.ts, models/vit.test.ts"),
    ("r3d_18.safetensors",               r"input_head",                       EXACT,             "models/resnet3d.test.ts"),
    ("r3d_18.safetensors",               r".*",                               scaled(1e-4),      "models/resnet3d.test.ts"),
    ("video_vit_*.safetensors",          r"input_head|keep",                  EXACT,             "models/video_vit.test.ts"),
    ("video_vit_*.safetensors",          r"embed_.*|positions_.*|block0_.*",  scaled(1e-5),      "models/video_vit.test.ts"),
    ("video_vit_*.safetensors",          r"logits.*",                         scaled(1e-4),      "models/video_vit.test.ts"),
    ("resnet*.safetensors",              r"input_head",                       EXACT,             "models/resnet.test.ts"),
    ("resnet*.safetensors",              r".*",                               scaled(1e-4),      "models/resnet.test.ts"),
    ("video_papr.safetensors",           r"input_head|ranking|kept_.*",       EXACT,             "papr/video_papr.test.ts"),
    ("video_papr.safetensors",           r"logits_.*",                        scaled(1e-4),      "papr/video_papr.test.ts"),
    ("video_papr.safetensors",           r".*",                               scaled(1e-5),      "papr/video_papr.test.ts"),
    ("x3d_*.safetensors",                r"input_head",                       EXACT,             "models/x3d.test.ts"),
    ("x3d_*.safetensors",                r".*",                               scaled(1e-5),      "models/x3d.test.ts"),
    ("mobileone_*.safetensors",          r"input_head",                       EXACT,             "models/mobileone.test.ts"),
    ("mobileone_*.safetensors",          r".*",                               scaled(1e-4),      "models/mobileone.test.ts"),
    ("tflite_int.safetensors",           r".*",                               EXACT,             "models/tflite_int.test.ts"),
    ("mobilenet_*.safetensors",          r"input_head",                       EXACT,             "models/mobilenet_golden.test.ts"),
    ("mobilenet_*.safetensors",          r".*",                               scaled(1e-4),      "models/mobilenet_golden.test.ts"),
    ("tfjs_models_*.safetensors",        r".*input_head",                     EXACT,             "models/tfjs_models_synthetic.test.ts"),
    ("tfjs_models_*.safetensors",        r".*",                               scaled(1e-4),      "models/tfjs_models_synthetic.test.ts"),
    ("swin_*.safetensors",               r"input_head|significance|mask_.*",  EXACT,             "models/swin.test.ts"),
    ("swin_*.safetensors",               r".*",                               scaled(1e-4),      "models/swin.test.ts"),
    ("convert_swin.safetensors",         r"logits",                           scaled(1e-4),      "cli/convert_swin.test.ts"),
    ("dimap_swin.safetensors",           r"keep_.*",                          EXACT,             "prune/dimap_golden.test.ts"),
    ("dimap_swin.safetensors",           r"scores_.*",                        scaled(1e-6),      "prune/dimap_golden.test.ts"),
    ("dimap_swin.safetensors",           r"logits_.*",                        scaled(1e-4),      "prune/dimap_golden.test.ts"),
    ("quant_*.safetensors",              r".*",                               EXACT,             "quant/quant_golden.test.ts"),
    ("convnext_tiny.safetensors",        r"input_head",                       EXACT,             "models/convnext.test.ts"),
    ("convnext_tiny.safetensors",        r".*",                               scaled(1e-4),      "models/convnext.test.ts"),
    ("convnext_hier.safetensors",        r"kept_.*|significance_input",       EXACT,             "papr/hierarchical_golden.test.ts"),
    ("convnext_hier.safetensors",        r"significance_stage.*",             scaled(1e-5),      "papr/hierarchical_golden.test.ts"),
    ("convnext_hier.safetensors",        r".*",                               scaled(1e-4),      "papr/hierarchical_golden.test.ts"),
    ("convert_convnext.safetensors",     r"logits",                           scaled(1e-4),      "cli/convert_convnext.test.ts"),
    ("convert.safetensors",              r"logits",                           scaled(1e-4),      "cli/convert_roundtrip.test.ts"),
    ("convert/*.safetensors",            r".*",                               EXACT,             "cli/convert_roundtrip.test.ts"),
    ("default_vit_logits.safetensors",   r"labels",                           EXACT,             "eval/default_pair.test.ts"),
    ("default_vit_logits.safetensors",   r"logits",                           scaled(1e-4),      "eval/default_pair.test.ts"),
    ("default_pair.safetensors",         r"labels|kept_.*",                   EXACT,             "eval/default_pair.test.ts"),
    ("default_pair.safetensors",         r"logits.*",                         scaled(1e-4),      "eval/default_pair.test.ts"),
    ("checkpoints.safetensors",          r".*",                               EXACT,             "load/pth.test.ts"),
    ("scenes.safetensors",               r".*",                               EXACT,             "data/scenes.test.ts"),
    ("image.safetensors",                r".*",                               EXACT,             "image/decode.test.ts, image/preprocess.test.ts"),
    ("image_resize.safetensors",         r".*",                               EXACT,             "image/resize.test.ts"),
    ("apng.safetensors",                 r".*",                               EXACT,             "image/clip.test.ts"),
]

# Metadata the tests do not read: smallest decision margins, printed by the generators as a diagnostic.
INFORMATIONAL_METADATA = re.compile(r"margin_.*")
NUMPY_DTYPES = {"F32": "<f4", "U8": "u1"}


def rule_for(relative_path: str, tensor_name: str):
    for file_glob, name_regex, rule, _ in TOLERANCES:
        if fnmatch.fnmatchcase(relative_path, file_glob) and re.fullmatch(name_regex, tensor_name):
            return rule
    return None


def read_safetensors(path: str):
    """({name: numpy array}, {name: dtype string}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    arrays, dtypes = {}, {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(NUMPY_DTYPES[info["dtype"]])
        arrays[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=dtype).reshape(info["shape"])
        dtypes[name] = info["dtype"]
    return arrays, dtypes, metadata


def difference(new: np.ndarray, old: np.ndarray, kind: str) -> float:
    """Worst relative difference by `kind`; inf where NaN / inf positions disagree."""
    if new.size == 0:
        return 0.0
    if kind == "exact":
        return 0.0 if new.tobytes() == old.tobytes() else float("inf")
    a, e = new.astype(np.float64), old.astype(np.float64)
    same_special = (np.isnan(a) & np.isnan(e)) | (np.isinf(e) & (a == e))
    if np.any(~np.isfinite(a) & ~same_special) or np.any(~np.isfinite(e) & ~same_special):
        return float("inf")
    a, e = a[~same_special], e[~same_special]  # finite from here on
    if e.size == 0:
        return 0.0
    diff = np.abs(a - e)
    if kind == "pointwise":
        return float(np.max(np.where(e == 0, diff, diff / np.where(e == 0, 1.0, np.abs(e)))))
    return float(np.max(diff) / max(float(np.max(np.abs(e))), 1e-6))


def compare_metadata(new: dict, old: dict) -> list:
    problems = []
    for key in sorted(set(new) | set(old)):
        if INFORMATIONAL_METADATA.fullmatch(key) or new.get(key) == old.get(key):
            continue
        problems.append(f"metadata '{key}' differs")
    return problems


def compare_safetensors(relative_path: str, new_path: str, old_path: str):
    new, new_dtypes, new_meta = read_safetensors(new_path)
    old, old_dtypes, old_meta = read_safetensors(old_path)
    problems = compare_metadata(new_meta, old_meta)
    if set(new) != set(old):
        problems.append(f"tensor names differ: only new {sorted(set(new) - set(old))[:3]}, "
                        f"only committed {sorted(set(old) - set(new))[:3]}")
    worst = (0.0, "", EXACT)  # (difference, tensor name, rule)
    by_rule = {}
    for name in sorted(set(new) & set(old)):
        rule = rule_for(relative_path, name)
        if rule is None:
            problems.append(f"no tolerance row for tensor '{name}'")
            continue
        rule = EXACT if new_dtypes[name] != "F32" else rule
        if new_dtypes[name] != old_dtypes[name] or new[name].shape != old[name].shape:
            problems.append(f"'{name}': {new_dtypes[name]} {list(new[name].shape)}, "
                            f"committed {old_dtypes[name]} {list(old[name].shape)}")
            continue
        d = difference(new[name], old[name], rule[0])
        if d > rule[1]:
            problems.append(f"'{name}': relative difference {d:.2e} > {rule[0]} tolerance {rule[1]:g}")
        by_rule[rule] = max(by_rule.get(rule, 0.0), d)
        if d > worst[0]:
            worst = (d, name, rule)
    if problems:
        return False, worst[0], "; ".join(problems[:3]), by_rule
    if worst[0] == 0:
        same_bytes = read_bytes(new_path) == read_bytes(old_path)
        return True, 0.0, f"{len(new)} tensors, {'bytes identical' if same_bytes else 'values identical'}", by_rule
    return True, worst[0], f"{len(new)} tensors, worst '{worst[1]}' ({worst[2][0]} tolerance {worst[2][1]:g})", by_rule


def decoded_pixels(path: str):
    from PIL import Image
    with Image.open(path) as im:
        return im.mode, im.size, im.tobytes()


def compare_image(new_path: str, old_path: str):
    if read_bytes(new_path) == read_bytes(old_path):
        return True, 0.0, "bytes identical"
    same = decoded_pixels(new_path) == decoded_pixels(old_path)
    return same, (0.0 if same else None), "bytes differ, pixels identical" if same else "decoded pixels differ"


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def compare_bytes(new_path: str, old_path: str):
    same = read_bytes(new_path) == read_bytes(old_path)
    return same, (0.0 if same else None), "bytes identical" if same else "bytes differ"


def zip_entries(path: str) -> dict:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith(".debug_pkl")}


def compare_legacy_torch(new_path: str, old_path: str):
    import torch
    new = torch.load(new_path, weights_only=True)
    old = torch.load(old_path, weights_only=True)
    same = list(new) == list(old) and all(
        new[k].dtype == old[k].dtype and new[k].shape == old[k].shape and torch.equal(new[k], old[k]) for k in new)
    return same, (0.0 if same else None), "torch.load: same tensors" if same else "torch.load: tensors differ"


def compare_torch_file(new_path: str, old_path: str):
    if not zipfile.is_zipfile(old_path):
        return compare_legacy_torch(new_path, old_path)
    if read_bytes(new_path) == read_bytes(old_path):
        return True, 0.0, "bytes identical"
    new, old = zip_entries(new_path), zip_entries(old_path)
    differing = sorted(n for n in set(new) | set(old) if new.get(n) != old.get(n))
    note = "zip entries identical (except *.debug_pkl)" if not differing else f"zip entries differ: {differing[:3]}"
    return not differing, (0.0 if not differing else None), note


def compare_file(relative_path: str, new_path: str, old_path: str) -> Result:
    if relative_path.endswith(".safetensors"):
        return Result(relative_path, *compare_safetensors(relative_path, new_path, old_path))
    if relative_path.startswith("images/"):
        return Result(relative_path, *compare_image(new_path, old_path))
    if relative_path.endswith((".pth", ".pt")):
        return Result(relative_path, *compare_torch_file(new_path, old_path))
    return Result(relative_path, *compare_bytes(new_path, old_path))


def relative_files(folder: str) -> set:
    out = set()
    for directory, _, names in os.walk(folder):
        out.update(os.path.relpath(os.path.join(directory, n), folder) for n in names)
    return out


def compare_folders(new_folder: str, old_folder: str, skipped: dict) -> list:
    """One Result for every file in either folder."""
    results = []
    new_files, old_files = relative_files(new_folder), relative_files(old_folder)
    for path in sorted(new_files | old_files):
        if path in skipped:
            results.append(Result(path, True, note=f"NOT CHECKED: {skipped[path]}"))
        elif path not in old_files:
            results.append(Result(path, False, note="generated but not committed"))
        elif path not in new_files:
            results.append(Result(path, False, note="committed but no generator wrote it"))
        else:
            results.append(compare_file(path, os.path.join(new_folder, path), os.path.join(old_folder, path)))
    return results


def format_report(results: list) -> str:
    lines = []
    for r in results:
        figure = "" if r.worst is None else ("0" if r.worst == 0 else f"{r.worst:.1e}")
        lines.append(f"{'ok  ' if r.ok else 'FAIL'} {r.path:<48} {figure:>8}  {r.note}")
    return "\n".join(lines)


def summary(results: list) -> str:
    """Counts, then the worst difference under each rule over all files."""
    failed = [r for r in results if not r.ok]
    unchecked = [r for r in results if r.note.startswith("NOT CHECKED")]
    identical = [r for r in results if r.ok and r.worst == 0]
    lines = [f"{len(results)} files: {len(identical)} identical (bytes, values or pixels), "
             f"{len(results) - len(identical) - len(failed) - len(unchecked)} within tolerance, "
             f"{len(unchecked)} not checked, {len(failed)} FAILED"]
    by_rule = {}
    for r in results:
        for rule, d in r.by_rule.items():
            by_rule[rule] = max(by_rule.get(rule, 0.0), d)
    for (kind, tolerance), d in sorted(by_rule.items(), key=lambda item: (item[0][0] != "exact", item[0][1])):
        lines.append(f"  {kind} tolerance {tolerance:g}: worst relative difference {d:.1e}" if kind != "exact" else
                     f"  exact tensors: {'all bit-identical' if d == 0 else 'SOME DIFFER'}")
    return "\n".join(lines)
