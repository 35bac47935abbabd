// Video PaPr (PAPR-SPEC.md section 6; docs/video_papr.md): a 3-D proposer ConvNet (X3D, R3D) looks at the clip
// once; its last feature map, resized to the video ViT's token grid and averaged over channels, ranks the
// tubelet tokens; only the top floor(L z) tokens enter the transformer blocks. No prefix token (VideoMAE has none).
//
//   x [1,3,T,S,S] --1. trilinear, align_corners--> x' [1,3,T',S',S'] (the proposer's clip, e.g. X3D-S 8x160x160)
//     --2. proposer features--> F [1,K,t,h,w] --3. trilinear, align_corners--> [1,K,Tt,Ht,Wt] (8x14x14)
//     --4. channel mean--> P [Tt,Ht,Wt] --5. stable descending sort--> ranking --6. k = floor(L z)--> kept
//   x --7. tubelet embedding + sinusoidal positions, gather kept rows (ranking order)--> [k, D]
//     --8. blocks, mean pool over the kept tokens, fc_norm, head--> logits
//
// videoPaprForward is the whole algorithm; VideoPapr.predict watches it with papr.ts's StageLog (times, MACs,
// the maps for the trace), as the 2-D Papr does.
import type { VideoVit } from "../models/video_vit.ts";
import { checkFinite } from "../tensor/checks.ts";
import { interpolateTrilinear } from "../tensor/interpolate3d.ts";
import { Mulberry32, fnv1a } from "../tensor/random.ts";
import { ShapeError, Tensor, shapeStr } from "../tensor/tensor.ts";
import type { CostBreakdown } from "./macs.ts";
import { StageLog, type Observer } from "./papr.ts";
import { keepCount, keepMask, keptPatches, rankPatches } from "./ranking.ts";
import { videoVitCostKept } from "./video_macs.ts";

export type Clip3 = readonly [number, number, number]; // [T, H, W]

/** What video PaPr needs from a proposer: its last convolutional stage (VideoConvNetModel.features). */
export interface VideoProposer {
  features(x: Tensor): Tensor; // [1, 3, T', H', W'] -> [1, K, t, h, w]
}

/**
 * The clip [T', H', W'] each proposer sees (step 1). X3D-S and X3D-M: PAPR-SPEC.md section 6. X3D-XS and R3D-18
 * are this project's choice, not the paper's: the clip each was trained on (X3D_CLIPS.xs; torchvision's
 * Kinetics r3d_18 clip).
 */
export const VIDEO_PROPOSER_CLIPS: Record<string, Clip3> = {
  x3d_s: [8, 160, 160],
  x3d_m: [8, 224, 224],
  x3d_xs: [4, 160, 160],
  r3d_18: [16, 112, 112],
};

const unobserved: Observer = (_stage, run) => run();

export interface VideoForwardOptions {
  z: number; // keep ratio in (0, 1]; k = max(1, floor(L z)), L = tokens of the grid (no prefix tokens)
  order?: "significance" | "spatial"; // order of the kept tokens in the blocks; official = significance
  maps?: boolean; // run steps 1-5 even at z = 1 (for the trace)
}

export interface VideoForward {
  logits: Tensor; // [numClasses]
  kept: Int32Array; // kept token indices (t-major over the grid), in the order they entered the blocks
  keptCount: number;
}

/**
 * Steps 3 and 4: the proposer's features [1, K, t, h, w] resized (trilinear, align_corners = true) to the token
 * grid [Tt, Ht, Wt], then averaged over the K channels -> P [Tt, Ht, Wt] (resize first, as the spec orders it;
 * the two orders agree up to float32 rounding since both are linear).
 */
export function tokenSignificance(features: Tensor, grid: Clip3): Tensor {
  if (features.rank !== 5 || features.shape[0] !== 1)
    throw new ShapeError("tokenSignificance", `features must be [1, K, t, h, w], got ${shapeStr(features.shape)}`);
  const K = features.shape[1];
  const resized = interpolateTrilinear(features, grid, true).data; // [1, K, Tt, Ht, Wt]
  const L = grid[0] * grid[1] * grid[2];
  const sums = new Float64Array(L);
  for (let c = 0; c < K; c++) for (let i = 0; i < L; i++) sums[i] += resized[c * L + i];
  return new Tensor(
    Float32Array.from(sums, (s) => s / K),
    [...grid],
  );
}

/** Video PaPr's forward on one preprocessed clip x [1, 3, T, S, S] (steps 1-8 above). */
export function videoPaprForward(
  vit: VideoVit,
  proposer: VideoProposer | null,
  proposerClip: Clip3,
  x: Tensor,
  options: VideoForwardOptions,
  observe = unobserved,
): VideoForward {
  const { z, order = "significance", maps = false } = options;
  const { numPatches: L, tokenGrid } = vit.config;
  const k = keepCount(z, L, 0); // 6.
  let kept: Int32Array<ArrayBufferLike> = Int32Array.from({ length: L }, (_, i) => i); // z = 1: all, grid order
  if (k < L && proposer === null) throw new Error(`video PaPr: z = ${z} prunes tokens, so a proposer is needed`);
  if (proposer !== null && (k < L || maps)) {
    const clip = observe("proposer input", () => interpolateTrilinear(x, proposerClip, true)); // 1.
    const features = observe("proposer", () => proposerFeatures(proposer, clip)); // 2.
    const significance = observe("significance", () =>
      checkFinite("significance map (steps 3-4)", tokenSignificance(features, tokenGrid)),
    ); // 3-4.
    const ranking = observe("ranking", () => rankPatches(significance)); // 5.
    if (k < L) kept = keptPatches(ranking, k, order); // 6.
  }
  const embedded = observe("embed", () => checkFinite("tubelet embedding (step 7)", vit.embed(x))); // 7.
  let tokens = k < L ? observe("prune", () => vit.keepTokens(embedded, kept)) : embedded; // 7.
  for (let i = 0; i < vit.numBlocks; i++) tokens = observe(`block ${i}`, () => vit.block(i, tokens)); // 8.
  const logits = observe("head", () => checkFinite("logits (step 8)", vit.head(tokens))); // 8.
  return { logits, kept, keptCount: k };
}

function proposerFeatures(proposer: VideoProposer, clip: Tensor): Tensor {
  const features = proposer.features(clip);
  if (features.rank !== 5 || features.shape[0] !== 1) {
    throw new ShapeError("video PaPr proposer", `features must be [1, K, t, h, w], got ${shapeStr(features.shape)}`);
  }
  return checkFinite("proposer features (step 2)", features);
}

// ---- VideoPapr: the forward with its bookkeeping ----------------------------------------------------

export interface VideoPaprOptions extends Partial<VideoForwardOptions> {
  trace?: boolean; // keep the proposer's input and features too
}

export interface VideoPaprTrace {
  input: Tensor; // the preprocessed clip [1, 3, T, S, S] the backbone saw
  proposerInput: Tensor; // [1, 3, T', S', S'] (step 1)
  features: Tensor; // [1, K, t, h, w] (step 2)
  ranking: Int32Array; // all token indices, most significant first (step 5)
}

export interface VideoPaprResult extends VideoForward {
  numTokens: number; // L
  tokenGrid: [number, number, number];
  mask: Uint8Array; // [L], 1 = kept, t-major
  significance: Tensor | null; // P [Tt, Ht, Wt]; null when no proposer ran (z = 1 without trace)
  macs: CostBreakdown; // this forward, proposer included
  unprunedMacs: CostBreakdown; // the plain backbone (no proposer, all tokens)
  timeMs: { proposer: number; ranking: number; embed: number; blocks: number[]; head: number; total: number };
  trace?: VideoPaprTrace;
}

export class VideoPapr {
  /** proposer may be null for the unpruned backbone (z = 1). proposerClip: its input [T', H', W'] (step 1). */
  constructor(
    readonly backbone: VideoVit,
    readonly proposer: VideoProposer | null,
    readonly proposerClip: Clip3 = VIDEO_PROPOSER_CLIPS.x3d_s,
  ) {
    if (!proposerClip.every((v) => Number.isInteger(v) && v >= 1))
      throw new Error(`video PaPr: proposer clip must be three positive integers, got ${JSON.stringify(proposerClip)}`);
  }

  /** Classifies one preprocessed clip x [1, 3, T, S, S]: videoPaprForward, timed, MAC-counted, optionally traced. */
  predict(x: Tensor, options: VideoPaprOptions = {}): VideoPaprResult {
    const { trace = false, z = 0.4, ...rest } = options;
    const log = new StageLog();
    const forward = videoPaprForward(
      this.backbone,
      this.proposer,
      this.proposerClip,
      x,
      { ...rest, z, maps: trace },
      log.observe,
    );
    const { numPatches: L, tokenGrid, depth } = this.backbone.config;
    // the resize of step 1 and the proposer are both the proposer's cost (the resize counts no MACs)
    const proposerMacs = log.macs("proposer input") + log.macs("proposer");
    const blocks = Array.from({ length: depth }, (_, i) => log.ms(`block ${i}`));
    const times = {
      proposer: log.ms("proposer input") + log.ms("proposer"),
      ranking: log.ms("significance") + log.ms("ranking"),
      embed: log.ms("embed") + log.ms("prune"),
      blocks,
      head: log.ms("head"),
    };
    const result: VideoPaprResult = {
      ...forward,
      numTokens: L,
      tokenGrid,
      mask: keepMask(forward.kept, L),
      significance: log.has("significance") ? log.output<Tensor>("significance") : null,
      macs: videoVitCostKept(this.backbone.config, forward.keptCount, proposerMacs),
      unprunedMacs: videoVitCostKept(this.backbone.config),
      timeMs: { ...times, total: times.proposer + times.ranking + times.embed + sum(blocks) + times.head },
    };
    if (trace && log.has("proposer")) {
      result.trace = {
        input: x,
        proposerInput: log.output("proposer input"),
        features: log.output("proposer"),
        ranking: log.output("ranking"),
      };
    }
    return result;
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

// ---- the random-pruning baseline ---------------------------------------------------------------------

/**
 * The random token-pruning baseline: k = max(1, floor(L z)) tokens drawn uniformly without replacement
 * (a Fisher-Yates shuffle of 0..L-1 driven by Mulberry32(fnv1a("random-tokens/" + seed))), the first k of it.
 */
export function randomTokens(numTokens: number, z: number, seed: number): Int32Array {
  const k = keepCount(z, numTokens, 0);
  const order = Int32Array.from({ length: numTokens }, (_, i) => i);
  const rng = new Mulberry32(fnv1a(`random-tokens/${seed}`));
  for (let i = numTokens - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, k);
}
