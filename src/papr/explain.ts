// The --explain picture: three panels side by side,
//   [ input | patch significance heatmap | input with pruned patches dimmed ]
// drawn into an RGB buffer (no Node built-ins, so it also runs in a browser).
import type { RgbImage } from "../image/image.ts";
import type { Tensor } from "../tensor/tensor.ts";

const GAP = 8; // pixels between panels

/**
 * image: the preprocessed input as RGB pixels (S x S); significance [H, W]; mask [H * W] (1 = kept).
 */
export function explainPicture(image: RgbImage, significance: Tensor, mask: Uint8Array, dim = 0.25): RgbImage {
  const { width: S, height: T } = image;
  const [H, W] = significance.shape;
  const out: RgbImage = {
    width: 3 * S + 2 * GAP,
    height: T,
    data: new Uint8Array((3 * S + 2 * GAP) * T * 3).fill(255),
  };
  const [lo, hi] = range(significance.data);
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < S; x++) {
      const src = (y * S + x) * 3;
      const patch = Math.min(H - 1, Math.floor((y * H) / T)) * W + Math.min(W - 1, Math.floor((x * W) / S));
      const heat = colormap((significance.data[patch] - lo) / (hi - lo || 1));
      const keep = mask[patch] === 1;
      for (let c = 0; c < 3; c++) {
        const v = image.data[src + c];
        out.data[(y * out.width + x) * 3 + c] = v;
        out.data[(y * out.width + S + GAP + x) * 3 + c] = Math.round(0.35 * v + 0.65 * heat[c]);
        out.data[(y * out.width + 2 * (S + GAP) + x) * 3 + c] = keep ? v : Math.round(v * dim);
      }
    }
  }
  return out;
}

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

// A perceptually ordered dark-blue -> magenta -> orange -> yellow ramp (inferno-like), t in [0, 1].
const STOPS: [number, number, number][] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

export function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}

// ---- token merging / in-block pruning (src/papr/token_reduction.ts) ----------------------------------

/**
 * The input with the final token groups of a token-reduction run: a patch held alone by its token is
 * shown as is, patches merged into one token are tinted in that group's colour and outlined along the
 * group's border, pruned patches (PaPr or in-block) are dimmed.
 * groupOf [H * W]: per patch, the token holding it at the end, -1 = pruned (ReductionRun.groupOf without
 * its prefix rows: groupOf.subarray(numPrefixTokens)).
 */
export function mergedGroupsPanel(image: RgbImage, groupOf: Int32Array, grid: [number, number], dim = 0.25): RgbImage {
  const { width: S, height: T } = image;
  const [H, W] = grid;
  if (groupOf.length !== H * W)
    throw new Error(`mergedGroupsPanel: groupOf has ${groupOf.length} entries for a ${H}x${W} patch grid`);
  const members = new Map<number, number>();
  for (const g of groupOf) if (g >= 0) members.set(g, (members.get(g) ?? 0) + 1);
  const out: RgbImage = { width: S, height: T, data: new Uint8Array(S * T * 3) };
  const patchAt = (y: number, x: number) =>
    Math.min(H - 1, Math.floor((y * H) / T)) * W + Math.min(W - 1, Math.floor((x * W) / S));
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < S; x++) {
      const patch = patchAt(y, x);
      const group = groupOf[patch];
      const merged = group >= 0 && members.get(group)! > 1;
      // a border pixel: the next pixel right or below (or the previous, left or above) is in another group
      const border =
        merged &&
        [
          [y, x + 1],
          [y + 1, x],
          [y, x - 1],
          [y - 1, x],
        ].some(([yy, xx]) => yy >= 0 && yy < T && xx >= 0 && xx < S && groupOf[patchAt(yy, xx)] !== group);
      const tint = merged ? groupColour(group) : null;
      for (let c = 0; c < 3; c++) {
        const v = image.data[(y * S + x) * 3 + c];
        let value = v;
        if (group < 0) value = Math.round(v * dim);
        else if (border) value = 0;
        else if (tint) value = Math.round(0.5 * v + 0.5 * tint[c]);
        out.data[(y * S + x) * 3 + c] = value;
      }
    }
  }
  return out;
}

/** explainPicture's three panels plus mergedGroupsPanel as a fourth. */
export function explainPictureWithGroups(
  image: RgbImage,
  significance: Tensor,
  mask: Uint8Array,
  groupOf: Int32Array,
  dim = 0.25,
): RgbImage {
  const three = explainPicture(image, significance, mask, dim);
  const panel = mergedGroupsPanel(image, groupOf, [significance.shape[0], significance.shape[1]], dim);
  return sideBySide([three, panel]);
}

/** A distinct saturated colour per group id (hues spaced by the golden angle). */
function groupColour(group: number): [number, number, number] {
  const hue = (group * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + hue / 60) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

// ---- adaptive pruning (src/papr/adaptive_pruning.ts) -------------------------------------------------

/** Tint of the patches dropped at pruning stage k (first, second, third, ...): red, orange, yellow, violet. */
const STAGE_COLOURS: [number, number, number][] = [
  [200, 30, 30],
  [235, 120, 20],
  [230, 200, 30],
  [150, 60, 200],
];

/**
 * Where each patch left the ViT: droppedAt [H * W] = -1 kept to the head, -2 pruned by PaPr before the
 * blocks (dimmed), or the block that dropped it (tinted by its stage among `stageBlocks`, darker the earlier).
 */
export function pruningStagesPanel(
  image: RgbImage,
  droppedAt: Int32Array,
  grid: [number, number],
  stageBlocks: number[],
  dim = 0.25,
): RgbImage {
  const { width: S, height: T } = image;
  const [H, W] = grid;
  if (droppedAt.length !== H * W)
    throw new Error(`pruningStagesPanel: droppedAt has ${droppedAt.length} entries for a ${H}x${W} patch grid`);
  const out: RgbImage = { width: S, height: T, data: new Uint8Array(S * T * 3) };
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < S; x++) {
      const at = droppedAt[Math.min(H - 1, Math.floor((y * H) / T)) * W + Math.min(W - 1, Math.floor((x * W) / S))];
      const stage = stageBlocks.indexOf(at);
      const tint = at >= 0 ? STAGE_COLOURS[Math.max(0, stage) % STAGE_COLOURS.length] : null;
      for (let c = 0; c < 3; c++) {
        const v = image.data[(y * S + x) * 3 + c];
        out.data[(y * S + x) * 3 + c] =
          at === -1 ? v : at === -2 ? Math.round(v * dim) : Math.round(0.3 * v * dim + 0.7 * tint![c] * 0.6);
      }
    }
  }
  return out;
}

/** explainPicture's three panels plus pruningStagesPanel as a fourth. */
export function explainPictureWithStages(
  image: RgbImage,
  significance: Tensor,
  mask: Uint8Array,
  droppedAt: Int32Array,
  stageBlocks: number[],
  dim = 0.25,
): RgbImage {
  const three = explainPicture(image, significance, mask, dim);
  const panel = pruningStagesPanel(image, droppedAt, [significance.shape[0], significance.shape[1]], stageBlocks, dim);
  return sideBySide([three, panel]);
}

/** Pictures of one height, left to right, GAP white columns between them. */
function sideBySide(panels: RgbImage[]): RgbImage {
  const width = panels.reduce((w, p) => w + p.width, 0) + GAP * (panels.length - 1);
  const height = panels[0].height;
  const out: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  let left = 0;
  for (const p of panels) {
    for (let y = 0; y < height; y++)
      out.data.set(p.data.subarray(y * p.width * 3, (y + 1) * p.width * 3), (y * width + left) * 3);
    left += p.width + GAP;
  }
  return out;
}

// ---- hierarchical backbones (src/papr/hierarchical.ts) ---------------------------------------------

/** The input with the background of one stage's mask dimmed (mask [H * W] on an H x W grid, 1 = foreground). */
export function maskedPanel(
  image: RgbImage,
  mask: { height: number; width: number; foreground: Uint8Array },
  dim = 0.25,
): RgbImage {
  const { width: S, height: T } = image;
  const { height: H, width: W, foreground } = mask;
  const out: RgbImage = { width: S, height: T, data: new Uint8Array(S * T * 3) };
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < S; x++) {
      const cell = Math.min(H - 1, Math.floor((y * H) / T)) * W + Math.min(W - 1, Math.floor((x * W) / S));
      for (let c = 0; c < 3; c++) {
        const v = image.data[(y * S + x) * 3 + c];
        out.data[(y * S + x) * 3 + c] = foreground[cell] ? v : Math.round(v * dim);
      }
    }
  }
  return out;
}

/**
 * Hierarchical PaPr's picture: [ input | first stage's significance | first stage's mask ] (explainPicture on
 * stage 0), then one masked panel per later stage, side by side.
 */
export function explainStagesPicture(
  image: RgbImage,
  masks: ReadonlyArray<{ height: number; width: number; foreground: Uint8Array; significance: Tensor }>,
  dim = 0.25,
): RgbImage {
  const panels = [explainPicture(image, masks[0].significance, masks[0].foreground, dim)];
  for (const mask of masks.slice(1)) panels.push(maskedPanel(image, mask, dim));
  return sideBySide(panels);
}
