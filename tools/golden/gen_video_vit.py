"""Goldens for src/models/video_vit.ts (VideoMAE classifier) and src/models/load/names_videomae.ts.

The reference network is tools/golden/video_vit_ref.py (plain PyTorch, written from the paper; the original
release's parameter names). Real token count, small width: 16 frames at 224 (8 x 14 x 14 = 1568 tokens, the
VideoMAE geometry PaPr prunes) but D = 48, 3 heads, 2 blocks, so the TS test runs in about a second. Every
parameter is filled by load_synthetic under the ORIGINAL names, so the TS side rebuilds the same weights with
syntheticWeights(spec) from the committed spec and maps them through names_videomae.ts.

One input: rand("video_vit.input", [1, 3, 16, 224, 224]), rebuilt on the TS side; only its first 64 values are
committed (input_head).

video_vit_small.safetensors:
  logits [C]                        forward(x)
  embed_rows [R, D], embed_mean [D], embed_abs_sum [1]
                                    rows EMBED_ROWS of embed(x) (they pin the t-major, h, w token order), its mean
                                    over the tokens and the sum of |values| (a checksum of the whole [L, D])
  positions_rows [R, D]             the same rows of the fixed sinusoidal table alone
  block0_rows [R, D], block0_mean [D]   block 0 applied to embed(x)
  keep [k], logits_pruned [C]       k = floor(0.4 L) = 627 tokens in a seeded order (neither spatial nor
                                    reversed); the reference gathers them after embedding + positions and runs
                                    the blocks and the head (mean over the kept tokens) on them only
video_vit_hf.safetensors: the same geometry under Hugging Face names (weights filled by load_synthetic under the HF
names, so they differ from the above); logits from the HF-structured module (separate q/k/v without bias,
q_bias / v_bias added), after checking here that the original-structured module agrees on the same weights.
"""
import json

import torch

from common import load_synthetic, rand, save_fixture
from video_vit_ref import HFVideoVisionTransformer, VideoVisionTransformer, VideoVitConfig, hf_to_original_state

CONFIG = VideoVitConfig(embed_dim=48, depth=2, num_heads=3)
INPUT = [1, 3, CONFIG.num_frames, CONFIG.image_size, CONFIG.image_size]
EMBED_ROWS = [0, 1, 13, 14, 195, 196, 197, 1000, 1567]  # w steps, h steps, the first t step, the last token
KEEP_RATIO = 0.4


def config_json(c: VideoVitConfig) -> str:
    return json.dumps(c.__dict__, separators=(",", ":"))


def kept_tokens(c: VideoVitConfig) -> torch.Tensor:
    scores = rand("video_vit.keep_scores", [c.num_tokens])
    return torch.argsort(scores, descending=True)[: int(c.num_tokens * KEEP_RATIO)]


def golden(c: VideoVitConfig, x: torch.Tensor) -> str:
    model = VideoVisionTransformer(c).eval()
    spec = load_synthetic(model)
    keep = kept_tokens(c)
    with torch.no_grad():
        tokens = model.embed(x)
        after0 = model.blocks[0](tokens)
        logits = model.head_of(model.run_blocks(tokens))[0]
        assert torch.equal(logits, model(x)[0])
        logits_pruned = model(x, keep)[0]
    out = {
        "input_head": x.flatten()[:64],
        "logits": logits,
        "embed_rows": tokens[0, EMBED_ROWS], "embed_mean": tokens[0].mean(0),
        "embed_abs_sum": tokens.double().abs().sum().reshape(1),
        "positions_rows": model.pos_embed[0, EMBED_ROWS],
        "block0_rows": after0[0, EMBED_ROWS], "block0_mean": after0[0].mean(0),
        "keep": keep.float(), "logits_pruned": logits_pruned,
    }
    return save_fixture("video_vit_small", out, metadata={
        "spec": json.dumps(spec, separators=(",", ":")), "config": config_json(c),
        "embed_rows": json.dumps(EMBED_ROWS)})


def hf_golden(c: VideoVitConfig, x: torch.Tensor) -> str:
    hf = HFVideoVisionTransformer(c).eval()
    hf_spec = load_synthetic(hf)
    original = VideoVisionTransformer(c).eval()
    original.load_state_dict(hf_to_original_state(hf))  # strict: the Python-side map covers every name
    with torch.no_grad():
        logits = hf(x)[0]
        assert torch.allclose(original(x)[0], logits, rtol=0, atol=1e-5 * logits.abs().max().item())
    return save_fixture("video_vit_hf", {"input_head": x.flatten()[:64], "logits": logits}, metadata={
        "hf_spec": json.dumps(hf_spec, separators=(",", ":")), "config": config_json(c)})


def main():
    x = rand("video_vit.input", INPUT)
    return [golden(CONFIG, x), hf_golden(CONFIG, x)]
