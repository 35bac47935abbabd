"""Goldens for src/models/swin.ts (Swin-T/S/B), src/models/load/names_swin.ts and masked (hierarchical PaPr) Swin.

The reference network is tools/golden/swin_ref.py (plain PyTorch, timm >= 0.9's parameter names, the canonical
ones). Every parameter is filled by load_synthetic under those names, so the TS side rebuilds the very same
weights with syntheticWeights(swinSpec(config)). The same tensors, renamed here (independently of
names_swin.ts), are loaded into torchvision's own swin_t, whose outputs are committed as well: the TS model must
match both. One input: rand("swin.input", [1,3,224,224]); only its first 64 values are committed.

swin_tiny.safetensors (Swin-T at 224, seeded weights):
  tv_logits, ref_logits [1000]                  torchvision's swin_t and swin_ref.py
  {tv,ref}_stage{i}_channel_mean [H_i, W_i]     stage i's output (before the final norm), mean over channels
  {tv,ref}_stage{i}_spatial_mean [C_i]          ... mean over positions
  tv_stage{i}_first4 [4, H_i, W_i]              ... its first 4 channels
  metadata: spec (names and shapes of swin_ref.py's state dict), config, and the torchvision state-dict specs
  of swin_t, swin_s and swin_b (tv_spec_{t,s,b}: names and shapes), which names_swin.ts must map onto swinSpec.
swin_masked.safetensors (the same Swin-T, weights and input; hierarchical PaPr by swin_masked_ref.py):
  significance [7, 7]                           rand("swin.significance", [7, 7]), the proposer map
  mask_z{65,40}_stage{i} [H_i, W_i]             stage_masks(significance, grids, z): 1 = foreground
  logits_z{100,65,40} [1000]                    masked_stages with those masks (z = 1: every position
                                                foreground, asserted bit-identical to the unmasked forward)
  stage{i}_spatial_mean_z{65,40} [C_i]          the masked stage outputs, mean over positions
Converter round trip (test/cli/convert_swin.test.ts): ONE small torchvision SwinTransformer (width 4, depths
[2,2,2,1], heads [1,1,2,2], window 7, MLP ratio 2, 10 classes, 224: small files), its weights filled by load_synthetic under torchvision's
names, saved as
  convert/swin_torchvision.pth          torch.save(state_dict), torchvision's names (relative_position_index kept)
  convert/swin_timm.safetensors         the same tensors under timm >= 0.9's names
  convert/swin_timm_old.safetensors     ... under timm < 0.9's names (merging at the end of the stage before,
                                        head.*, with the relative_position_index and one attn_mask buffer)
and convert_swin.safetensors with the torchvision model's logits on rand("convert.input", [1,3,224,224]).
"""
import os
import json

import torch
from torchvision.models import swin_b, swin_s, swin_t
from torchvision.models.swin_transformer import SwinTransformer as TorchvisionSwin

from common import FIXTURES, load_synthetic, rand, save_fixture
from swin_masked_ref import masked_stages, stage_masks
from swin_ref import SwinConfig, SwinTransformer

INPUT = [1, 3, 224, 224]
TINY = SwinConfig()
Z_VALUES = {"z65": 0.65, "z40": 0.4}


def canonical_to_torchvision(state: dict, depths) -> dict:
    """timm (>= 0.9) names -> torchvision.models.swin_transformer names (relative_position_index not included)."""
    out = {}
    top = {"patch_embed.proj": "features.0.0", "patch_embed.norm": "features.0.2", "norm": "norm", "head.fc": "head"}
    block = {"norm1": "norm1", "attn.qkv": "attn.qkv", "attn.proj": "attn.proj", "norm2": "norm2",
             "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
    for name, value in state.items():
        parts = name.split(".")
        module, kind = ".".join(parts[:-1]), parts[-1]
        if module in top:
            out[f"{top[module]}.{kind}"] = value
        elif parts[0] == "layers" and parts[2] == "downsample":  # stage i's merging = features.2i
            out[f"features.{2 * int(parts[1])}.{parts[3]}.{kind}"] = value
        elif parts[0] == "layers" and parts[2] == "blocks":  # stage i's blocks = features.2i+1
            rest = ".".join(parts[4:])
            local = (f"{block[rest[: -len(kind) - 1]]}.{kind}" if rest != "attn.relative_position_bias_table"
                     else rest)
            out[f"features.{2 * int(parts[1]) + 1}.{parts[3]}.{local}"] = value
        else:
            raise KeyError(name)
    return out


def to_nchw(stage: torch.Tensor) -> torch.Tensor:
    return stage.permute(0, 3, 1, 2)[0]  # [1, H, W, C] -> [C, H, W]


def stage_summaries(prefix: str, stages, first4: bool) -> dict:
    out = {}
    for i, s in enumerate(stages):
        f = to_nchw(s)
        out[f"{prefix}stage{i}_channel_mean"] = f.mean(0)
        out[f"{prefix}stage{i}_spatial_mean"] = f.mean((1, 2))
        if first4:
            out[f"{prefix}stage{i}_first4"] = f[:4]
    return out


def torchvision_stages(model, x):
    """Every stage's output of torchvision's SwinTransformer (after features 1, 3, 5, 7) and its logits."""
    outs, h = [], x
    for i, layer in enumerate(model.features):
        h = layer(h)
        if i % 2 == 1:
            outs.append(h)
    return outs, model(x)


def tv_spec(factory) -> str:
    sd = factory().state_dict()
    return json.dumps({k: list(v.shape) for k, v in sd.items()}, separators=(",", ":"))


def main():
    x = rand("swin.input", INPUT)
    ref = SwinTransformer(TINY).eval()
    spec = load_synthetic(ref)
    tv = swin_t().eval()
    tv_state = canonical_to_torchvision(ref.state_dict(), TINY.depths)
    missing, unexpected = tv.load_state_dict(tv_state, strict=False)
    assert not unexpected and all(k.endswith("relative_position_index") for k in missing), (missing, unexpected)
    with torch.no_grad():
        ref_stages, ref_logits = ref.stages(x)
        tv_stages, tv_logits = torchvision_stages(tv, x)
        scale = tv_logits.abs().max()
        assert (ref_logits - tv_logits).abs().max() <= 1e-5 * scale, "swin_ref.py disagrees with torchvision"
        for a, b in zip(ref_stages, tv_stages):
            assert (a - b).abs().max() <= 1e-5 * b.abs().max(), "swin_ref.py stage disagrees with torchvision"
    out = {"input_head": x.flatten()[:64], "tv_logits": tv_logits[0], "ref_logits": ref_logits[0]}
    out |= stage_summaries("tv_", tv_stages, first4=True) | stage_summaries("ref_", ref_stages, first4=False)
    config = json.dumps(TINY.__dict__, separators=(",", ":"))
    tiny = save_fixture("swin_tiny", out, metadata={
        "spec": json.dumps(spec, separators=(",", ":")), "config": config,
        "tv_spec_t": tv_spec(swin_t), "tv_spec_s": tv_spec(swin_s), "tv_spec_b": tv_spec(swin_b)})

    significance = rand("swin.significance", [7, 7])
    grids = [(TINY.grid(i), TINY.grid(i)) for i in range(4)]
    masked = {"input_head": x.flatten()[:64], "significance": significance}
    with torch.no_grad():
        everything = stage_masks(significance, grids, 1.0)
        assert all(bool(m.all()) for m in everything)
        stages1, logits1 = masked_stages(ref, x, everything)
        assert torch.equal(logits1, ref_logits), "z = 1 is not bit-identical to the unmasked forward"
        assert all(torch.equal(a, b) for a, b in zip(stages1, ref_stages))
        masked["logits_z100"] = logits1[0]
        for tag, z in Z_VALUES.items():
            masks = stage_masks(significance, grids, z)
            stages, logits = masked_stages(ref, x, masks)
            masked[f"logits_{tag}"] = logits[0]
            for i, (m, s) in enumerate(zip(masks, stages)):
                masked[f"mask_{tag}_stage{i}"] = m.float()
                masked[f"stage{i}_spatial_mean_{tag}"] = to_nchw(s).mean((1, 2))
    masked_path = save_fixture("swin_masked", masked, metadata={"config": config})
    return [tiny, masked_path] + convert_fixtures()


def torchvision_to_timm(sd: dict, old: bool) -> dict:
    """torchvision names -> timm >= 0.9 names (old=False) or timm < 0.9 names (old=True); written from the layouts."""
    out = {}
    for name, value in sd.items():
        p = name.split(".")
        if name.startswith("features.0."):
            out[{"0": "patch_embed.proj", "2": "patch_embed.norm"}[p[2]] + "." + p[3]] = value
        elif p[0] == "features" and int(p[1]) % 2 == 1:
            rest = ".".join(p[3:]).replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
            if rest.endswith("relative_position_index") and not old:
                continue  # timm >= 0.9 does not save it
            out[f"layers.{(int(p[1]) - 1) // 2}.blocks.{p[2]}.{rest}"] = value
        elif p[0] == "features":  # patch merging before stage int(p[1]) // 2
            stage = int(p[1]) // 2 - (1 if old else 0)
            out[f"layers.{stage}.downsample.{'.'.join(p[2:])}"] = value
        elif p[0] == "head":
            out[name if old else "head.fc." + p[1]] = value
        else:
            out[name] = value
    return out


def convert_fixtures() -> list:
    model = TorchvisionSwin(patch_size=[4, 4], embed_dim=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
                            window_size=[7, 7], mlp_ratio=2.0, num_classes=10).eval()
    load_synthetic(model, skip=("relative_position_index",))
    sd = model.state_dict()
    folder = os.path.join(FIXTURES, "convert")
    os.makedirs(folder, exist_ok=True)
    pth = os.path.join(folder, "swin_torchvision.pth")
    torch.save(sd, pth)
    old = torchvision_to_timm(sd, old=True)
    # timm < 0.9 saved the shifted-window masks as buffers: one of them (stage 2, grid 14, block 1), for the test
    from swin_ref import shifted_window_mask
    old["layers.2.blocks.1.attn_mask"] = shifted_window_mask(14, 14, 7, 3)
    x = rand("convert.input", [1, 3, 224, 224])
    with torch.no_grad():
        logits = model(x)[0]
    return [
        pth,
        save_fixture("convert/swin_timm", torchvision_to_timm(sd, old=False)),
        save_fixture("convert/swin_timm_old", old),
        save_fixture("convert_swin", {"logits": logits}),
    ]
