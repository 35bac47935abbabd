"""Reference of DIMAP (He & Zhou, ICLR 2024, "Data-independent Module-aware Pruning for Hierarchical Vision
Transformers") and the two magnitude baselines, in plain PyTorch, for the goldens of src/prune/.

Written from the paper (docs/dimap.md says where a choice was ours):
  importance   within a layer, weights by |w| descending (ties: flat index ascending), p_1 the largest;
               Imp(p_j) = w_pj^2 / sum_{i <= j} w_pi^2   (float64, cumulative sum in rank order)
  modules      Swin: QKV-M (attn.qkv), PRJ-M (attn.proj), MLP-M (mlp.fc1, mlp.fc2),
               AUX-M (patch_embed.proj, downsample.reduction, head.fc); weights only (no bias, norm, table)
  FLOPs        fvcore conventions (linear / conv one MAC per multiply-add, LayerNorm 5 per element, the two
               attention matmuls 2 P N C per block); a weight costs the positions its layer runs at, so an
               unstructured-pruned layer's MACs scale with its kept weights
  target f     remove f * dense MACs: every group gives up r = f * dense / prunable of its own MACs, taking its
               weights in (score, layer, index) order until the removed MACs reach the target
  groups       dimap: one per module; global-magnitude: one (every layer, score |w|); layer-magnitude: one per
               layer (score |w|)
"""
import torch

from swin_ref import SwinConfig


def dimap_scores(w: torch.Tensor) -> torch.Tensor:
    """DIMAP importance of every weight of one layer, in its flat order (float64)."""
    flat = w.detach().flatten().double()
    order = torch.sort(flat.abs(), descending=True, stable=True).indices
    squares = flat[order] ** 2
    energy = torch.cumsum(squares, 0)
    ranked = torch.where(energy > 0, squares / torch.where(energy > 0, energy, torch.ones_like(energy)), 0.0)
    scores = torch.empty_like(flat)
    scores[order] = ranked
    return scores


def magnitude_scores(w: torch.Tensor) -> torch.Tensor:
    return w.detach().flatten().double().abs()


def swin_layers(c: SwinConfig):
    """[(weight name, module, positions)] in forward order."""
    grid = [c.grid(i) ** 2 for i in range(len(c.depths))]
    layers = [("patch_embed.proj.weight", "aux", grid[0])]
    for i, depth in enumerate(c.depths):
        if i > 0:
            layers.append((f"layers.{i}.downsample.reduction.weight", "aux", grid[i]))
        for j in range(depth):
            b = f"layers.{i}.blocks.{j}"
            layers += [(f"{b}.attn.qkv.weight", "qkv", grid[i]), (f"{b}.attn.proj.weight", "proj", grid[i]),
                       (f"{b}.mlp.fc1.weight", "mlp", grid[i]), (f"{b}.mlp.fc2.weight", "mlp", grid[i])]
    layers.append(("head.fc.weight", "aux", 1))
    return layers


def swin_dense_macs(c: SwinConfig) -> int:
    LN = 5
    P0, C0 = c.grid(0) ** 2, c.embed_dim
    total = P0 * (c.in_channels * c.patch_size ** 2 * C0 + LN * C0)
    for i, depth in enumerate(c.depths):
        P, C = c.grid(i) ** 2, c.dim(i)
        hidden = int(C * c.mlp_ratio)
        if i > 0:
            total += LN * P * 2 * C + P * 2 * C * C
        N = min(c.window_size, c.grid(i)) ** 2
        total += depth * (LN * P * C + 3 * P * C * C + 2 * P * N * C + P * C * C + LN * P * C + 2 * P * C * hidden)
    PL, CL = c.grid(len(c.depths) - 1) ** 2, c.dim(len(c.depths) - 1)
    return total + LN * PL * CL + CL * c.num_classes


def pruning_masks(state: dict, layers, dense_macs: int, method: str, flops: float) -> dict:
    """{weight name: bool keep-mask of the weight's shape}."""
    sizes = {name: state[name].numel() for name, _, _ in layers}
    layer_macs = {name: sizes[name] * positions for name, _, positions in layers}
    prunable = sum(layer_macs.values())
    ratio = (flops * dense_macs) / prunable
    assert ratio <= 1, "FLOPs target above the prunable share"
    score = dimap_scores if method == "dimap" else magnitude_scores
    if method == "dimap":
        modules = []
        for _, module, _ in layers:
            if module not in modules:
                modules.append(module)
        groups = [[l for l in layers if l[1] == m] for m in modules]
    elif method == "global-magnitude":
        groups = [layers]
    elif method == "layer-magnitude":
        groups = [[l] for l in layers]
    else:
        raise ValueError(method)
    keep = {}
    for group in groups:
        target = ratio * sum(layer_macs[name] for name, _, _ in group)
        scores = torch.cat([score(state[name]) for name, _, _ in group])
        cost = torch.cat([torch.full((sizes[name],), positions, dtype=torch.int64) for name, _, positions in group])
        order = torch.sort(scores, stable=True).indices
        removed = torch.zeros(len(scores), dtype=torch.bool)
        if target > 0:
            cumulative = torch.cumsum(cost[order], 0).double()
            k = int(torch.searchsorted(cumulative, torch.tensor([target], dtype=torch.float64))[0]) + 1
            removed[order[:k]] = True
        at = 0
        for name, _, _ in group:
            keep[name] = ~removed[at: at + sizes[name]].reshape(state[name].shape)
            at += sizes[name]
    return keep


def mask_hash(keep: torch.Tensor) -> int:
    """sum over kept flat indices i of (i * 2654435761 mod 2^32), mod 2^32 (src/prune tests compute the same)."""
    idx = torch.nonzero(keep.flatten()).flatten().to(torch.int64)
    return int(((idx * 2654435761) & 0xFFFFFFFF).sum()) & 0xFFFFFFFF
