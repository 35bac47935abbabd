// Steps 5 and 6 of PaPr: rank the patches by significance and decide how many
// to keep for a keep ratio z.
import { argsortDescending } from "../tensor/sort.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * How the keep count k (patches kept) follows from z:
 *  - "official": k = floor(n * z) where n counts the prefix tokens too (n = 197 for a /16 ViT at 224 with a
 *    class token), clamped to [1, numPatches]; z = 0.5 keeps 98 patches + CLS.
 *  - "patches":  k = max(1, floor(numPatches * z)).
 */
export type KeepConvention = "official" | "patches";

export function checkKeepRatio(z: number): void {
  if (typeof z !== "number" || !Number.isFinite(z) || z <= 0 || z > 1) {
    throw new RangeError(`keep ratio z must be a number in (0, 1], got ${String(z)}`);
  }
}

export function keepCount(
  z: number,
  numPatches: number,
  numPrefixTokens: number,
  convention: KeepConvention = "official",
): number {
  checkKeepRatio(z);
  const n = convention === "official" ? numPatches + numPrefixTokens : numPatches;
  const k = Math.floor(n * z);
  return Math.min(numPatches, Math.max(1, k));
}

/** Patch indices (row-major over the grid) by descending significance; ties keep the lower index first. */
export function rankPatches(significance: Tensor): Int32Array {
  return argsortDescending(significance.data);
}

/** The first k ranked patches, in significance order ("official") or sorted by grid position ("spatial"). */
export function keptPatches(
  ranking: Int32Array,
  k: number,
  order: "significance" | "spatial" = "significance",
): Int32Array {
  const kept = ranking.slice(0, k);
  if (order === "spatial") kept.sort();
  return kept;
}

/** 1 where a patch is kept, 0 where it is pruned, over the grid [H * W]. */
export function keepMask(kept: Int32Array, numPatches: number): Uint8Array {
  const mask = new Uint8Array(numPatches);
  for (const i of kept) mask[i] = 1;
  return mask;
}
