// Which weights go: the lowest-scored weights of each group until the group's MAC target is met
// (docs/dimap.md). A group is a DIMAP module, the whole network (global magnitude) or one layer (layer-wise
// magnitude). Removing a weight saves its layer's `positions` MACs (src/prune/modules.ts).
//
// FLOPs target f: remove f * denseMacs MACs in all. Only weight MACs are prunable (norms, attention
// matmuls and pooling are not), so every group gives up the same fraction of its own MACs:
//   r = f * denseMacs / prunableMacs,   group target = r * groupMacs.
// Greedy order inside a group: score ascending, then layer order, then flat index; the removed set is the
// shortest prefix of that order whose MACs reach the target (tools/golden/dimap_ref.py sorts the same order
// and cuts it at the same place).
import type { Tensor } from "../tensor/tensor.ts";
import { layerScores, type LayerScores } from "./importance.ts";
import { numel, type PruningPlan } from "./modules.ts";

export const PRUNING_METHODS = ["dimap", "global-magnitude", "layer-magnitude"] as const;
export type PruningMethod = (typeof PRUNING_METHODS)[number];

/** One 0/1 keep-mask per plan layer (1 = kept), in the plan's order. */
export function pruningMasks(
  plan: PruningPlan,
  weights: Map<string, Tensor>,
  method: PruningMethod,
  flops: number,
): Uint8Array[] {
  if (!(flops >= 0 && flops < 1))
    throw new Error(`prune: the FLOPs fraction to remove must lie in [0, 1), got ${flops}`);
  const layerMacs = plan.layers.map((l) => numel(l.shape) * l.positions);
  const prunable = layerMacs.reduce((a, b) => a + b, 0);
  const ratio = (flops * plan.denseMacs) / prunable;
  if (ratio > 1) {
    const most = prunable / plan.denseMacs;
    throw new Error(
      `prune: cannot remove ${flops} of the FLOPs: only ${most.toFixed(4)} of the ${plan.denseMacs} MACs are in prunable weights`,
    );
  }
  const score = method === "dimap" ? "dimap" : "magnitude";
  const scores = plan.layers.map((layer) => {
    const t = weights.get(layer.name);
    if (!t) throw new Error(`prune: no tensor '${layer.name}' in the weights`);
    if (t.shape.join() !== layer.shape.join())
      throw new Error(`prune: '${layer.name}' has shape [${t.shape}], expected [${layer.shape}]`);
    return layerScores(t.data as Float32Array, score);
  });
  const groups = groupsOf(plan, method);
  const masks: Uint8Array[] = plan.layers.map((l) => new Uint8Array(numel(l.shape)).fill(1));
  for (const members of groups) {
    const target = ratio * members.reduce((sum, i) => sum + layerMacs[i], 0);
    cheapestPrefix(
      members.map((i) => scores[i]),
      members.map((i) => plan.layers[i].positions),
      target,
      members.map((i) => masks[i]),
    );
  }
  return masks;
}

/** Layer indices per group, each in plan order. */
function groupsOf(plan: PruningPlan, method: PruningMethod): number[][] {
  const all = plan.layers.map((_, i) => i);
  if (method === "global-magnitude") return [all];
  if (method === "layer-magnitude") return all.map((i) => [i]);
  const byModule = new Map<string, number[]>();
  for (const i of all) byModule.set(plan.layers[i].module, [...(byModule.get(plan.layers[i].module) ?? []), i]);
  return [...byModule.values()];
}

/**
 * Clears in `keep` (one 0/1 mask per layer) the shortest prefix of (score, layer, index) order whose MACs
 * (positions[layer] per weight) reach `target`. The cut score t* is found by bisection on the float64 bit
 * pattern (monotone for scores >= 0); then every score below t* goes, and ties at t* in layer / index order.
 */
export function cheapestPrefix(layers: LayerScores[], positions: number[], target: number, keep: Uint8Array[]): void {
  if (!(target > 0)) return;
  const sorted = layers.map((s) => s.ascending);
  const costBelow = (t: number, inclusive: boolean) =>
    sorted.reduce((sum, s, l) => sum + positions[l] * countBelow(s, t, inclusive), 0);
  const bits = new BigInt64Array(1);
  const value = new Float64Array(bits.buffer);
  const valueOf = (b: bigint) => {
    bits[0] = b;
    return value[0];
  };
  value[0] = Math.max(...sorted.map((s) => (s.length ? s[s.length - 1] : 0)));
  let hi = bits[0];
  if (costBelow(valueOf(hi), true) < target) throw new Error("prune: the group's MACs are below its target");
  let lo = -1n; // cost(lo) < target (below every score)
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (costBelow(valueOf(mid), true) >= target) hi = mid;
    else lo = mid;
  }
  const cut = valueOf(hi);
  let remaining = target - costBelow(cut, false);
  layers.forEach(({ byIndex: s }, l) => {
    const mask = keep[l];
    for (let i = 0; i < s.length; i++) {
      if (s[i] < cut) mask[i] = 0;
      else if (s[i] === cut && remaining > 0) {
        mask[i] = 0;
        remaining -= positions[l];
      }
    }
  });
}

/** Number of entries of ascending `s` below t (or at most t when inclusive). */
function countBelow(s: Float64Array, t: number, inclusive: boolean): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] < t || (inclusive && s[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
