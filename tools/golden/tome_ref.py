"""Plain-PyTorch references of the in-block token-reduction methods, for gen_tome.py and
gen_attention_pruning.py. Written from PAPR-SPEC.md sections 4 and 6 and the ToMe paper's description
(Bolya et al., "Token Merging: Your ViT but Faster"), on the blocks of vit_ref.VisionTransformer.

Block i with a reduction, batch 1, x [1, t, D]:
    x = x + proj(softmax(q k^T * scale + log(size_j)) v)      (log(size) only with proportional attention)
    x, size, groups = reduce(x, size, groups)                  (a remap: old token -> new token or dropped)
    x = x + mlp(norm2(x))
`groups` is a one-hot "source" matrix [t, prefix + patches]: which embedding rows each token holds.

Near-ties: every decision (the r-th / (r+1)-th best A score, each merged token's best / second-best B score,
the kept / dropped boundary of attention pruning and a score's distance to a threshold) is recorded as a
margin; the generators write a fixture only if (1) its smallest margin is >= MIN_MARGIN and (2) the same
reference run in float64 takes exactly the same decisions (same groups after every block). Measured on
DeiT-Tiny with synthetic weights, float32 and float64 cosine similarities differ by <= 1e-6 after 12
blocks, so a gap changes by at most ~2e-6 per implementation: MIN_MARGIN = 2e-5 leaves a 5x headroom for
the TS side (float32 storage, float64 sums), whose error lies between the two.
"""
import copy
import math

import torch

MIN_MARGIN = 2e-5


def attention(block, x, key_bias=None):
    """block.attn on norm1(x) [1, t, D]: output [1, t, D], keys averaged over heads [t, hd],
    class-token attention rows [H, t] and the class token's per-head outputs [H, hd]."""
    attn = block.attn
    B, t, D = x.shape
    H, hd = attn.num_heads, attn.head_dim
    qkv = attn.qkv(block.norm1(x)).reshape(B, t, 3, H, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)  # [1, H, t, hd]
    logits = (q * hd ** -0.5) @ k.transpose(-2, -1)
    if key_bias is not None:
        logits = logits + key_bias[None, None, None, :]
    probs = logits.softmax(dim=-1)
    heads = probs @ v  # [1, H, t, hd]
    out = attn.proj(heads.transpose(1, 2).reshape(B, t, D))
    return out, k.mean(dim=1)[0], probs[0, :, 0, :], heads[0, :, 0, :]


def reduce_tokens(x, size, groups, remap, num_out):
    """Size-weighted average of the tokens mapped together; dropped tokens (remap -1) vanish."""
    keep = remap >= 0
    index = remap[keep]
    xs = (x[0] * size[:, None])[keep]
    sums = x.new_zeros(num_out, x.shape[-1]).index_add_(0, index, xs)
    new_size = x.new_zeros(num_out).index_add_(0, index, size[keep])
    new_groups = x.new_zeros(num_out, groups.shape[1]).index_add_(0, index, groups[keep])
    return (sums / new_size[:, None])[None], new_size, new_groups


def first_max(scores):
    """Row-wise max and its first index (stable: lower index wins a tie) and the gap to the runner-up."""
    order = torch.sort(scores, dim=-1, descending=True, stable=True)
    top = order.values[:, 0]
    second = order.values[:, 1] if scores.shape[1] > 1 else torch.full_like(top, -math.inf)
    return top, order.indices[:, 0], top - second


def tome_matching(keys, r, num_prefix):
    """Bipartite soft matching: (remap [t], num_out, r, src, dst, margin)."""
    t = keys.shape[0]
    r = max(0, min(r, (t - num_prefix) // 2))
    if r == 0:
        return None
    metric = keys / keys.norm(dim=-1, keepdim=True)
    a_pos = torch.arange(0, t, 2)
    b_pos = torch.arange(1, t, 2)
    scores = metric[a_pos] @ metric[b_pos].T  # [|A|, |B|] cosine similarities, float32
    scores[a_pos < num_prefix, :] = -math.inf  # a prefix token in A merges into nothing
    scores[:, b_pos < num_prefix] = -math.inf  # nothing merges into a prefix token in B
    best, best_b, gap = first_max(scores)
    order = torch.sort(best, descending=True, stable=True).indices
    src_a = order[:r]
    margins = [gap[src_a].min().item()]
    if r < len(order) and math.isfinite(best[order[r]].item()):
        margins.append((best[order[r - 1]] - best[order[r]]).item())
    src, dst = a_pos[src_a], b_pos[best_b[src_a]]
    # output order: prefix tokens, unmerged A tokens, B tokens (each in their previous order)
    merged = torch.zeros(t, dtype=torch.bool)
    merged[src] = True
    pos = torch.arange(t)
    new_order = torch.cat([pos[pos < num_prefix],
                           pos[(pos >= num_prefix) & (pos % 2 == 0) & ~merged],
                           pos[(pos >= num_prefix) & (pos % 2 == 1)]])
    remap = torch.full((t,), -1, dtype=torch.long)
    remap[new_order] = torch.arange(len(new_order))
    remap[src] = remap[dst]
    return remap, t - r, r, src, dst, min(margins)


def class_attention_scores(class_rows, class_out, num_prefix, weighting="outputNorm"):
    """score_j = sum_h w_h A_h[0, j] / sum_h w_h over non-prefix j; w_h = |o_h| (or 1)."""
    w = class_out.norm(dim=-1) if weighting == "outputNorm" else class_rows.new_ones(class_rows.shape[0])
    return (w[:, None] * class_rows[:, num_prefix:]).sum(0) / w.sum()


def prune_selection(scores, stage, min_keep=1):
    """Kept positions (ascending) among the m scored tokens, and the margin of the decision (relative to 1/m)."""
    m = scores.shape[0]
    order = torch.sort(scores, descending=True, stable=True)
    if "keep_rate" in stage:
        count = min(m, math.ceil(stage["keep_rate"] * m))
    else:
        count = min(m, max(int((scores >= stage["threshold"]).sum()), min_keep))
    margins = [math.inf]  # in units of the mean score 1/m (the scores' own scale)
    if 0 < count < m:
        margins.append(m * (order.values[count - 1] - order.values[count]).item())
    if "threshold" in stage:
        margins.append(m * (scores - stage["threshold"]).abs().min().item())
    return order.indices[:count].sort().values, min(margins)


def run_blocks(vit, tokens, rows, method):
    """All blocks on tokens [1, n, D] whose embedding rows are `rows`, with `method` = ("tome", schedule,
    prop_attn) or ("prune", {block: stage}, weighting). Returns tokens, per-block records, final groups."""
    c = vit.c
    P = c.num_prefix
    n = tokens.shape[1]
    size = tokens.new_ones(n)
    groups = tokens.new_zeros(n, P + c.num_patches)
    groups[torch.arange(n), rows] = 1.0
    x = tokens
    records = []
    for i, block in enumerate(vit.blocks):
        t = x.shape[1]
        merged = bool((size != 1).any())
        bias = size.log() if method[0] == "tome" and method[2] and merged else None
        out, keys, class_rows, class_out = attention(block, x, bias)
        x = x + out
        record = {"tokens_in": t, "margin": math.inf}
        reduction = None
        if method[0] == "tome" and method[1][i] > 0:
            reduction = tome_matching(keys, method[1][i], P)
            if reduction is not None:
                record["margin"] = reduction[5]
        elif method[0] == "prune" and i in method[1]:
            scores = class_attention_scores(class_rows, class_out, P, method[2])
            kept, margin = prune_selection(scores, method[1][i])
            remap = torch.full((t,), -1, dtype=torch.long)
            remap[:P] = torch.arange(P)
            remap[P + kept] = P + torch.arange(len(kept))
            reduction = (remap, P + len(kept))
            record["margin"] = margin
            record["scores"] = scores
        if reduction is not None:
            x, size, groups = reduce_tokens(x, size, groups, reduction[0], reduction[1])
        x = x + block.mlp(block.norm2(x))
        record["tokens_out"] = x.shape[1]
        record["group_of"] = group_of(groups)
        records.append(record)
    return x, records


def group_of(groups):
    """For every embedding row, the token holding it (-1: pruned); each row is in at most one token."""
    assert bool((groups.sum(0) <= 1).all()), "an embedding row sits in two tokens"
    held = groups.sum(0) > 0
    return torch.where(held, groups.argmax(0), torch.full_like(held, -1, dtype=torch.long)).float()


def run_checked(vit, tokens, rows, method, what):
    """run_blocks, refusing near-ties: every margin >= MIN_MARGIN and the float64 reference takes the same
    decisions (same groups after every block). Returns tokens, records and the smallest margin."""
    out, records = run_blocks(vit, tokens, rows, method)
    margin = min(r["margin"] for r in records)
    assert margin >= MIN_MARGIN, f"{what}: near-tie, a decision has margin {margin:.2e} < {MIN_MARGIN}; pick another input"
    vit64 = copy.deepcopy(vit).double()
    _, records64 = run_blocks(vit64, tokens.double(), rows, method)
    for i, (a, b) in enumerate(zip(records, records64)):
        assert torch.equal(a["group_of"], b["group_of"]), f"{what}: float32 and float64 decisions differ in block {i}"
    return out, records, margin
