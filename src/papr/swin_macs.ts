// MACs of a (masked) Swin Transformer forward, by the fvcore conventions of macs.ts:
//   linear / matmul / conv one MAC per multiply-add; layer norm 5 per element; softmax, GELU, adds,
//   the relative position bias, the shifted-window mask, rolls and pooling not counted.
// Stage i (grid H x W = P positions, C channels, windows of N = w^2 tokens, MLP hidden r C) with k foreground
// positions (k = P unmasked):
//   patch merging (i >= 1, on the P' = 4P positions of the grid before):  LayerNorm(4C') over P rows 5 * 4C' P
//                                                                           + reduction P * 4C' * 2C'
//   per block:  norm1 5PC + qkv 3PC^2 + attention q k^T and attn v 2PNC + proj PC^2   (every position)
//               norm2 5kC + fc1 k C rC + fc2 k rC C                                      (foreground only)
// Patch embedding: conv over the whole image + its LayerNorm; head: final LayerNorm on every position + fc.
import { mlpHidden, stageDim, swinStageGrids, windowOf, type SwinConfig } from "../models/swin.ts";
import { LAYER_NORM_MACS_PER_ELEMENT as LN } from "./macs.ts";

export interface SwinCostBreakdown {
  proposer: number;
  patchEmbed: number; // conv + its LayerNorm
  stages: number[]; // per stage: patch merging (stages >= 1) + every block
  head: number; // final LayerNorm + classifier
  total: number;
  layerNorms: number; // the LayerNorm share of the above (src/tensor/mac_counter.ts does not count norms)
}

/**
 * MACs of a Swin forward in which stage i runs its MLPs on foregroundCounts[i] positions (its grid's size
 * when unmasked), plus the proposer's MACs.
 */
export function swinMacs(config: SwinConfig, foregroundCounts: number[], proposerMacs = 0): SwinCostBreakdown {
  const grids = swinStageGrids(config);
  if (foregroundCounts.length !== grids.length) {
    throw new Error(`swinMacs: ${foregroundCounts.length} foreground counts given for ${grids.length} stages`);
  }
  let layerNorms = 0;
  const [H0, W0] = grids[0];
  const C0 = config.embedDim;
  const patchEmbed = H0 * W0 * (config.inChannels * config.patchSize ** 2 * C0 + LN * C0);
  layerNorms += LN * H0 * W0 * C0;
  const stages = grids.map(([H, W], i) => {
    const P = H * W;
    const k = foregroundCounts[i];
    if (!Number.isInteger(k) || k < 0 || k > P) {
      throw new Error(`swinMacs: stage ${i} has ${P} positions; ${k} foreground positions is not a count in [0, ${P}]`);
    }
    const C = stageDim(config, i);
    const hidden = mlpHidden(config, i);
    let macs = 0;
    if (i > 0) {
      const before = 2 * C; // 4C' = 2C channels after the concatenation of 4 x C' = C / 2
      macs += LN * P * before + P * before * C;
      layerNorms += LN * P * before;
    }
    for (let j = 0; j < config.depths[i]; j++) {
      const { window } = windowOf(config, H, j);
      const N = window * window;
      macs += LN * P * C + 3 * P * C * C + 2 * P * N * C + P * C * C; // attention half, every position
      macs += LN * k * C + 2 * k * C * hidden; // MLP half, foreground only
      layerNorms += LN * (P + k) * C;
    }
    return macs;
  });
  const [HL, WL] = grids[grids.length - 1];
  const CL = stageDim(config, grids.length - 1);
  const head = LN * HL * WL * CL + CL * config.numClasses;
  layerNorms += LN * HL * WL * CL;
  const total = proposerMacs + patchEmbed + stages.reduce((a, b) => a + b, 0) + head;
  return { proposer: proposerMacs, patchEmbed, stages, head, total, layerNorms };
}
