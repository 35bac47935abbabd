// A pruned copy of a backbone's weights and the report that goes into its folder's config.json (`pruning`):
// method, FLOPs target, dense and nonzero ("paper FLOPs") MACs, per-module and per-layer density.
//
// Unstructured pruning: pruned weights are set to zero, every shape stays. The MAC count that the paper
// reports for unstructured pruning counts a layer's MACs in proportion to its kept weights (nonzeroMacs);
// the dense kernels here still multiply the zeros (denseMacs). Output rows that became all zero (a whole
// output channel / hidden unit) are counted per layer (deadRows); they are not cut out of the model.
import type { LoadedModel } from "../models/registry.ts";
import { Tensor } from "../tensor/tensor.ts";
import { pruningMasks, type PruningMethod } from "./mask.ts";
import { numel, pruningPlan, type PruningPlan } from "./modules.ts";

export interface PrunedLayerReport {
  name: string;
  module: string;
  numel: number;
  kept: number;
  density: number; // kept / numel
  deadRows: number; // output rows (dim 0) with every weight removed
}

export interface PruningReport {
  method: PruningMethod;
  flopsTarget: number; // fraction of the dense MACs asked to go
  denseMacs: number; // the model's MACs at its input size (fvcore conventions)
  nonzeroMacs: number; // denseMacs less the pruned weights' MACs (the paper's count for unstructured pruning)
  flopsRemoved: number; // 1 - nonzeroMacs / denseMacs
  paramsRemoved: number; // pruned weights / all parameters
  modules: Record<string, { numel: number; kept: number; density: number }>;
  layers: PrunedLayerReport[];
}

/** Prunes `weights` (the loaded model's tensors); the returned map shares every untouched tensor. */
export function pruneWeights(
  model: LoadedModel,
  weights: Map<string, Tensor>,
  method: PruningMethod,
  flops: number,
): { weights: Map<string, Tensor>; report: PruningReport; masks: Uint8Array[]; plan: PruningPlan } {
  const plan = pruningPlan(model);
  const masks = pruningMasks(plan, weights, method, flops);
  const out = new Map(weights);
  const layers: PrunedLayerReport[] = plan.layers.map((layer, l) => {
    const source = weights.get(layer.name)!;
    const data = Float32Array.from(source.data);
    const mask = masks[l];
    let kept = 0;
    for (let i = 0; i < data.length; i++) {
      if (mask[i]) kept++;
      else data[i] = 0;
    }
    out.set(layer.name, new Tensor(data, [...source.shape]));
    const rowSize = data.length / layer.shape[0];
    let deadRows = 0;
    for (let r = 0; r < layer.shape[0]; r++)
      if (!mask.subarray(r * rowSize, (r + 1) * rowSize).some((m) => m)) deadRows++;
    const n = numel(layer.shape);
    return { name: layer.name, module: layer.module, numel: n, kept, density: kept / n, deadRows };
  });
  const prunedMacs = plan.layers.reduce(
    (sum, layer, l) => sum + (layers[l].numel - layers[l].kept) * layer.positions,
    0,
  );
  const nonzeroMacs = plan.denseMacs - prunedMacs;
  let params = 0;
  for (const t of weights.values()) params += t.size;
  const modules: PruningReport["modules"] = {};
  for (const l of layers) {
    const m = (modules[l.module] ??= { numel: 0, kept: 0, density: 0 });
    m.numel += l.numel;
    m.kept += l.kept;
    m.density = m.kept / m.numel;
  }
  const removed = layers.reduce((sum, l) => sum + l.numel - l.kept, 0);
  const report: PruningReport = {
    method,
    flopsTarget: flops,
    denseMacs: plan.denseMacs,
    nonzeroMacs,
    flopsRemoved: 1 - nonzeroMacs / plan.denseMacs,
    paramsRemoved: removed / params,
    modules,
    layers,
  };
  return { weights: out, report, masks, plan };
}

/**
 * MACs of a pruned model's forward in which stage i's MLPs run on foreground[i] positions (PaPr; null = all):
 * `maskedMacs` (the dense model's masked cost) less the pruned weights' MACs at the positions they run on.
 */
export function prunedMacs(
  plan: PruningPlan,
  masks: Uint8Array[],
  maskedMacs: number,
  foreground: ReadonlyArray<number | null> | null = null,
): number {
  return plan.layers.reduce((total, layer, l) => {
    let pruned = 0;
    for (const m of masks[l]) if (!m) pruned++;
    const runs =
      layer.mlp && foreground && layer.stage >= 0 ? (foreground[layer.stage] ?? layer.positions) : layer.positions;
    return total - pruned * runs;
  }, maskedMacs);
}
