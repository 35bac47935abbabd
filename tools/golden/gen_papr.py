"""Golden for src/papr: a PaPr reference written from PAPR-SPEC.md section 1 in plain PyTorch.

Pairs (seeded synthetic weights on both sides, see common.load_synthetic):
  papr_deit_small_mnv3: DeiT-Small (vit_ref.py, timm names) + torchvision MobileNetV3-Large (features = model.features)
  papr_deit_tiny_r18:   DeiT-Tiny + torchvision ResNet-18 (features = layer4 output)
Inputs are rebuilt on the TS side from the shared generator (rand(name, shape, scale)): MobileNetV3 needs scale 100
for its synthetic-weight features to depend on the input (see gen_mobilenet.py); ResNet-18 works at scale 1.
Per pair: proposal [h, w], significance [14, 14], logits_full [1000] (the unpruned backbone), and for every z in
ZS: kept_<z> [k] (patch indices in the order they enter the blocks) and logits_<z> [1000];
plus logits_spatial_0.5 (kept tokens re-sorted by grid position).
"""
import torch
import torch.nn.functional as F
import torchvision

from common import load_synthetic, rand, save_fixture
from vit_ref import VisionTransformer, VitConfig

ZS = [1.0, 0.9, 0.7, 0.5, 0.3, 0.1]


def proposal_map(features):  # [1, K, h, w] -> [1, 1, h, w]: mean over channels, no abs, no softmax
    return features.mean(dim=1, keepdim=True)


def patch_significance(proposal, grid):  # bicubic (A = -0.75), align_corners=True, to the patch grid
    return F.interpolate(proposal, size=(grid, grid), mode="bicubic", align_corners=True)[0, 0]


def keep_count(z, num_patches, num_prefix):  # official: k = floor(n z), n counts the prefix tokens
    return min(num_patches, max(1, int((num_patches + num_prefix) * z)))


def papr_forward(vit, features_fn, x, z, spatial=False):
    c = vit.c
    grid = c.image_size // c.patch_size
    significance = patch_significance(proposal_map(features_fn(x)), grid)
    ranking = torch.sort(significance.flatten(), descending=True, stable=True).indices
    k = keep_count(z, c.num_patches, c.num_prefix)
    tokens = vit.embed(x)  # patch embed, prefix tokens, + pos_embed: positions are added before pruning
    if k == c.num_patches:
        kept = torch.arange(c.num_patches)  # nothing pruned: grid order, exactly the unpruned model
    else:
        kept = ranking[:k]
        if spatial:
            kept = kept.sort().values
        tokens = torch.cat([tokens[:, : c.num_prefix], tokens[:, c.num_prefix + kept]], dim=1)
    return kept, vit.head_of(vit.blocks(tokens))[0]


def resnet_features(model):
    def features(x):
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(x))))
    return features


def r18_pair_kept(config, z):
    """The shared PaPr case of the ToMe and attention-pruning goldens: the synthetic ResNet-18 proposer on input
    "papr.input_r18"; returns (x, the kept patch indices at z for a ViT of `config`)."""
    r18 = torchvision.models.resnet18(weights=None).eval()
    load_synthetic(r18)
    x = rand("papr.input_r18", [1, 3, 224, 224])
    with torch.no_grad():
        significance = patch_significance(proposal_map(resnet_features(r18)(x)), 14)
    ranking = torch.sort(significance.flatten(), descending=True, stable=True).indices
    return x, ranking[: keep_count(z, config.num_patches, config.num_prefix)]


def golden(name, vit_config, proposer, features_fn, x):
    vit = VisionTransformer(vit_config).eval()
    load_synthetic(vit)
    load_synthetic(proposer)
    grid = vit_config.image_size // vit_config.patch_size
    with torch.no_grad():
        proposal = proposal_map(features_fn(x))
        out = {
            "proposal": proposal[0, 0],
            "significance": patch_significance(proposal, grid),
            "logits_full": vit(x)[0],
        }
        for z in ZS:
            kept, logits = papr_forward(vit, features_fn, x, z)
            out[f"kept_{z}"] = kept.float()
            out[f"logits_{z}"] = logits
        out["logits_spatial_0.5"] = papr_forward(vit, features_fn, x, 0.5, spatial=True)[1]
    return save_fixture(name, out, {"zs": ",".join(map(str, ZS))})


def main():
    mnv3 = torchvision.models.mobilenet_v3_large(weights=None).eval()
    r18 = torchvision.models.resnet18(weights=None).eval()
    return [
        golden("papr_deit_small_mnv3", VitConfig(embed_dim=384, depth=12, num_heads=6), mnv3, mnv3.features,
               rand("papr.input_mnv3", [1, 3, 224, 224], 100.0)),
        golden("papr_deit_tiny_r18", VitConfig(embed_dim=192, depth=12, num_heads=3), r18, resnet_features(r18),
               rand("papr.input_r18", [1, 3, 224, 224])),
    ]
