// Hierarchical PaPr (PAPR-SPEC.md section 5): on a multi-stage backbone (ConvNeXt, Swin) pruning becomes
// masking. The proposer runs once; its channel-mean map R is resized to every stage's grid:
//
//   x [1,3,S,S] --proposer--> F [1,K,h,w] --channel mean--> R [h,w]
//     --per stage i: bicubic, align_corners--> P_i [H_i,W_i] --stable descending sort--> ranking_i
//     --first floor(z_i * H_i * W_i) positions--> foreground_i
//   x --backbone, every block of stage i masked by foreground_i--> logits
//
// What a mask does inside a block is the backbone's business (src/models/convnext.ts: the per-position MLP on
// foreground positions only, background exactly 0 after each block; Swin keeps the background's residual).
import type { HierarchicalModel, MaskedForward } from "../models/hierarchical_model.ts";
import { checkFinite } from "../tensor/checks.ts";
import { countMacs } from "../tensor/mac_counter.ts";
import { ShapeError, shapeStr, type Tensor } from "../tensor/tensor.ts";
import type { Observer, Proposer } from "./papr.ts";
import { proposalMap } from "./proposal.ts";
import { checkKeepRatio, rankPatches } from "./ranking.ts";
import { patchSignificance } from "./significance.ts";

export interface StageMask {
  height: number;
  width: number;
  foreground: Uint8Array; // [height * width] row-major, 1 = foreground
  keptIndices: Int32Array; // the foreground positions, most significant first: the first floor(z * H * W) ranked
  significance: Tensor; // [height, width], R resized to the stage's grid
}

/** The keep ratio of every stage: one number for all stages, or one per stage. */
export function stageKeepRatios(z: number | number[], numStages: number): number[] {
  const zs = Array.isArray(z) ? z : new Array<number>(numStages).fill(z);
  if (zs.length !== numStages) throw new RangeError(`${zs.length} keep ratios given for ${numStages} stages`);
  zs.forEach(checkKeepRatio);
  return zs;
}

/**
 * One mask per stage from the proposal map R [h, w]: R resized (bicubic, align_corners) to the stage's grid,
 * ranked in descending order (ties keep the lower position first), foreground = the first floor(z * H * W).
 */
export function stageMasks(
  significance: Tensor,
  stageGrids: Array<[number, number]>,
  z: number | number[],
): StageMask[] {
  const zs = stageKeepRatios(z, stageGrids.length);
  return stageGrids.map(([height, width], i) => {
    const resized = checkFinite("stage significance", patchSignificance(significance, [height, width]));
    const keptIndices = rankPatches(resized).slice(0, Math.floor(zs[i] * height * width));
    const foreground = new Uint8Array(height * width);
    for (const p of keptIndices) foreground[p] = 1;
    return { height, width, foreground, keptIndices, significance: resized };
  });
}

export interface HierarchicalForward extends MaskedForward {
  masks: StageMask[] | null; // null: no proposer ran (z = 1 without one)
  proposal: Tensor | null; // R [h, w]
  features: Tensor | null; // the proposer's last feature map [1, K, h, w]
}

const unobserved: Observer = (_stage, run) => run();

/** Hierarchical PaPr on one preprocessed image x [1, 3, S, S]: the proposer once, a mask per stage, the masked backbone. */
export function hierarchicalPaprForward(
  model: HierarchicalModel,
  proposer: Proposer | null,
  x: Tensor,
  options: { z: number | number[] },
  observe = unobserved,
): HierarchicalForward {
  const zs = stageKeepRatios(options.z, model.numStages);
  if (proposer === null) {
    if (zs.some((z) => z < 1))
      throw new Error(`hierarchical PaPr: z = ${String(options.z)} masks, so a proposer is needed`);
    const run = observe("backbone", () => model.forwardMasked(x, new Array(model.numStages).fill(null)));
    return { ...run, masks: null, proposal: null, features: null };
  }
  const features = observe("proposer", () => proposer.features(x));
  if (features.rank !== 4 || features.shape[0] !== 1)
    throw new ShapeError(
      "hierarchical PaPr proposer",
      `features must be [1, K, h, w], got ${shapeStr(features.shape)}`,
    );
  checkFinite("proposer features", features);
  const proposal = observe("proposal", () => proposalMap(features));
  const masks = observe("masks", () => stageMasks(proposal, model.stageGrids(x.shape[2]), zs));
  const run = observe("backbone", () => model.forwardMasked(x, masks));
  checkFinite("logits (hierarchical backbone head)", run.logits);
  return { ...run, masks, proposal, features };
}

// ---- predict: the forward with its bookkeeping (time, MACs, trace) ----------------------------------

export interface StageCostLike {
  proposer: number;
  stages: number[];
  total: number;
}

export interface HierarchicalResult<Cost extends StageCostLike = StageCostLike> extends HierarchicalForward {
  z: number[]; // per stage
  positions: number[]; // positions per stage (H * W)
  foreground: number[]; // foreground positions per stage (= positions where unmasked)
  macs: Cost; // this forward, proposer included
  unmaskedMacs: Cost; // the plain backbone (no proposer, no mask)
  timeMs: { proposer: number; masks: number; backbone: number; total: number };
}

/** Hierarchical PaPr with a cost model: `cost(foreground per stage (null = all), proposer MACs)`. */
export class HierarchicalPapr<Cost extends StageCostLike = StageCostLike> {
  constructor(
    readonly backbone: HierarchicalModel,
    readonly proposer: Proposer | null,
    readonly cost: (foreground: Array<number | null>, proposerMacs: number) => Cost,
  ) {}

  predict(x: Tensor, options: { z: number | number[] }): HierarchicalResult<Cost> {
    const times = new Map<string, number>();
    const macs = new Map<string, number>();
    const observe: Observer = (stage, run) => {
      const start = performance.now();
      const { result, macs: counted } = countMacs(run);
      times.set(stage, performance.now() - start);
      macs.set(stage, counted);
      return result;
    };
    const forward = hierarchicalPaprForward(this.backbone, this.proposer, x, options, observe);
    const grids = this.backbone.stageGrids(x.shape[2]);
    const positions = grids.map(([h, w]) => h * w);
    const foreground = forward.masks ? forward.masks.map((m) => m.keptIndices.length) : positions;
    const masked = forward.masks
      ? forward.masks.map((m, i) => (m.keptIndices.length < positions[i] ? foreground[i] : null))
      : [];
    const t = (stage: string) => times.get(stage) ?? 0;
    const timeMs = { proposer: t("proposer"), masks: t("proposal") + t("masks"), backbone: t("backbone"), total: 0 };
    timeMs.total = timeMs.proposer + timeMs.masks + timeMs.backbone;
    return {
      ...forward,
      z: stageKeepRatios(options.z, this.backbone.numStages),
      positions,
      foreground,
      macs: this.cost(
        grids.map((_, i) => masked[i] ?? null),
        macs.get("proposer") ?? 0,
      ),
      unmaskedMacs: this.cost(
        grids.map(() => null),
        0,
      ),
      timeMs,
    };
  }
}
