// Video PaPr's explain picture (issue #21): which tokens a 3-D pruning mask keeps, shown on the clip.
// A video ViT cuts the clip into tubelets (tubelet frames x patch x patch) on a token grid [Tt, Ht, Wt]
// (VideoMAE at 16 x 224 x 224: 8 x 14 x 14); the mask says, per token, kept or pruned.
//   drawMaskStrip: one panel per temporal token slice (the slice's first frame, or its middle one), left to
//                  right with a label "t=<frame>" above, pruned tokens greyed and dimmed, kept ones as they are
//                  (explainPicture's third panel, src/papr/explain.ts, per slice); optional per-frame
//                  boxes (the object, say) outlined.
//   maskedClip:    the animated form: every frame of the clip masked by its slice (write with encodeApng).
// No Node built-ins (runs in a browser); encode with encodePng / encodeApng.
import type { RgbClip } from "../image/clip.ts";
import { drawText, textHeight, type Rgb, type RgbImage } from "./font.ts";

export class MaskStripError extends Error {
  constructor(message: string) {
    super(`drawMaskStrip: ${message}`);
    this.name = "MaskStripError";
  }
}

export interface MaskStripOptions {
  grid: [number, number]; // [Ht, Wt]: tokens per frame
  dim?: number; // brightness of pruned tokens (0..1), default 0.3
  frameInSlice?: "first" | "middle"; // which frame of a slice a panel shows, default "first"
  boxes?: ReadonlyArray<readonly [number, number, number, number]>; // [frames]: [x0, y0, x1, y1) outlined
  boxColor?: Rgb; // default green
  gap?: number; // white pixels between panels, default 6
  labels?: boolean; // "t=<frame>" above each panel, default true
}

/** A mask slice: one value per token of the [Ht, Wt] grid, truthy = kept. */
export type TokenMask = ArrayLike<boolean | number>;

interface Layout {
  slices: number;
  tubelet: number;
  grid: [number, number];
}

function checkInputs(clip: RgbClip, masks: ReadonlyArray<TokenMask>, grid: [number, number]): Layout {
  const { frames, width, height, data } = clip ?? {};
  if (!(data instanceof Uint8Array) || data.length !== frames * width * height * 3 || !(frames > 0))
    throw new MaskStripError(
      `clip must be an RgbClip (frames x height x width x 3 bytes), got ${frames}x${height}x${width}`,
    );
  const [Ht, Wt] = grid ?? [];
  if (!Number.isInteger(Ht) || !Number.isInteger(Wt) || Ht <= 0 || Wt <= 0)
    throw new MaskStripError(`grid must be two positive integers [Ht, Wt], got ${JSON.stringify(grid)}`);
  const slices = masks?.length ?? 0;
  if (slices === 0 || frames % slices !== 0)
    throw new MaskStripError(`${slices} mask slices do not divide the clip's ${frames} frames into equal tubelets`);
  const bad = masks.findIndex((m) => m?.length !== Ht * Wt);
  if (bad >= 0)
    throw new MaskStripError(
      `mask slice ${bad} has ${masks[bad]?.length} values, the ${Ht}x${Wt} grid needs ${Ht * Wt}`,
    );
  return { slices, tubelet: frames / slices, grid: [Ht, Wt] };
}

/** Frame t of the clip with the pruned tokens of `mask` greyed (luma) and dimmed, into `out` at (left, top). */
function drawMaskedFrame(
  clip: RgbClip,
  t: number,
  mask: TokenMask,
  grid: [number, number],
  dim: number,
  out: RgbImage,
  left: number,
  top: number,
): void {
  const { width: W, height: H } = clip;
  const [Ht, Wt] = grid;
  const frame = t * W * H * 3;
  for (let y = 0; y < H; y++) {
    const row = Math.min(Ht - 1, Math.floor((y * Ht) / H)) * Wt;
    for (let x = 0; x < W; x++) {
      const src = frame + (y * W + x) * 3;
      const dst = ((top + y) * out.width + left + x) * 3;
      if (mask[row + Math.min(Wt - 1, Math.floor((x * Wt) / W))]) {
        out.data[dst] = clip.data[src];
        out.data[dst + 1] = clip.data[src + 1];
        out.data[dst + 2] = clip.data[src + 2];
      } else {
        const luma = 0.299 * clip.data[src] + 0.587 * clip.data[src + 1] + 0.114 * clip.data[src + 2];
        out.data[dst] = out.data[dst + 1] = out.data[dst + 2] = Math.round(luma * dim);
      }
    }
  }
}

/** A 1-px outline of [x0, y0, x1, y1) clipped to the panel at (left, top) of size W x H. */
function outline(out: RgbImage, box: readonly number[], left: number, top: number, W: number, H: number, color: Rgb) {
  const [x0, y0, x1, y1] = [Math.max(0, box[0]), Math.max(0, box[1]), Math.min(W, box[2]) - 1, Math.min(H, box[3]) - 1];
  if (x1 < x0 || y1 < y0) return;
  const put = (x: number, y: number) => out.data.set(color, ((top + y) * out.width + left + x) * 3);
  for (let x = x0; x <= x1; x++) [y0, y1].forEach((y) => put(x, y));
  for (let y = y0; y <= y1; y++) [x0, x1].forEach((x) => put(x, y));
}

/**
 * The strip: masks [Tt][Ht * Wt] (truthy = kept), one per temporal token slice of `clip.frames / Tt` frames.
 * Panels are the clip's frames at full size; the picture is Tt * W + (Tt - 1) * gap wide.
 */
export function drawMaskStrip(clip: RgbClip, masks: ReadonlyArray<TokenMask>, options: MaskStripOptions): RgbImage {
  const { slices, tubelet, grid } = checkInputs(clip, masks, options?.grid);
  const { dim = 0.3, frameInSlice = "first", boxes, boxColor = [40, 220, 60], gap = 6, labels = true } = options;
  if (!(dim >= 0 && dim <= 1)) throw new MaskStripError(`dim must be in 0..1, got ${dim}`);
  if (!Number.isInteger(gap) || gap < 0 || gap > 256)
    throw new MaskStripError(`gap must be an integer in 0..256, got ${gap}`);
  if (boxes && boxes.length !== clip.frames)
    throw new MaskStripError(`boxes has ${boxes.length} entries, the clip has ${clip.frames} frames`);
  const { width: W, height: H } = clip;
  const top = labels ? textHeight(1) + 4 : 0;
  const out: RgbImage = {
    width: slices * W + (slices - 1) * gap,
    height: top + H,
    data: new Uint8Array((slices * W + (slices - 1) * gap) * (top + H) * 3).fill(255),
  };
  for (let s = 0; s < slices; s++) {
    const t = s * tubelet + (frameInSlice === "middle" ? Math.floor(tubelet / 2) : 0);
    const left = s * (W + gap);
    drawMaskedFrame(clip, t, masks[s], grid, dim, out, left, top);
    if (boxes) outline(out, boxes[t], left, top, W, H, boxColor);
    if (labels) drawText(out, `t=${t}`, left + 2, 2, 1, [0, 0, 0]);
  }
  return out;
}

/** The animated form: every frame masked by its slice's mask (same rules as drawMaskStrip, no labels). */
export function maskedClip(clip: RgbClip, masks: ReadonlyArray<TokenMask>, options: MaskStripOptions): RgbClip {
  const { tubelet, grid } = checkInputs(clip, masks, options?.grid);
  const { dim = 0.3, boxes, boxColor = [40, 220, 60] } = options;
  if (!(dim >= 0 && dim <= 1)) throw new MaskStripError(`dim must be in 0..1, got ${dim}`);
  if (boxes && boxes.length !== clip.frames)
    throw new MaskStripError(`boxes has ${boxes.length} entries, the clip has ${clip.frames} frames`);
  const { frames, width: W, height: H } = clip;
  const data = new Uint8Array(clip.data.length);
  for (let t = 0; t < frames; t++) {
    const frame: RgbImage = { width: W, height: H, data: data.subarray(t * W * H * 3, (t + 1) * W * H * 3) };
    drawMaskedFrame(clip, t, masks[Math.floor(t / tubelet)], grid, dim, frame, 0, 0);
    if (boxes) outline(frame, boxes[t], 0, 0, W, H, boxColor);
  }
  return { frames, width: W, height: H, data };
}
