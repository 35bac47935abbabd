// Cost of a VideoMAE classifier forward (src/models/video_vit.ts), in the units of macs.ts (fvcore-style
// multiply-accumulates, PAPR-SPEC.md section 2): the full tubelet embedding (before pruning), each block on the
// tokens it sees (blockMacs), fc_norm on the pooled vector and the head. The mean pool is not counted (fvcore
// counts no adds). Unpruned ViT-B: 180.5 G (VideoMAE reports 180 G), ViT-S: 57.0 G (57 G).
import type { VideoVitConfig } from "../models/video_vit.ts";
import { LAYER_NORM_MACS_PER_ELEMENT, blockMacs, type CostBreakdown } from "./macs.ts";

type VideoCostConfig = Pick<
  VideoVitConfig,
  | "numFrames"
  | "imageSize"
  | "patchSize"
  | "tubeletSize"
  | "inChannels"
  | "embedDim"
  | "depth"
  | "mlpRatio"
  | "numClasses"
>;

/** L = (T/t) (H/p) (W/p), the tokens before pruning. */
function numTokens(c: VideoCostConfig): number {
  return (c.numFrames / c.tubeletSize) * (c.imageSize / c.patchSize) ** 2;
}

/** Tubelet embedding: a Conv3d with kernel = stride = (t, p, p) over the whole clip (always full, before pruning). */
export function tubeletEmbedMacs(c: VideoCostConfig): number {
  return numTokens(c) * c.inChannels * c.tubeletSize * c.patchSize * c.patchSize * c.embedDim;
}

/** Cost of a forward in which block i sees tokensPerBlock[i] tokens, plus the proposer's MACs. */
export function videoVitCost(c: VideoCostConfig, tokensPerBlock: number[], proposerMacs = 0): CostBreakdown {
  if (tokensPerBlock.length !== c.depth)
    throw new Error(`videoVitCost: ${tokensPerBlock.length} token counts given for ${c.depth} blocks`);
  const blocks = tokensPerBlock.map((n) => blockMacs(n, c.embedDim, c.mlpRatio));
  const patchEmbed = tubeletEmbedMacs(c);
  const head = LAYER_NORM_MACS_PER_ELEMENT * c.embedDim + c.embedDim * c.numClasses; // fc_norm on [D], then Linear
  const total = proposerMacs + patchEmbed + blocks.reduce((a, b) => a + b, 0) + head;
  return { proposer: proposerMacs, patchEmbed, blocks, head, total };
}

/** PaPr's cost: `kept` tokens (all L when absent) enter every block; the embedding stays full. */
export function videoVitCostKept(c: VideoCostConfig, kept = numTokens(c), proposerMacs = 0): CostBreakdown {
  return videoVitCost(c, new Array(c.depth).fill(kept), proposerMacs);
}
