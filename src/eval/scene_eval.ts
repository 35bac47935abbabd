// Held-out evaluation of a ViT backbone with a ConvNet proposer on the Fashion-MNIST scenes
// (src/data/scenes.ts): for every scene and every setting, which tokens the ViT computes on, whether
// its prediction is right, and at what cost. Shared by `npm run eval` (scripts/eval.ts, which spreads
// the scenes over worker threads) and the CI slice test (test/eval/slice.test.ts).
//
// Settings (one accuracy number each), N patches, P prefix tokens, k = keepCount(z) = floor(z (N + P)):
//   papr z          the proposer's significance ranking keeps the top k patches (PaPr)
//   random z seed   k uniformly random patches (one shuffle per scene and seed)
//   centre z        the k patches nearest the image centre
//   oracle z        the k patches overlapping the ground-truth box most (by overlap area)
//   attention z     all patches enter; in block 0, after its attention, the top ceil(z N) patches by
//                   class-token attention (heads weighted by their output norm) go on, the rest are dropped
//   tome r          ToMe, r merges in every block
//   papr+tome z r   PaPr at z, then ToMe with r merges in the second half of the blocks
// z = 1 keeps every patch: every method then runs the same unpruned forward, computed once.
// MACs follow src/papr/macs.ts (fvcore's count); PaPr's include the proposer's features.
import type { Box, Scene } from "../data/scenes.ts";
import { preprocess, type PreprocessConfig } from "../image/preprocess.ts";
import type { ConvNet } from "../models/registry.ts";
import type { Vit } from "../models/vit.ts";
import { attentionPruning } from "../papr/attention_pruning.ts";
import { vitCost } from "../papr/macs.ts";
import { costConfig, type Proposer } from "../papr/papr.ts";
import { proposalMap } from "../papr/proposal.ts";
import { pruneTokens } from "../papr/prune.ts";
import { keepCount, rankPatches } from "../papr/ranking.ts";
import { patchSignificance } from "../papr/significance.ts";
import { paprTomeSchedule, tome, tomeSchedule } from "../papr/tome.ts";
import { runWithTokenReduction, type TokenReducer } from "../papr/token_reduction.ts";
import { countMacs } from "../tensor/macs.ts";
import { Mulberry32 } from "../tensor/random.ts";
import { argsortDescending } from "../tensor/sort.ts";
import type { Tensor } from "../tensor/tensor.ts";

export type PatchMethod = "papr" | "random" | "centre" | "oracle";
export type EvalSetting =
  | { method: PatchMethod; z: number; seed?: number } // seed: random only
  | { method: "attention"; z: number }
  | { method: "tome"; r: number }
  | { method: "papr+tome"; z: number; r: number };

export interface SceneModels {
  vit: Vit;
  proposer: ConvNet;
  preprocess: PreprocessConfig; // the pair's shared input transform
}

export interface SceneResult {
  scene: number;
  label: number;
  proposerCorrect: boolean;
  correct: boolean[]; // per setting
  macs: number[]; // per setting
  paprRecall: number[]; // per z of `recallZs`: kept object patches / object patches
}

/** A short stable name, e.g. "papr z=0.5", "random z=0.3 seed=1", "papr+tome z=0.5 r=8". */
export function settingName(s: EvalSetting): string {
  switch (s.method) {
    case "tome":
      return `tome r=${s.r}`;
    case "papr+tome":
      return `papr+tome z=${s.z} r=${s.r}`;
    case "random":
      return `random z=${s.z} seed=${s.seed ?? 0}`;
    default:
      return `${s.method} z=${s.z}`;
  }
}

/** Patch indices nearest the grid centre first (ties: lower index first). */
export function centreOrder(grid: number): Int32Array {
  const distance = new Float32Array(grid * grid);
  for (let i = 0; i < distance.length; i++)
    distance[i] = -Math.hypot((i % grid) - (grid - 1) / 2, Math.floor(i / grid) - (grid - 1) / 2);
  return argsortDescending(distance);
}

/** Pixel area of each patch (row-major over the grid) inside the box [x0, y0, x1, y1) of an image `size` wide. */
export function boxOverlap(box: Box, grid: number, size: number): Float32Array {
  const p = size / grid;
  const overlap = new Float32Array(grid * grid);
  for (let i = 0; i < overlap.length; i++) {
    const x0 = (i % grid) * p,
      y0 = Math.floor(i / grid) * p;
    overlap[i] =
      Math.max(0, Math.min(x0 + p, box[2]) - Math.max(x0, box[0])) *
      Math.max(0, Math.min(y0 + p, box[3]) - Math.max(y0, box[1]));
  }
  return overlap;
}

/** A uniformly random order of n patches (Fisher-Yates on Mulberry32 seeded by seed and scene). */
export function randomOrder(n: number, seed: number, scene: number): Int32Array {
  const rng = new Mulberry32((seed * 1000003 + scene) >>> 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const argmax = (t: Tensor) => {
  let best = 0;
  for (let i = 1; i < t.size; i++) if (t.data[i] > t.data[best]) best = i;
  return best;
};

/** Runs every setting on one scene. */
export function evaluateScene(
  models: SceneModels,
  scene: Scene,
  sceneIndex: number,
  settings: EvalSetting[],
  recallZs: number[] = [],
): SceneResult {
  const { vit, proposer } = models;
  const { gridSize: G, numPatches: N, numPrefixTokens: P, imageSize } = vit.config;
  const cost = costConfig(vit);
  const x = preprocess(scene.image, models.preprocess); // [1, 3, S, S]

  // The proposer, once: its features rank the patches for PaPr and PaPr + ToMe.
  const { result: features, macs: proposerMacs } = countMacs(() => proposer.features(x));
  const proposerCorrect = argmax(proposer.forward(x)) === scene.label;
  const ranking = rankPatches(patchSignificance(proposalMap(features), [G, G]));
  const sameFeatures: Proposer = { features: () => features }; // hands PaPr + ToMe the features computed above

  const overlap = boxOverlap(scene.box, G, imageSize);
  const orders: Record<PatchMethod, (seed: number) => Int32Array> = {
    papr: () => ranking,
    random: (seed) => randomOrder(N, seed, sceneIndex),
    centre: () => centreOrder(G),
    oracle: () => argsortDescending(overlap),
  };

  const tokens = vit.embed(x); // [P + N, D]
  const unpruned = argmax(vit.head(vit.blocks(tokens)));
  const unprunedMacs = vitCost(cost, new Array(vit.numBlocks).fill(P + N)).total;
  const reduced = (reducer: TokenReducer, z: number, proposerUsed: Proposer | null) => {
    const out = runWithTokenReduction(vit, proposerUsed, x, reducer, { z });
    return { prediction: argmax(out.logits), macs: out.macs.total + (proposerUsed ? proposerMacs : 0) };
  };

  // The patch-subset settings run as one batch (vit.blocksBatch: larger GEMMs, same results).
  const prediction: number[] = settings.map(() => unpruned);
  const settingMacs: number[] = settings.map(() => unprunedMacs);
  const subsets: { setting: number; kept: Int32Array }[] = [];
  settings.forEach((s, i) => {
    if (s.method === "tome") {
      ({ prediction: prediction[i], macs: settingMacs[i] } = reduced(
        tome({ schedule: tomeSchedule(vit.numBlocks, s.r) }),
        1,
        null,
      ));
    } else if (s.method === "papr+tome") {
      const schedule = paprTomeSchedule(vit.numBlocks, s.r, s.z);
      ({ prediction: prediction[i], macs: settingMacs[i] } = reduced(
        tome({ schedule }),
        s.z,
        s.z < 1 ? sameFeatures : null,
      ));
    } else if (s.method === "attention") {
      if (s.z < 1)
        ({ prediction: prediction[i], macs: settingMacs[i] } = reduced(
          attentionPruning({ stages: [{ block: 0, keepRate: s.z }] }),
          1,
          null,
        ));
    } else {
      const k = keepCount(s.z, N, P);
      if (k === N) return;
      subsets.push({ setting: i, kept: orders[s.method](s.seed ?? 0).slice(0, k) });
      settingMacs[i] = vitCost(
        cost,
        new Array(vit.numBlocks).fill(P + k),
        s.method === "papr" ? proposerMacs : 0,
      ).total;
    }
  });
  if (subsets.length > 0) {
    const outputs = vit.blocksBatch(subsets.map(({ kept }) => pruneTokens(tokens, P, kept)));
    subsets.forEach(({ setting }, j) => {
      prediction[setting] = argmax(vit.head(outputs[j]));
    });
  }
  const correct = prediction.map((p) => p === scene.label);
  const macs = settingMacs;

  const objectPatches = overlap.reduce((n, o) => n + (o > 0 ? 1 : 0), 0);
  const paprRecall = recallZs.map((z) => {
    const k = keepCount(z, N, P);
    let hit = 0;
    for (let j = 0; j < k; j++) if (overlap[ranking[j]] > 0) hit++;
    return objectPatches ? hit / objectPatches : 1;
  });
  return { scene: sceneIndex, label: scene.label, proposerCorrect, correct, macs, paprRecall };
}

/** Running totals over scenes. */
export class EvalTotals {
  scenes = 0;
  proposerCorrect = 0;
  readonly correct: number[];
  readonly macs: number[]; // summed (ToMe's and attention pruning's cost can vary by scene)
  readonly recall: number[];
  constructor(
    readonly settings: EvalSetting[],
    readonly recallZs: number[],
  ) {
    this.correct = settings.map(() => 0);
    this.macs = settings.map(() => 0);
    this.recall = recallZs.map(() => 0);
  }
  add(r: SceneResult): void {
    this.scenes++;
    if (r.proposerCorrect) this.proposerCorrect++;
    r.correct.forEach((c, i) => {
      if (c) this.correct[i]++;
    });
    r.macs.forEach((m, i) => {
      this.macs[i] += m;
    });
    r.paprRecall.forEach((v, i) => {
      this.recall[i] += v;
    });
  }
  /** Top-1 % of setting i. */
  accuracy(i: number): number {
    return (100 * this.correct[i]) / this.scenes;
  }
  /** Mean MACs of setting i. */
  meanMacs(i: number): number {
    return this.macs[i] / this.scenes;
  }
  indexOf(s: EvalSetting): number {
    const name = settingName(s);
    const i = this.settings.findIndex((t) => settingName(t) === name);
    if (i < 0) throw new Error(`EvalTotals: no setting "${name}" was evaluated`);
    return i;
  }
}

export interface CurvePoint {
  macs: number;
  accuracy: number;
}

/** Points not dominated by another (one with no more MACs and no less accuracy, better in one), by MACs. */
export function paretoFront<T extends CurvePoint>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => a.macs - b.macs || b.accuracy - a.accuracy);
  const front: T[] = [];
  for (const p of sorted) if (front.length === 0 || p.accuracy > front[front.length - 1].accuracy) front.push(p);
  return front;
}

/** A method's accuracy at `macs` by linear interpolation between its two nearest points; null outside its range. */
export function accuracyAt(curve: CurvePoint[], macs: number): number | null {
  const sorted = [...curve].sort((a, b) => a.macs - b.macs);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    if (a.macs === macs) return a.accuracy;
    const b = sorted[i + 1];
    if (b && a.macs < macs && macs <= b.macs)
      return a.accuracy + ((b.accuracy - a.accuracy) * (macs - a.macs)) / (b.macs - a.macs);
  }
  return null;
}
