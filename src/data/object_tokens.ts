// Which tokens of a video ViT's grid hold the object: per-frame boxes (makeMovingScene's, say) ->
// a mask on the [Tt, Ht, Wt] token grid, and the share of those tokens a pruning mask keeps.
// A token is a tubelet of `tubelet` frames x patch x patch pixels (VideoMAE: 2 x 16 x 16 on a
// 16 x 224 x 224 clip, an 8 x 14 x 14 grid). Token (s, r, c) is an object token when the box of any of
// its frames (s * tubelet .. s * tubelet + tubelet - 1) covers at least `minCover` of its patch's area
// (default: any overlap at all, > 0). Boxes are [x0, y0, x1, y1) in the clip's pixels.
import type { Box } from "./scenes.ts";

export interface TokenGrid {
  frames: number; // clip frames (a multiple of tubelet)
  size: number; // clip side in pixels (a multiple of patch)
  tubelet: number;
  patch: number;
}

/** VideoMAE-B/16 on 16 frames of 224: 8 x 14 x 14 tokens. */
export const VIDEOMAE_GRID: TokenGrid = { frames: 16, size: 224, tubelet: 2, patch: 16 };

/** The object tokens [Tt * Ht * Wt] (1 = object), time-major as the ViT flattens them. */
export function objectTokenMask(boxes: ReadonlyArray<Box>, grid: TokenGrid = VIDEOMAE_GRID, minCover = 0): Uint8Array {
  const { frames, size, tubelet, patch } = grid;
  if (![frames, size, tubelet, patch].every((v) => Number.isInteger(v) && v > 0) || frames % tubelet || size % patch)
    throw new Error(`objectTokenMask: frames ${frames} must be a multiple of tubelet ${tubelet}, size ${size} of patch ${patch}`);
  if (boxes.length !== frames) throw new Error(`objectTokenMask: ${boxes.length} boxes for ${frames} frames`);
  if (!(minCover >= 0 && minCover <= 1)) throw new Error(`objectTokenMask: minCover must be in 0..1, got ${minCover}`);
  const [Tt, side] = [frames / tubelet, size / patch];
  const mask = new Uint8Array(Tt * side * side);
  for (let f = 0; f < frames; f++) {
    const [x0, y0, x1, y1] = boxes[f];
    const s = Math.floor(f / tubelet);
    for (let r = 0; r < side; r++) {
      const h = Math.min(y1, (r + 1) * patch) - Math.max(y0, r * patch);
      if (h <= 0) continue;
      for (let c = 0; c < side; c++) {
        const w = Math.min(x1, (c + 1) * patch) - Math.max(x0, c * patch);
        if (w > 0 && (w * h) / (patch * patch) >= minCover) mask[(s * side + r) * side + c] = 1;
      }
    }
  }
  return mask;
}

/** Of the object tokens, how many `kept` (1 = kept, same layout) keeps: { kept, total, fraction }. */
export function keptObjectTokens(kept: ArrayLike<number | boolean>, object: Uint8Array) {
  if (kept.length !== object.length)
    throw new Error(`keptObjectTokens: kept mask has ${kept.length} tokens, the object mask ${object.length}`);
  let total = 0;
  let hit = 0;
  for (let i = 0; i < object.length; i++) {
    if (!object[i]) continue;
    total++;
    if (kept[i]) hit++;
  }
  return { kept: hit, total, fraction: total ? hit / total : NaN };
}
