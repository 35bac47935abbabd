"""Goldens for src/models/convnext.ts and the ConvNeXt half of src/papr/hierarchical.ts.

convnext_tiny.safetensors: ConvNeXt-T at 224 with seeded synthetic weights under timm's names
(load_synthetic on tools/train/models.py's timm-named ConvNeXt), run twice: by that plain-PyTorch reference
(ref_*) and by torchvision's own convnext_tiny with the same tensors renamed to torchvision's names (tv_*; the
renaming below is written independently of src/models/load/names_convnext.ts). Per stage i (output of the stage's
last block): stage{i}_spatial_mean [C], stage{i}_channel_mean [h, w], stage{i}_channel0 [h, w]; logits [1000].
Metadata: the timm spec of T / S / B (names and shapes, state-dict order) and torchvision's names for T.

convnext_hier.safetensors: hierarchical PaPr (PAPR-SPEC.md section 5, tools/golden/hierarchical_ref.py) on the same
ConvNeXt-T, input and a seeded 7x7 significance map sig = rand("convnext_hier.significance", [7, 7]); per z in
1, 0.65, 0.4: the kept positions of every stage (kept_z{z}_stage{i}, descending significance), the logits and the
last stage's compact view; plus the resized significance of every stage.

convert/convnext_*.{pth,safetensors} + convert_convnext.safetensors: one small ConvNeXt (dims 8/16/24/32, depths
1/1/2/1, 10 classes) saved under torchvision's names (.pth) and timm's (.safetensors), and its logits on
rand("convert_convnext.input", [1, 3, 64, 64]), for the `papr convert` round trip.
"""
import json
import os

import torch
import torchvision
from torchvision.models.convnext import CNBlockConfig, ConvNeXt as TvConvNeXt

from common import FIXTURES, load_synthetic, rand, save_fixture
import hierarchical_ref as ref

SIZES = {"tiny": ((3, 3, 9, 3), (96, 192, 384, 768)), "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
         "base": ((3, 3, 27, 3), (128, 256, 512, 1024))}
ZS = (1.0, 0.65, 0.4)


def torchvision_names(sd: dict, depths) -> dict:
    """timm-named ConvNeXt tensors -> torchvision's ConvNeXt names (features.* / classifier.*)."""
    out = {"features.0.0.weight": sd["stem.0.weight"], "features.0.0.bias": sd["stem.0.bias"],
           "features.0.1.weight": sd["stem.1.weight"], "features.0.1.bias": sd["stem.1.bias"],
           "classifier.0.weight": sd["head.norm.weight"], "classifier.0.bias": sd["head.norm.bias"],
           "classifier.2.weight": sd["head.fc.weight"], "classifier.2.bias": sd["head.fc.bias"]}
    for i, depth in enumerate(depths):
        if i > 0:  # torchvision: features.{2i} = LN + 2x2 conv before stage i
            for part in ("0", "1"):
                for kind in ("weight", "bias"):
                    out[f"features.{2 * i}.{part}.{kind}"] = sd[f"stages.{i}.downsample.{part}.{kind}"]
        for j in range(depth):
            src, dst = f"stages.{i}.blocks.{j}.", f"features.{2 * i + 1}.{j}."
            out[dst + "layer_scale"] = sd[src + "gamma"].reshape(-1, 1, 1)
            for a, b in (("conv_dw", "block.0"), ("norm", "block.2"), ("mlp.fc1", "block.3"), ("mlp.fc2", "block.5")):
                for kind in ("weight", "bias"):
                    out[f"{dst}{b}.{kind}"] = sd[f"{src}{a}.{kind}"]
    return out


def torchvision_model(depths, dims, num_classes):
    setting = [CNBlockConfig(dims[i], dims[i + 1] if i + 1 < len(dims) else None, depths[i]) for i in range(len(dims))]
    return TvConvNeXt(setting, num_classes=num_classes).eval()


def torchvision_stages(model, x):
    out = []
    y = model.features[0](x)
    for i in range(1, len(model.features)):
        y = model.features[i](y)
        if i % 2 == 1:
            out.append(y)
    return out


def compact(prefix: str, stages, logits) -> dict:
    out = {f"{prefix}logits": logits[0]}
    for i, s in enumerate(stages):
        out[f"{prefix}stage{i}_spatial_mean"] = s.mean((2, 3))[0]
        out[f"{prefix}stage{i}_channel_mean"] = s.mean(1)[0]
        out[f"{prefix}stage{i}_channel0"] = s[0, 0]
    return out


def spec_of(depths, dims) -> dict:
    return {k: list(v.shape) for k, v in models_convnext(depths, dims, 1000).state_dict().items()}


def models_convnext(depths, dims, num_classes):
    return ref.models.ConvNeXt(depths, dims, num_classes).eval()


def golden_tiny(x):
    depths, dims = SIZES["tiny"]
    model = models_convnext(depths, dims, 1000)
    spec = load_synthetic(model)
    tv = torchvision.models.convnext_tiny(weights=None).eval()
    tv_sd = torchvision_names(model.state_dict(), depths)
    tv.load_state_dict(tv_sd)
    with torch.no_grad():
        ref_stages = model.stage_features(x)
        ref_logits = model.forward_head(ref_stages[-1])
        tv_stages = torchvision_stages(tv, x)
        tv_logits = tv(x)
    tensors = {"input_head": x.flatten()[:64], **compact("ref_", ref_stages, ref_logits),
               **compact("tv_", tv_stages, tv_logits)}
    meta = {"spec": json.dumps(spec, separators=(",", ":")),
            "spec_small": json.dumps(spec_of(*SIZES["small"]), separators=(",", ":")),
            "spec_base": json.dumps(spec_of(*SIZES["base"]), separators=(",", ":")),
            "torchvision_names": json.dumps(list(tv.state_dict().keys()), separators=(",", ":")),
            "stage_shapes": json.dumps([list(s.shape) for s in ref_stages])}
    return model, save_fixture("convnext_tiny", tensors, meta)


def golden_hierarchical(model, x):
    sig = rand("convnext_hier.significance", [7, 7])
    grids = ref.convnext_stage_grids(x.shape[-1])
    tensors = {"significance_input": sig}
    with torch.no_grad():
        plain_stages = model.stage_features(x)
        plain = model.forward_head(plain_stages[-1])
        for z in ZS:
            masks = ref.stage_masks(sig, grids, z)
            logits, stages = ref.convnext_forward_masked(model, x, masks)
            if z == 1.0:  # the reference itself: z = 1 is the unmasked model, bit for bit
                assert torch.equal(logits, plain) and all(torch.equal(a, b) for a, b in zip(stages, plain_stages))
            tag = f"z{z:g}".replace(".", "")
            tensors[f"logits_{tag}"] = logits[0]
            for i, m in enumerate(masks):
                tensors[f"kept_{tag}_stage{i}"] = m["kept"].float()
                # background positions are exactly zero after a masked stage
                if z < 1:
                    assert torch.all(stages[i][0][:, ~m["foreground"]] == 0)
            last = stages[-1]
            tensors[f"last_spatial_mean_{tag}"] = last.mean((2, 3))[0]
            tensors[f"last_channel_mean_{tag}"] = last.mean(1)[0]
        for i, m in enumerate(ref.stage_masks(sig, grids, 1.0)):
            tensors[f"significance_stage{i}"] = m["significance"]
    return save_fixture("convnext_hier", tensors, {"grids": json.dumps(grids), "zs": json.dumps(ZS)})


def golden_convert():
    depths, dims = (1, 1, 2, 1), (8, 16, 24, 32)
    model = models_convnext(depths, dims, 10)
    load_synthetic(model)
    sd = model.state_dict()
    tv = torchvision_model(depths, dims, 10)
    tv_sd = torchvision_names(sd, depths)
    tv.load_state_dict(tv_sd)
    x = rand("convert_convnext.input", [1, 3, 64, 64])
    with torch.no_grad():
        logits = tv(x)[0]
        assert torch.allclose(logits, model(x)[0], atol=1e-5)
    folder = os.path.join(FIXTURES, "convert")
    os.makedirs(folder, exist_ok=True)
    pth = os.path.join(folder, "convnext_torchvision.pth")
    torch.save(tv.state_dict(), pth)
    return [pth, save_fixture("convert/convnext_timm", sd), save_fixture("convert_convnext", {"logits": logits})]


def main():
    x = rand("convnext.input", [1, 3, 224, 224])
    model, tiny = golden_tiny(x)
    return [tiny, golden_hierarchical(model, x), *golden_convert()]


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(main())
