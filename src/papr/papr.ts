// PaPr: a proposer ConvNet looks at the image once; the channel mean of its last feature map, resized
// to the patch grid, ranks the patches; only the top fraction z of patch tokens enters the transformer
// blocks. The steps are numbered as in docs/algorithm.md:
//
//   x [1,3,S,S] --2. proposer features--> F [1,K,h,w] --3. channel mean--> R [h,w]
//     --4. bicubic, align_corners--> P [H,W] --5. stable descending sort--> ranking
//     --6. keep count k(z)--> kept patch indices
//   x --7. embed, then gather prefix + kept--> tokens [prefix + k, D] --8. blocks, head--> logits
//
// paprForward is the whole algorithm. Timing, MAC counting and the trace watch it from outside
// (an Observer); token merging or dropping inside the blocks is a TokenReducer (token_reduction.ts),
// and plain PaPr is the reducer that does nothing.
import type { Vit } from "../models/vit.ts";
import { Arena, withArena } from "../tensor/arena.ts";
import { countMacs } from "../tensor/mac_counter.ts";
import { checkFinite } from "../tensor/checks.ts";
import { ShapeError, Tensor, shapeStr } from "../tensor/tensor.ts";

export { NonFiniteError, checkFinite } from "../tensor/checks.ts";
import { costConfig, vitCost, type CostBreakdown, type VitCostConfig } from "./macs.ts";
import { proposalMap } from "./proposal.ts";
import { pruneTokens } from "./prune.ts";
import { keepCount, keepMask, keptPatches, rankPatches, type KeepConvention } from "./ranking.ts";
import { patchSignificance } from "./significance.ts";
import {
  embedRowsOf,
  noReduction,
  reductionCost,
  runReducedBlocks,
  type ReductionRun,
  type TokenReducer,
} from "./token_reduction.ts";

/** What PaPr needs from a proposer: its last convolutional stage. */
export interface Proposer {
  features(x: Tensor): Tensor; // [1, 3, S, S] -> [1, K, h, w]
  readonly imageSize?: number;
}

/** Runs one named stage of the forward; an observer may time it, count its MACs or keep its output. */
export type Observer = <T>(stage: string, run: () => T) => T;

const unobserved: Observer = (_stage, run) => run();

export interface ForwardOptions {
  z: number; // keep ratio in (0, 1]; 1 = no pruning
  convention?: KeepConvention; // "official" (default): k = floor(n z) with n counting prefix tokens
  order?: "significance" | "spatial"; // order of the kept tokens; official = significance
  reducer?: TokenReducer; // merging / dropping inside the blocks (ToMe, attention pruning); default none
  maps?: boolean; // run steps 2-5 even at z = 1 (for the trace)
}

export interface Forward {
  logits: Tensor; // [numClasses]
  kept: Int32Array; // kept patch indices (row-major over the grid), in the order they entered the blocks
  keptCount: number;
  reduction: ReductionRun; // through the blocks: tokens per block, what the reducer did
}

/** PaPr's forward pass on one preprocessed image x [1, 3, S, S] (docs/algorithm.md, steps 2-8). */
export function paprForward(
  vit: Vit,
  proposer: Proposer | null,
  x: Tensor,
  options: ForwardOptions,
  observe = unobserved,
): Forward {
  const { z, convention = "official", order = "significance", reducer = noReduction, maps = false } = options;
  const { numPatches, numPrefixTokens, gridSize } = vit.config;
  const k = keepCount(z, numPatches, numPrefixTokens, convention); // 6.
  // z = 1: every patch, in grid order
  let kept: Int32Array<ArrayBufferLike> = Int32Array.from({ length: numPatches }, (_, i) => i);
  if (k < numPatches && proposer === null) throw new Error(`PaPr: z = ${z} prunes patches, so a proposer is needed`);
  if (proposer !== null && (k < numPatches || maps)) {
    const features = observe("proposer", () => proposerFeatures(proposer, x)); // 2. F
    const proposal = observe("proposal", () => proposalMap(features)); // 3. R
    const significance = observe("significance", () =>
      checkFinite("significance map (step 4)", patchSignificance(proposal, [gridSize, gridSize])),
    ); // 4. P
    const ranking = observe("ranking", () => rankPatches(significance)); // 5.
    if (k < numPatches) kept = keptPatches(ranking, k, order); // 6.
  }
  const embedded = observe("embed", () => checkFinite("patch embedding (step 7)", vit.embed(x))); // 7.
  const tokens = k < numPatches ? observe("prune", () => pruneTokens(embedded, numPrefixTokens, kept)) : embedded; // 7.
  const reduction = runReducedBlocks(vit, tokens, embedRowsOf(numPrefixTokens, kept), reducer, observe); // 8.
  const logits = observe("head", () => checkFinite("logits (step 8, backbone head)", vit.head(reduction.tokens))); // 8.
  return { logits, kept, keptCount: k, reduction };
}

function proposerFeatures(proposer: Proposer, x: Tensor): Tensor {
  const features = proposer.features(x);
  if (features.rank !== 4 || features.shape[0] !== 1) {
    throw new ShapeError("PaPr proposer", `features must be [1, K, h, w], got ${shapeStr(features.shape)}`);
  }
  return checkFinite("proposer features (step 2)", features);
}

// ---- Papr: the forward with its bookkeeping --------------------------------------------------------

export interface PaprOptions extends Partial<ForwardOptions> {
  trace?: boolean; // keep every intermediate map for inspection
}

export interface PaprTrace {
  input: Tensor; // the preprocessed image [1, 3, S, S] both networks saw
  features: Tensor; // proposer's last feature map [1, K, h, w]
  proposal: Tensor; // R [h, w]
  significance: Tensor; // P [H, W]
  ranking: Int32Array; // all patch indices, most significant first
  mask: Uint8Array; // [H * W], 1 = kept
}

export interface PaprResult extends Forward {
  numPatches: number;
  method: string; // the reducer's method ("none" for plain PaPr)
  tokensPerBlock: number[]; // tokens entering each block
  tokensAfterBlock: number[]; // tokens leaving each block
  macs: CostBreakdown; // this forward, proposer included
  unprunedMacs: CostBreakdown; // the plain backbone (no proposer, all tokens)
  timeMs: { proposer: number; ranking: number; embed: number; blocks: number[]; head: number; total: number };
  trace?: PaprTrace;
}

export class Papr {
  readonly cost: VitCostConfig;
  /** The activations of one forward, reused by the next (predict copies out what it returns). */
  private readonly arena = new Arena();

  /** proposer may be null for a backbone run without pruning (z = 1), e.g. ToMe alone. */
  constructor(
    readonly backbone: Vit,
    readonly proposer: Proposer | null,
  ) {
    this.cost = costConfig(backbone);
    if (proposer?.imageSize !== undefined && proposer.imageSize !== this.cost.imageSize) {
      throw new Error(
        `PaPr: proposer input size ${proposer.imageSize} differs from backbone input size ${this.cost.imageSize}; ` +
          "both must see the same preprocessed tensor",
      );
    }
  }

  /** Classifies one preprocessed image x [1, 3, S, S]: paprForward, timed, MAC-counted and (optionally) traced. */
  predict(x: Tensor, options: PaprOptions = {}): PaprResult {
    const { trace = false, z = 0.5, ...rest } = options;
    const log = new StageLog();
    const forward = withArena(this.arena, () => {
      const f = paprForward(this.backbone, this.proposer, x, { ...rest, z, maps: trace }, log.observe);
      // out of the arena: its buffers are the next forward's
      const reduction = { ...f.reduction, tokens: f.reduction.tokens.clone() };
      if (trace) for (const stage of ["proposer", "proposal", "significance"]) log.keepCopy(stage);
      return { ...f, logits: f.logits.clone(), reduction };
    });
    const { blocks, method } = forward.reduction;
    const { numPatches, numPrefixTokens } = this.backbone.config;
    const result: PaprResult = {
      ...forward,
      numPatches,
      method,
      tokensPerBlock: blocks.map((b) => b.tokensIn),
      tokensAfterBlock: blocks.map((b) => b.tokensOut),
      macs: reductionCost(this.cost, blocks, log.macs("proposer")),
      unprunedMacs: vitCost(this.cost, new Array(this.backbone.numBlocks).fill(numPrefixTokens + numPatches)),
      timeMs: log.times(this.backbone.numBlocks),
    };
    if (trace && log.has("proposer")) {
      result.trace = {
        input: x,
        features: log.output("proposer"),
        proposal: log.output("proposal"),
        significance: log.output("significance"),
        ranking: log.output("ranking"),
        mask: keepMask(forward.kept, numPatches),
      };
    }
    return result;
  }
}

/** An Observer that records each stage's time, counted MACs and output (video_papr.ts uses it too). */
export class StageLog {
  private readonly records = new Map<string, { ms: number; macs: number; output: unknown }>();

  readonly observe: Observer = (stage, run) => {
    const start = performance.now();
    const { result, macs } = countMacs(run);
    this.records.set(stage, { ms: performance.now() - start, macs, output: result });
    return result;
  };

  /** Replaces a stage's Tensor output by a copy (when it has one). */
  keepCopy(stage: string): void {
    const record = this.records.get(stage);
    if (record?.output instanceof Tensor) record.output = record.output.clone();
  }

  has(stage: string): boolean {
    return this.records.has(stage);
  }

  ms(stage: string): number {
    return this.records.get(stage)?.ms ?? 0;
  }

  macs(stage: string): number {
    return this.records.get(stage)?.macs ?? 0;
  }

  output<T>(stage: string): T {
    return this.records.get(stage)!.output as T;
  }

  /** The times in the shape PaprResult reports them (proposal + significance + ranking = "ranking"). */
  times(numBlocks: number): PaprResult["timeMs"] {
    const blocks = Array.from({ length: numBlocks }, (_, i) => this.ms(`block ${i}`));
    const t = {
      proposer: this.ms("proposer"),
      ranking: this.ms("proposal") + this.ms("significance") + this.ms("ranking"),
      embed: this.ms("embed") + this.ms("prune"),
      blocks,
      head: this.ms("head"),
    };
    return { ...t, total: t.proposer + t.ranking + t.embed + blocks.reduce((a, b) => a + b, 0) + t.head };
  }
}
