// PaPr: a proposer ConvNet looks at the image once; the channel mean of its last
// feature map, resized to the patch grid, ranks the patches; only the top
// fraction z of patch tokens enters the transformer blocks.
//
//   x [1,3,S,S] --proposer.features--> F [1,K,h,w] --channel mean--> R [h,w]
//     --bicubic, align_corners--> P [H,W] --stable descending sort--> ranking
//     --keep count k(z)--> kept patch indices
//   x --backbone.embed--> tokens [prefix + H*W, D] --gather prefix + kept--> [prefix + k, D]
//     --blocks--> --head--> logits
import { countMacs } from "../tensor/macs.ts";
import type { Vit } from "../models/vit.ts";
import { ShapeError, type Tensor } from "../tensor/tensor.ts";
import { vitCost, type CostBreakdown, type VitCostConfig } from "./macs.ts";
import { proposalMap } from "./proposal.ts";
import { pruneTokens } from "./prune.ts";
import { keepCount, keepMask, keptPatches, rankPatches, type KeepConvention } from "./ranking.ts";
import { patchSignificance } from "./significance.ts";
import { runWithTokenReduction, type ReducibleBackbone, type TokenReducer } from "./token_reduction.ts";

/** What PaPr needs from a proposer: its last convolutional stage. */
export interface Proposer {
  features(x: Tensor): Tensor; // [1, 3, S, S] -> [1, K, h, w]
  readonly imageSize?: number;
}

/** What PaPr needs from a ViT backbone: the forward pass split at the pruning point (see src/models/vit.ts). */
export type Backbone = Pick<Vit, "config" | "numBlocks" | "embed" | "block" | "head">;

/** The geometry the MAC count needs, from a backbone's config. */
export function costConfig(backbone: Backbone): VitCostConfig {
  const c = backbone.config;
  return {
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    inChannels: c.inChannels,
    embedDim: c.embedDim,
    depth: c.depth,
    mlpRatio: c.mlpRatio,
    numClasses: c.numClasses,
    numPrefixTokens: c.numPrefixTokens,
    distillToken: c.distillToken,
  };
}

export interface PaprOptions {
  z?: number; // keep ratio in (0, 1]; 1 = no pruning
  convention?: KeepConvention; // "official" (default): k = floor(n z) with n counting prefix tokens
  order?: "significance" | "spatial"; // order of the kept tokens; official = significance
  trace?: boolean; // keep every intermediate for inspection
  // Token merging or dropping inside the blocks after PaPr's pruning (tome(), attentionPruning()):
  // predict then runs runWithTokenReduction and returns its ReducedResult. Needs a Vit (blockParams).
  reducer?: TokenReducer;
}

export interface PaprTrace {
  input: Tensor; // the preprocessed image [1, 3, S, S] both networks saw
  features: Tensor; // proposer's last feature map [1, K, h, w]
  proposal: Tensor; // R [h, w]
  significance: Tensor; // P [H, W]
  ranking: Int32Array; // all patch indices, most significant first
  mask: Uint8Array; // [H * W], 1 = kept
}

export interface PaprResult {
  logits: Tensor; // [numClasses]
  kept: Int32Array; // kept patch indices (row-major over the grid), in the order they entered the blocks
  keptCount: number;
  numPatches: number;
  tokensPerBlock: number[]; // tokens entering each block
  macs: CostBreakdown; // this forward, proposer included
  unprunedMacs: CostBreakdown; // the plain backbone (no proposer, all tokens)
  timeMs: { proposer: number; ranking: number; embed: number; blocks: number[]; head: number; total: number };
  trace?: PaprTrace;
}

export class Papr {
  readonly cost: VitCostConfig;

  constructor(
    readonly backbone: Backbone,
    readonly proposer: Proposer,
  ) {
    this.cost = costConfig(backbone);
    if (proposer.imageSize !== undefined && proposer.imageSize !== this.cost.imageSize) {
      throw new Error(
        `PaPr: proposer input size ${proposer.imageSize} differs from backbone input size ${this.cost.imageSize}; ` +
          "both must see the same preprocessed tensor",
      );
    }
  }

  /** Classifies one preprocessed image x [1, 3, S, S]. */
  predict(x: Tensor, options: PaprOptions = {}): PaprResult {
    const { z = 0.5, convention = "official", order = "significance", trace = false, reducer } = options;
    const { backbone } = this;
    if (reducer) {
      if (!("blockParams" in backbone))
        throw new Error(`PaPr: the ${reducer.method} reducer needs a backbone with blockParams (a Vit from createVit)`);
      return runWithTokenReduction(backbone as ReducibleBackbone, this.proposer, x, reducer, {
        z,
        convention,
        order,
        trace,
      });
    }
    const { numPatches, numPrefixTokens, gridSize } = backbone.config;
    const grid: [number, number] = [gridSize, gridSize];
    const k = keepCount(z, numPatches, numPrefixTokens, convention);
    const clock = stopwatch();

    // 1. Proposer: F = last conv stage; 2. R = channel mean; 3. P = bicubic to the grid; 4. ranking.
    let features: Tensor | null = null;
    let proposal: Tensor | null = null;
    let significance: Tensor | null = null;
    let ranking: Int32Array;
    let proposerMacs = 0;
    let proposerTime = 0;
    let rankingTime = 0;
    if (k < numPatches || trace) {
      ({ result: features, macs: proposerMacs } = countMacs(() => this.runProposer(x)));
      proposerTime = clock();
      proposal = proposalMap(features);
      significance = patchSignificance(proposal, grid);
      ranking = rankPatches(significance);
      rankingTime = clock();
    } else {
      ranking = Int32Array.from({ length: numPatches }, (_, i) => i);
    }
    // z = 1 keeps every patch in grid order: exactly the unpruned backbone.
    const kept =
      k === numPatches ? Int32Array.from({ length: numPatches }, (_, i) => i) : keptPatches(ranking, k, order);

    // 5. Backbone: embed -> keep prefix + kept patches -> blocks -> head.
    const embedded = backbone.embed(x);
    let tokens = k === numPatches ? embedded : pruneTokens(embedded, numPrefixTokens, kept);
    const embedTime = clock();
    const tokensPerBlock: number[] = [];
    const blockTimes: number[] = [];
    for (let i = 0; i < backbone.numBlocks; i++) {
      tokensPerBlock.push(tokens.shape[0]);
      tokens = backbone.block(i, tokens);
      blockTimes.push(clock());
    }
    const logits = backbone.head(tokens);
    const headTime = clock();

    const allTokens = numPrefixTokens + numPatches;
    const result: PaprResult = {
      logits,
      kept,
      keptCount: k,
      numPatches,
      tokensPerBlock,
      macs: vitCost(this.cost, tokensPerBlock, proposerMacs),
      unprunedMacs: vitCost(this.cost, new Array(backbone.numBlocks).fill(allTokens)),
      timeMs: {
        proposer: proposerTime,
        ranking: rankingTime,
        embed: embedTime,
        blocks: blockTimes,
        head: headTime,
        total: proposerTime + rankingTime + embedTime + blockTimes.reduce((a, b) => a + b, 0) + headTime,
      },
    };
    if (trace) {
      result.trace = {
        input: x,
        features: features!,
        proposal: proposal!,
        significance: significance!,
        ranking,
        mask: keepMask(kept, numPatches),
      };
    }
    return result;
  }

  private runProposer(x: Tensor): Tensor {
    const features = this.proposer.features(x);
    if (features.rank !== 4 || features.shape[0] !== 1) {
      throw new ShapeError("PaPr proposer", `features must be [1, K, h, w], got [${features.shape.join(", ")}]`);
    }
    return features;
  }
}

/** Returns a function giving the milliseconds since its previous call. */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const elapsed = now - last;
    last = now;
    return elapsed;
  };
}
