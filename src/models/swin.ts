// Swin Transformer (Liu et al. 2021, "Hierarchical Vision Transformer using Shifted Windows"), inference only,
// one image, with timm >= 0.9's parameter names (swin_transformer.py; the canonical names here):
//   patch_embed.proj, patch_embed.norm       4x4 conv, stride 4: [1,3,H,W] -> map [H/4, W/4, C], then LayerNorm
//   layers.i.downsample.{norm, reduction}    patch merging at the start of stage i >= 1: each 2x2 neighbourhood
//                                            concatenated as (row, col) offsets (0,0), (1,0), (0,1), (1,1) -> 4C,
//                                            LayerNorm(4C), Linear 4C -> 2C (no bias): [H, W, C] -> [H/2, W/2, 2C]
//   layers.i.blocks.j.norm1, .attn.{qkv, proj, relative_position_bias_table}
//                                            x + (shifted-)window attention(norm1(x)); windows of w x w tokens,
//                                            shifted by w / 2 in odd blocks (none when the grid is not larger
//                                            than the window: then the window is the whole grid)
//   layers.i.blocks.j.norm2, .mlp.{fc1, fc2} x + mlp(norm2(x)), exact GELU
//   norm, head.fc                            final LayerNorm, average over the grid, classifier
// Stage maps are [H, W, C] tensors (row-major positions); features() gives them as [1, C, H, W] per stage.
// Checkpoints under torchvision's and older timm's names convert to these (load/names_swin.ts).
//
// Hierarchical PaPr (PAPR-SPEC.md section 5): forwardMasked takes one foreground mask per stage; in every block
// of a masked stage the attention half runs on all positions and the MLP half on the foreground positions only
// (background positions keep their post-attention value). Patch merging, the final norm and the pooling run on
// everything. A stage whose mask is null, or all foreground, runs exactly the unmasked block.
import { conv2d } from "../tensor/conv.ts";
import { add } from "../tensor/elementwise.ts";
import { linear } from "../tensor/linear.ts";
import { layerNorm } from "../tensor/norm.ts";
import { gatherRows, transpose } from "../tensor/shape.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import { windowAttention } from "../tensor/window_attention.ts";
import { checkWeights, type ModelSpec } from "./model_spec.ts";

export interface SwinConfig {
  imageSize: number; // square input side, e.g. 224
  patchSize: number; // 4
  inChannels: number; // 3
  embedDim: number; // C of stage 0; stage i has C * 2^i
  depths: number[]; // blocks per stage, e.g. [2, 2, 6, 2]
  numHeads: number[]; // heads per stage, e.g. [3, 6, 12, 24]
  windowSize: number; // 7
  mlpRatio: number; // hidden = floor(dim * mlpRatio)
  qkvBias: boolean;
  numClasses: number;
  layerNormEps: number; // 1e-5 (timm and torchvision)
}

const BASE: SwinConfig = {
  imageSize: 224,
  patchSize: 4,
  inChannels: 3,
  embedDim: 96,
  depths: [2, 2, 6, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: 7,
  mlpRatio: 4,
  qkvBias: true,
  numClasses: 1000,
  layerNormEps: 1e-5,
};

/** Named presets (timm model names; torchvision's swin_t / swin_s / swin_b are the same networks). */
export const SWIN_PRESETS: Record<string, SwinConfig> = {
  swin_tiny_patch4_window7_224: { ...BASE },
  swin_small_patch4_window7_224: { ...BASE, depths: [2, 2, 18, 2] },
  swin_base_patch4_window7_224: { ...BASE, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32] },
};

/** A preset by name, with optional overrides (e.g. { numClasses: 10 }). */
export function swinConfig(name: string, overrides: Partial<SwinConfig> = {}): SwinConfig {
  const preset = SWIN_PRESETS[name];
  if (!preset) throw new Error(`swinConfig: unknown preset '${name}' (known: ${Object.keys(SWIN_PRESETS).join(", ")})`);
  return { ...preset, ...overrides };
}

/** Stage i's channels: embedDim * 2^i. */
export function stageDim(config: SwinConfig, stage: number): number {
  return config.embedDim * 2 ** stage;
}

/** Every stage's [H, W] for a square input of `imageSize`: (imageSize / patch) / 2^i (56, 28, 14, 7 at 224). */
export function swinStageGrids(config: SwinConfig, imageSize = config.imageSize): Array<[number, number]> {
  const first = imageSize / config.patchSize;
  return config.depths.map((_, i) => [first / 2 ** i, first / 2 ** i]);
}

/** The window and shift of block j of a stage with a grid x grid map (timm's rule: no shift if the window covers it). */
export function windowOf(config: SwinConfig, grid: number, block: number): { window: number; shift: number } {
  if (grid <= config.windowSize) return { window: grid, shift: 0 };
  return { window: config.windowSize, shift: block % 2 === 1 ? Math.floor(config.windowSize / 2) : 0 };
}

export function mlpHidden(config: SwinConfig, stage: number): number {
  return Math.floor(stageDim(config, stage) * config.mlpRatio);
}

/** Throws naming the first inconsistent field of the config. */
function checkConfig(c: SwinConfig): void {
  const bad = (message: string) => new Error(`swin config: ${message}`);
  for (const key of ["imageSize", "patchSize", "inChannels", "embedDim", "windowSize", "numClasses"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw bad(`${key} must be a positive integer, got ${c[key]}`);
  }
  const isList = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n >= 1);
  if (!isList(c.depths)) throw bad(`depths must be a list of positive integers, got ${JSON.stringify(c.depths)}`);
  if (!isList(c.numHeads) || c.numHeads.length !== c.depths.length) {
    throw bad(
      `numHeads must list one positive integer per stage (${c.depths.length}), got ${JSON.stringify(c.numHeads)}`,
    );
  }
  if (!(c.mlpRatio > 0) || mlpHidden(c, 0) < 1) throw bad(`mlpRatio must be > 0, got ${c.mlpRatio}`);
  if (!(c.layerNormEps >= 0)) throw bad(`layerNormEps must be >= 0, got ${c.layerNormEps}`);
  c.depths.forEach((_, i) => {
    const dim = stageDim(c, i);
    if (dim % c.numHeads[i] !== 0) throw bad(`stage ${i}: ${dim} channels are not divisible by ${c.numHeads[i]} heads`);
  });
  const grids = swinStageGrids(c);
  grids.forEach(([grid], i) => {
    const stageSide = c.imageSize / c.patchSize / 2 ** i;
    if (!Number.isInteger(stageSide) || grid < 1) {
      throw bad(`imageSize ${c.imageSize} / patchSize ${c.patchSize} / 2^${i} is not a whole grid for stage ${i}`);
    }
    if (grid > c.windowSize && grid % c.windowSize !== 0) {
      throw bad(
        `stage ${i}'s ${grid}x${grid} grid is not a whole number of ${c.windowSize}x${c.windowSize} windows ` +
          `(no padding here: choose imageSize so that every stage grid is a multiple of the window or at most it)`,
      );
    }
  });
}

/** Every parameter of the model, name -> shape, in timm's state-dict order. */
export function swinSpec(config: SwinConfig): ModelSpec {
  checkConfig(config);
  const spec: ModelSpec = new Map();
  const linearSpec = (name: string, outF: number, inF: number, bias = true) => {
    spec.set(`${name}.weight`, [outF, inF]);
    if (bias) spec.set(`${name}.bias`, [outF]);
  };
  const normSpec = (name: string, dim: number) => {
    spec.set(`${name}.weight`, [dim]);
    spec.set(`${name}.bias`, [dim]);
  };
  const { embedDim, patchSize: p } = config;
  spec.set("patch_embed.proj.weight", [embedDim, config.inChannels, p, p]);
  spec.set("patch_embed.proj.bias", [embedDim]);
  normSpec("patch_embed.norm", embedDim);
  const grids = swinStageGrids(config);
  config.depths.forEach((depth, i) => {
    const dim = stageDim(config, i);
    if (i > 0) {
      normSpec(`layers.${i}.downsample.norm`, 2 * dim);
      linearSpec(`layers.${i}.downsample.reduction`, dim, 2 * dim, false);
    }
    for (let j = 0; j < depth; j++) {
      const b = `layers.${i}.blocks.${j}`;
      const { window } = windowOf(config, grids[i][0], j);
      normSpec(`${b}.norm1`, dim);
      spec.set(`${b}.attn.relative_position_bias_table`, [(2 * window - 1) ** 2, config.numHeads[i]]);
      linearSpec(`${b}.attn.qkv`, 3 * dim, dim, config.qkvBias);
      linearSpec(`${b}.attn.proj`, dim, dim);
      normSpec(`${b}.norm2`, dim);
      linearSpec(`${b}.mlp.fc1`, mlpHidden(config, i), dim);
      linearSpec(`${b}.mlp.fc2`, dim, mlpHidden(config, i));
    }
  });
  const last = stageDim(config, config.depths.length - 1);
  normSpec("norm", last);
  linearSpec("head.fc", config.numClasses, last);
  return spec;
}

/**
 * [N, N] (N = window^2): row i, column j = the index into the (2w-1)^2 bias table of token i's offset
 * from token j, (dy + w - 1) * (2w - 1) + (dx + w - 1), tokens row-major in the window.
 */
export function relativePositionIndex(window: number): Int32Array {
  const N = window * window;
  const index = new Int32Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const dy = Math.floor(i / window) - Math.floor(j / window) + window - 1;
      const dx = (i % window) - (j % window) + window - 1;
      index[i * N + j] = dy * (2 * window - 1) + dx;
    }
  }
  return index;
}

/** The bias table [(2w-1)^2, heads] gathered into per-head [heads, N, N]. */
function relativePositionBias(table: Tensor, window: number): Tensor {
  const heads = table.shape[1];
  const N = window * window;
  const index = relativePositionIndex(window);
  const out = new Float32Array(heads * N * N);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < N * N; p++) out[h * N * N + p] = table.data[index[p] * heads + h];
  }
  return new Tensor(out, [heads, N, N]);
}

/** One stage's foreground positions (PAPR-SPEC.md section 5); the shape hierarchical.ts's StageMask extends. */
export interface SwinStageMask {
  height: number;
  width: number;
  foreground: Uint8Array; // height * width, row-major, 1 = foreground
}

interface NormWeights {
  weight: Tensor;
  bias: Tensor;
}
interface LinearWeights {
  weight: Tensor;
  bias: Tensor | null;
}
interface BlockWeights {
  norm1: NormWeights;
  qkv: LinearWeights;
  proj: LinearWeights;
  relativePositionBias: Tensor; // [heads, N, N]
  window: number;
  shift: number;
  norm2: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}
interface StageWeights {
  downsample: { norm: NormWeights; reduction: LinearWeights } | null;
  blocks: BlockWeights[];
  grid: number; // H = W of the stage's map
  dim: number;
  numHeads: number;
}

export interface Swin {
  readonly config: SwinConfig;
  readonly imageSize: number;
  readonly numStages: number;
  readonly featureChannels: number; // C of the last stage
  stageGrids(imageSize?: number): Array<[number, number]>; // [H, W] per stage (56, 28, 14, 7 at 224)
  embed(x: Tensor): Tensor; // [1, 3, S, S] -> stage 0's input map [H, W, C]
  stage(i: number, map: Tensor, mask?: SwinStageMask | null): Tensor; // (merging) + blocks: [H, W, C] -> [H', W', C']
  head(map: Tensor): Tensor; // last stage's map [H, W, C] -> [1, numClasses]
  features(x: Tensor): Tensor[]; // every stage's output (before the final norm) as [1, C_i, H_i, W_i]
  forward(x: Tensor): Tensor; // [1, 3, S, S] -> [1, numClasses]
  forwardMasked(x: Tensor, masks: ReadonlyArray<SwinStageMask | null>): { logits: Tensor; stages: Tensor[] };
}

/** Builds a Swin Transformer from timm-named weights, checked against swinSpec(config) (one error lists every problem). */
export function createSwin(config: SwinConfig, weights: Map<string, Tensor>): Swin {
  const spec = swinSpec(config);
  checkWeights("createSwin", spec, weights);
  const w = (name: string) => weights.get(name)!; // every name was checked against the spec
  const norm = (name: string): NormWeights => ({ weight: w(`${name}.weight`), bias: w(`${name}.bias`) });
  const fc = (name: string): LinearWeights => ({
    weight: w(`${name}.weight`),
    bias: weights.get(`${name}.bias`) ?? null,
  });
  const eps = config.layerNormEps;
  const grids = swinStageGrids(config);
  const numStages = config.depths.length;

  const patchProj = fc("patch_embed.proj");
  const patchNorm = norm("patch_embed.norm");
  const stages: StageWeights[] = config.depths.map((depth, i) => ({
    downsample:
      i > 0 ? { norm: norm(`layers.${i}.downsample.norm`), reduction: fc(`layers.${i}.downsample.reduction`) } : null,
    blocks: Array.from({ length: depth }, (_, j) => {
      const b = `layers.${i}.blocks.${j}`;
      const { window, shift } = windowOf(config, grids[i][0], j);
      return {
        norm1: norm(`${b}.norm1`),
        qkv: fc(`${b}.attn.qkv`),
        proj: fc(`${b}.attn.proj`),
        relativePositionBias: relativePositionBias(w(`${b}.attn.relative_position_bias_table`), window),
        window,
        shift,
        norm2: norm(`${b}.norm2`),
        fc1: fc(`${b}.mlp.fc1`),
        fc2: fc(`${b}.mlp.fc2`),
      };
    }),
    grid: grids[i][0],
    dim: stageDim(config, i),
    numHeads: config.numHeads[i],
  }));
  const finalNorm = norm("norm");
  const headFc = fc("head.fc");

  function embed(x: Tensor): Tensor {
    const { inChannels: C, imageSize: S } = config;
    expectRank("swin.embed", "x", x, 4);
    if (x.shape.join() !== [1, C, S, S].join()) {
      throw new ShapeError(
        "swin.embed",
        `x must be one image [1, ${C}, ${S}, ${S}] (config imageSize ${S}), got ${shapeStr(x.shape)}`,
      );
    }
    const patches = conv2d(x, patchProj.weight, patchProj.bias, { stride: config.patchSize }); // [1, D, g, g]
    const [, D, g] = patches.shape;
    const map = transpose(patches.reshape([D, g, g]), [1, 2, 0]); // [g, g, D]
    return layerNorm(map, patchNorm.weight, patchNorm.bias, eps);
  }

  /** Patch merging: [H, W, C] -> [H/2, W/2, 2C]; neighbour order (0,0), (1,0), (0,1), (1,1) as (row, col). */
  function mergePatches(s: StageWeights, map: Tensor): Tensor {
    const [H, W, C] = map.shape;
    const merged = new Float32Array(H * W * C);
    const offsets = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    for (let y = 0; y < H / 2; y++) {
      for (let x = 0; x < W / 2; x++) {
        const dst = (y * (W / 2) + x) * 4 * C;
        offsets.forEach(([dy, dx], k) => {
          const src = ((2 * y + dy) * W + 2 * x + dx) * C;
          merged.set(map.data.subarray(src, src + C), dst + k * C);
        });
      }
    }
    const normed = layerNorm(
      new Tensor(merged, [H / 2, W / 2, 4 * C]),
      s.downsample!.norm.weight,
      s.downsample!.norm.bias,
      eps,
    );
    return linear(normed, s.downsample!.reduction.weight, null); // [H/2, W/2, 2C]
  }

  /** x + window attention(norm1(x)) on every position. */
  function attentionHalf(s: StageWeights, b: BlockWeights, map: Tensor): Tensor {
    const attended = windowAttention(layerNorm(map, b.norm1.weight, b.norm1.bias, eps), {
      qkvWeight: b.qkv.weight,
      qkvBias: b.qkv.bias,
      projWeight: b.proj.weight,
      projBias: b.proj.bias,
      numHeads: s.numHeads,
      windowSize: b.window,
      shiftSize: b.shift,
      relativePositionBias: b.relativePositionBias,
    });
    return add(map, attended);
  }

  /** rows + mlp(norm2(rows)) for tokens [n, C]. */
  function mlpResidual(b: BlockWeights, rows: Tensor): Tensor {
    const hidden = linear(layerNorm(rows, b.norm2.weight, b.norm2.bias, eps), b.fc1.weight, b.fc1.bias, {
      activation: "gelu",
    }); // fused erf GELU
    return add(rows, linear(hidden, b.fc2.weight, b.fc2.bias));
  }

  /** The MLP half on the positions listed in `foreground` (all positions when null); the rest keep their value. */
  function mlpHalf(b: BlockWeights, map: Tensor, foreground: Int32Array | null): Tensor {
    const [H, W, C] = map.shape;
    if (foreground === null) return mlpResidual(b, map.reshape([H * W, C])).reshape([H, W, C]);
    const out = new Float32Array(map.data);
    const updated = mlpResidual(b, gatherRows(map.reshape([H * W, C]), foreground)).data; // [k, C]
    for (let r = 0; r < foreground.length; r++) out.set(updated.subarray(r * C, (r + 1) * C), foreground[r] * C);
    return new Tensor(out, [H, W, C]);
  }

  /** The foreground positions of a stage's mask (null: no mask, or every position foreground). */
  function foregroundPositions(i: number, mask: SwinStageMask | null | undefined): Int32Array | null {
    if (mask === null || mask === undefined) return null;
    const g = stages[i].grid;
    if (
      mask.height !== g ||
      mask.width !== g ||
      !(mask.foreground instanceof Uint8Array) ||
      mask.foreground.length !== g * g
    ) {
      throw new ShapeError(
        `swin.stage(${i})`,
        `the mask must be ${g}x${g} with ${g * g} foreground flags (stage ${i}'s grid), got ` +
          `${mask.height}x${mask.width} with ${mask.foreground?.length} flags`,
      );
    }
    const positions: number[] = [];
    mask.foreground.forEach((flag, p) => {
      if (flag !== 0 && flag !== 1)
        throw new RangeError(`swin.stage(${i}): mask.foreground[${p}] = ${flag} is not 0 or 1`);
      if (flag === 1) positions.push(p);
    });
    return positions.length === g * g ? null : Int32Array.from(positions);
  }

  function stage(i: number, map: Tensor, mask?: SwinStageMask | null): Tensor {
    if (!Number.isInteger(i) || i < 0 || i >= numStages)
      throw new RangeError(`swin stage index ${i} is not in [0, ${numStages})`);
    const s = stages[i];
    const inGrid = s.downsample ? 2 * s.grid : s.grid;
    const inDim = s.downsample ? s.dim / 2 : s.dim;
    if (map.shape.join() !== [inGrid, inGrid, inDim].join()) {
      throw new ShapeError(
        `swin.stage(${i})`,
        `map must be [${inGrid}, ${inGrid}, ${inDim}], got ${shapeStr(map.shape)}`,
      );
    }
    const foreground = foregroundPositions(i, mask);
    let x = s.downsample ? mergePatches(s, map) : map;
    for (const b of s.blocks) x = mlpHalf(b, attentionHalf(s, b, x), foreground);
    return x;
  }

  function head(map: Tensor): Tensor {
    const [H, W, C] = map.shape;
    const normed = layerNorm(map, finalNorm.weight, finalNorm.bias, eps).data;
    const sums = new Float64Array(C);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) sums[c] += normed[p * C + c];
    const pooled = new Tensor(
      Float32Array.from(sums, (v) => v / (H * W)),
      [1, C],
    );
    return linear(pooled, headFc.weight, headFc.bias); // [1, numClasses]
  }

  const asNCHW = (map: Tensor) => {
    const [H, W, C] = map.shape;
    return transpose(map, [2, 0, 1]).reshape([1, C, H, W]);
  };

  function forwardMasked(x: Tensor, masks: ReadonlyArray<SwinStageMask | null>): { logits: Tensor; stages: Tensor[] } {
    if (!Array.isArray(masks) || masks.length !== numStages) {
      throw new ShapeError(
        "swin.forwardMasked",
        `give one mask (or null) per stage: ${numStages}, got ${masks?.length}`,
      );
    }
    let map = embed(x);
    const outputs: Tensor[] = [];
    for (let i = 0; i < numStages; i++) {
      map = stage(i, map, masks[i]);
      outputs.push(map);
    }
    return { logits: head(map), stages: outputs.map(asNCHW) };
  }

  const unmasked = () => new Array<SwinStageMask | null>(numStages).fill(null);
  return {
    config,
    imageSize: config.imageSize,
    numStages,
    featureChannels: stageDim(config, numStages - 1),
    stageGrids: (imageSize = config.imageSize) => swinStageGrids(config, imageSize),
    embed,
    stage,
    head,
    features: (x) => forwardMasked(x, unmasked()).stages,
    forward: (x) => forwardMasked(x, unmasked()).logits,
    forwardMasked,
  };
}
