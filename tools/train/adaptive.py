"""Adaptive sparse token pruning with learned thresholds (AS-ViT: Liu, Wu, Guo, "Adaptive Sparse ViT: Towards
Learnable Adaptive Token Pruning by Fully Exploiting Self-Attention", IJCAI 2023; seed 001) on the blocks of
models.VisionTransformer. The PyTorch side of src/papr/adaptive_pruning.ts: train_thresholds.py fits the thresholds
with `soft` masks, and tools/golden/gen_adaptive.py checks the TypeScript inference against `hard` masks.

At each pruning block b, between attention and MLP (x = tokens + attention(norm1(tokens))):
    w_h     = |o_h|, o_h = A_h[0, :] V_h     head importance: norm of the class token's output of head h
    s_j     = sum_h w_h A_h[0, j] / sum_h w_h   head-weighted class attention of patch token j (softmax scale)
    hard:   keep j iff s_j >= theta_b (at least the best token kept); dropped tokens leave the sequence
    soft:   m_j <- m_j * sigmoid((log s_j - log theta_b) / tau)   (training: a differentiable keep mask; on the log
            scale because class attention spans orders of magnitude, and so that theta -> 0 keeps every token)
A soft mask acts as DynamicViT's masked softmax: key j enters every row's softmax with weight m_j (a token's own key
always counts, so a masked query still has a defined row). With masks of 0 and 1 this is exactly dropping the tokens
for every kept token and the class token, so `hard` mode is also run here as a mask (and as real dropping in the
golden generator, which must agree).

Thresholds are stored on the softmax scale (theta_b compared with s_j); the trainable parameter is
u_b = log(theta_b * P) (P = patch count of the backbone, 196 here): theta_b in units of the mean score 1/P of an
unpruned image, on the log scale.
"""
import math

import torch
import torch.nn.functional as F

LN_MACS = 5  # fvcore: five MACs per element of a layer norm (src/papr/macs.ts)


def pruning_blocks(depth: int) -> list:
    """The paper prunes DeiT's 12 blocks inside blocks 4, 7 and 10 (1-based), i.e. after a quarter, a half and three
    quarters of the depth: floor(depth * k / 4) for k = 1, 2, 3 (0-based; 3, 6, 9 at depth 12; 1, 3, 4 at depth 6)."""
    blocks = sorted({depth * k // 4 for k in (1, 2, 3)})
    return [b for b in blocks if b >= 1] or [0]


def block_macs(n_in, n_out, dim: int, mlp_ratio: int = 4):
    """One block's MACs with n_in tokens in its attention half and n_out in its MLP half (reducedBlockMacs in
    src/papr/token_reduction.ts). n_in, n_out may be float tensors (expected counts of a soft mask)."""
    attention = 4 * n_in * dim * dim + 2 * n_in * n_in * dim + LN_MACS * n_in * dim
    mlp = 2 * n_out * dim * (mlp_ratio * dim) + LN_MACS * n_out * dim
    return attention + mlp


def masked_attention(block, x, mask):
    """block.attn on norm1(x) [B, N, D] with key weights mask [B, N] (None = all 1): output [B, N, D], class-token
    attention rows [B, H, N] and the class token's per-head outputs [B, H, hd]."""
    attn = block.attn
    B, N, D = x.shape
    H = attn.heads
    hd = D // H
    qkv = attn.qkv(block.norm1(x)).reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # [B, H, N, hd]
    logits = (q @ k.transpose(-2, -1)) * hd ** -0.5
    if mask is None:
        probs = logits.softmax(dim=-1)
    else:
        keys = mask[:, None, None, :]  # [B, 1, 1, N]
        eye = torch.eye(N, dtype=x.dtype)[None, None]
        weight = keys + (1 - keys) * eye  # a token's own key always counts
        e = (logits - logits.max(dim=-1, keepdim=True).values).exp() * weight
        probs = e / e.sum(dim=-1, keepdim=True)
    heads = probs @ v  # [B, H, N, hd]
    out = attn.proj(heads.transpose(1, 2).reshape(B, N, D))
    return out, probs[:, :, 0, :], heads[:, :, 0, :]


def class_attention_scores(class_rows, class_out, num_prefix: int = 1):
    """Head-importance-weighted class attention: [B, H, N], [B, H, hd] -> scores of the non-prefix tokens [B, N-P]."""
    w = class_out.norm(dim=-1)  # [B, H]
    return (w[:, :, None] * class_rows[:, :, num_prefix:]).sum(1) / w.sum(1, keepdim=True)


class AdaptiveSparse(torch.nn.Module):
    """A frozen (or tuned) models.VisionTransformer with learnable thresholds at `blocks`."""

    def __init__(self, vit, blocks, init_units: float = 0.3, tau: float = 0.5):
        super().__init__()
        self.vit = vit
        self.blocks = list(blocks)
        self.num_patches = vit.pos_embed.shape[1] - 1
        self.log_units = torch.nn.Parameter(torch.full((len(self.blocks),), math.log(init_units)))  # log(theta_b P)
        self.tau = tau  # soft-mask temperature, on the log scale

    def thresholds(self) -> torch.Tensor:
        return self.log_units.exp() / self.num_patches

    def embed(self, x):
        v = self.vit
        t = v.patch_embed(x)
        return torch.cat([v.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + v.pos_embed

    def forward(self, x, mode: str = "soft", tokens=None):
        """x [B, 3, 224, 224] (or embedded tokens [B, N, D]) -> logits [B, classes], per-image expected block MACs
        [B], kept counts [B, stages] (tokens incl. the class token after each stage), scores per stage."""
        v = self.vit
        t = self.embed(x) if tokens is None else tokens
        B, N, D = t.shape
        mask = torch.ones(B, N, dtype=t.dtype)
        theta = self.thresholds()
        macs = t.new_zeros(B)
        kept, scores = [], []
        n_in = mask.sum(1)
        for i, block in enumerate(v.blocks):
            out, rows, heads = masked_attention(block, t, None if i <= self.blocks[0] else mask)
            t = t + out
            if i in self.blocks:
                s = class_attention_scores(rows, heads)  # [B, N-1]
                stage = self.blocks.index(i)
                if mode == "soft":
                    keep = torch.sigmoid((s.clamp(min=1e-12).log() - theta[stage].log()) / self.tau)
                else:
                    keep = (s >= theta[stage]).to(t.dtype)
                    best = torch.where(mask[:, 1:] > 0, s, torch.full_like(s, -math.inf)).argmax(dim=1)
                    keep[torch.arange(B), best] = 1.0  # at least the best token stays
                mask = torch.cat([mask[:, :1], mask[:, 1:] * keep], dim=1)
                kept.append(mask.sum(1))
                scores.append(s)
            n_out = mask.sum(1)
            macs = macs + block_macs(n_in, n_out, D)
            n_in = n_out
            t = t + block.mlp(block.norm2(t))
        logits = v.head(v.norm(t)[:, 0])
        return logits, macs, torch.stack(kept, 1), scores


def full_block_macs(vit) -> float:
    n = vit.pos_embed.shape[1]
    d = vit.pos_embed.shape[2]
    return len(vit.blocks) * block_macs(n, n, d)


@torch.no_grad()
def hard_drop_forward(vit, tokens, blocks, theta, num_prefix: int = 1):
    """Batch-1 reference that really removes the tokens (as src/papr/token_reduction.ts does): tokens [1, n, D]
    whose rows are embedding rows `rows`; returns logits [classes], per-block (tokens_in, tokens_out), the kept
    embedding rows after each stage, the scores at each stage and the smallest |s_j - theta| (in units of 1/m)."""
    t = tokens
    rows = torch.arange(t.shape[1])
    records, kept_rows, stage_scores, margin = [], [], [], math.inf
    for i, block in enumerate(vit.blocks):
        n_in = t.shape[1]
        out, class_rows, class_out = masked_attention(block, t, None)
        t = t + out
        if i in blocks:
            s = class_attention_scores(class_rows, class_out, num_prefix)[0]  # [m]
            th = float(theta[blocks.index(i)])
            m = s.shape[0]
            margin = min(margin, m * (s - th).abs().min().item())
            keep = s >= th
            if not bool(keep.any()):
                keep[torch.sort(s, descending=True, stable=True).indices[0]] = True
            index = torch.cat([torch.arange(num_prefix), num_prefix + keep.nonzero()[:, 0]])
            t = t[:, index]
            rows = rows[index]
            kept_rows.append(rows.clone())
            stage_scores.append(s)
        records.append((n_in, t.shape[1]))
        t = t + block.mlp(block.norm2(t))
    return vit.head(vit.norm(t)[:, 0])[0], records, kept_rows, stage_scores, margin
