// VideoMAE's fine-tuned classifier (Tong et al. 2022, "VideoMAE: Masked Autoencoders are Data-Efficient Learners
// for Self-Supervised Video Pre-Training"; Hugging Face VideoMAEForVideoClassification), inference only, one clip.
// A plain ViT over space-time tubelets (docs/video-vit.md; PAPR-SPEC.md section 6):
//
//   x [1, C, T, H, W]
//     --tubelet embedding: Conv3d(C, D, kernel = stride = (t, p, p)), done as a GEMM on the gathered blocks-->
//   tokens [L, D], L = T/t * H/p * W/p (16x224x224 -> 8 x 14 x 14 = 1568), ordered t-major, then h, then w
//     --+ FIXED sinusoidal positions (the Transformer's table, computed here, never a parameter)-->
//   tokens [L, D]   <- PaPr keeps a subset of these rows (forward's `keep`)
//     --ViT blocks (createVitTrunk of vit.ts: pre-norm, eps 1e-6, exact GELU)-->
//     --mean over the tokens present --> fc_norm --> head--> logits [numClasses]
//
// No class token. Canonical weight names (what createVideoVit reads; load/names_videomae.ts maps the original
// VideoMAE release and Hugging Face onto them):
//   patch_embed.proj.weight [D, C, t, p, p], patch_embed.proj.bias [D]
//   blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}.*   (timm names, as in vit.ts; VideoMAE's
//     q_bias / v_bias become attn.qkv.bias = [q_bias, 0, v_bias]: its key projection has no bias)
//   fc_norm.*, head.*
import { linear } from "../tensor/linear.ts";
import { allocFloat32 } from "../tensor/arena.ts";
import { add } from "../tensor/elementwise.ts";
import { gatherRows } from "../tensor/shape.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";
import { checkWeights, type ModelSpec } from "./model_spec.ts";
import { createVitTrunk, vitTrunkSpec, type VitTrunk, type VitTrunkConfig } from "./vit.ts";

export interface VideoVitConfig {
  numFrames: number; // T, 16
  imageSize: number; // square frame side, 224
  patchSize: number; // p, 16
  tubeletSize: number; // t, 2 (frames per token)
  inChannels: number; // 3
  embedDim: number; // D
  depth: number;
  numHeads: number;
  mlpRatio: number; // hidden = floor(D * mlpRatio)
  numClasses: number; // 400 for Kinetics-400
  layerNormEps: number; // 1e-6 (the original release; Hugging Face's config says 1e-12 for the blocks)
}

const BASE: VideoVitConfig = {
  numFrames: 16,
  imageSize: 224,
  patchSize: 16,
  tubeletSize: 2,
  inChannels: 3,
  embedDim: 768,
  depth: 12,
  numHeads: 12,
  mlpRatio: 4,
  numClasses: 400,
  layerNormEps: 1e-6,
};

/** The released Kinetics-400 fine-tuned classifiers (ViT-S and ViT-B, 16 frames at 224). */
export const VIDEO_VIT_PRESETS: Record<string, VideoVitConfig> = {
  videomae_small: { ...BASE, embedDim: 384, numHeads: 6 },
  videomae_base: { ...BASE },
};

/** A preset by name, with optional overrides (e.g. { numClasses: 174 } for Something-Something v2). */
export function videoVitConfig(name: string, overrides: Partial<VideoVitConfig> = {}): VideoVitConfig {
  const preset = VIDEO_VIT_PRESETS[name];
  if (!preset)
    throw new Error(`videoVitConfig: unknown preset '${name}' (known: ${Object.keys(VIDEO_VIT_PRESETS).join(", ")})`);
  return { ...preset, ...overrides };
}

/** Tokens along time, height and width: [T/t, H/p, W/p]. */
export function tokenGrid(c: VideoVitConfig): [number, number, number] {
  const side = c.imageSize / c.patchSize;
  return [c.numFrames / c.tubeletSize, side, side];
}

/** L = (T/t) (H/p) (W/p): 1568 for 16 x 224 x 224. */
export function numVideoTokens(c: VideoVitConfig): number {
  const [t, h, w] = tokenGrid(c);
  return t * h * w;
}

/** The blocks and head as vit.ts builds them: qkv bias, no prefix token, mean pool -> fc_norm -> head. */
function trunkConfig(c: VideoVitConfig): VitTrunkConfig {
  return { ...c, qkvBias: true, classToken: false, distillToken: false, globalPool: "avg", fcNorm: true };
}

/** Throws naming the first inconsistent field of the config. */
function checkConfig(c: VideoVitConfig): void {
  const bad = (message: string) => new Error(`video vit config: ${message}`);
  const integers = [
    "numFrames",
    "imageSize",
    "patchSize",
    "tubeletSize",
    "inChannels",
    "embedDim",
    "depth",
    "numHeads",
    "numClasses",
  ] as const;
  for (const key of integers) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw bad(`${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.imageSize % c.patchSize !== 0)
    throw bad(`imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.numFrames % c.tubeletSize !== 0)
    throw bad(`numFrames ${c.numFrames} is not a multiple of tubeletSize ${c.tubeletSize}`);
  if (c.embedDim % c.numHeads !== 0) throw bad(`embedDim ${c.embedDim} is not divisible by numHeads ${c.numHeads}`);
  if (!(c.mlpRatio > 0) || Math.floor(c.embedDim * c.mlpRatio) < 1)
    throw bad(`mlpRatio must be > 0, got ${c.mlpRatio}`);
  if (!(c.layerNormEps >= 0)) throw bad(`layerNormEps must be >= 0, got ${c.layerNormEps}`);
}

/** Every canonical parameter, name -> shape (no position table: it is computed). */
export function videoVitSpec(config: VideoVitConfig): ModelSpec {
  checkConfig(config);
  const { embedDim: D, inChannels: C, tubeletSize: t, patchSize: p } = config;
  const spec: ModelSpec = new Map();
  spec.set("patch_embed.proj.weight", [D, C, t, p, p]);
  spec.set("patch_embed.proj.bias", [D]);
  for (const [name, shape] of vitTrunkSpec(trunkConfig(config))) spec.set(name, shape);
  return spec;
}

/**
 * The fixed sinusoidal position table of "Attention Is All You Need" (section 3.5) as VideoMAE builds it:
 * angle(pos, i) = pos / 10000^(2 floor(i/2) / D); row pos = sin(angle) at even i, cos(angle) at odd i.
 * Computed in float64, stored as float32 (as VideoMAE does). [numTokens, D].
 */
export function sinusoidPositionTable(numTokens: number, D: number): Tensor {
  const out = new Float32Array(numTokens * D);
  const inverseFrequency = Float64Array.from({ length: D }, (_, i) => Math.pow(10000, (2 * Math.floor(i / 2)) / D));
  for (let pos = 0; pos < numTokens; pos++) {
    for (let i = 0; i < D; i++) {
      const angle = pos / inverseFrequency[i];
      out[pos * D + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return new Tensor(out, [numTokens, D]);
}

/**
 * The non-overlapping (t, p, p) blocks of one clip, one row per token: x [1, C, T, H, W] -> [L, C t p p].
 * Rows in token order (t-major, then h, then w); columns in the order of a Conv3d weight [D, C, t, p, p]
 * flattened, so that Conv3d(kernel = stride = (t, p, p)) = tubelets(x) @ weight.reshape([D, C t p p])^T.
 */
export function tubelets(x: Tensor, tubeletSize: number, patchSize: number): Tensor {
  expectRank("tubelets", "x", x, 5);
  const [N, C, T, H, W] = x.shape;
  const t = tubeletSize;
  const p = patchSize;
  if (N !== 1 || T % t !== 0 || H % p !== 0 || W % p !== 0) {
    throw new ShapeError(
      "tubelets",
      `x must be one clip [1, C, T, H, W] with T a multiple of ${t} and H, W multiples of ${p}, got ${shapeStr(x.shape)}`,
    );
  }
  const [gt, gh, gw] = [T / t, H / p, W / p];
  const K = C * t * p * p;
  const out = allocFloat32(gt * gh * gw * K);
  let o = 0;
  for (let it = 0; it < gt; it++) {
    for (let ih = 0; ih < gh; ih++) {
      for (let iw = 0; iw < gw; iw++) {
        for (let c = 0; c < C; c++) {
          for (let dt = 0; dt < t; dt++) {
            for (let dy = 0; dy < p; dy++) {
              const start = ((c * T + it * t + dt) * H + ih * p + dy) * W + iw * p;
              out.set(x.data.subarray(start, start + p), o);
              o += p;
            }
          }
        }
      }
    }
  }
  return new Tensor(out, [gt * gh * gw, K]);
}

export interface VideoVit extends VitTrunk {
  readonly config: VideoVitConfig & {
    numPrefixTokens: 0; // no class token: every token is a tubelet, and head() averages all it is given
    tokenGrid: [number, number, number]; // [T/t, H/p, W/p]
    numPatches: number; // L, the token count before pruning
  };
  embed(x: Tensor): Tensor; // [1, C, T, H, W] -> [L, D]: tubelet embedding + positions
  keepTokens(tokens: Tensor, keep: Int32Array): Tensor; // [L, D] -> [k, D], rows keep[0], keep[1], ...
  // logits [numClasses]; keep = token indices (into embed's rows) that enter the blocks, all when absent
  forward(x: Tensor, keep?: Int32Array): Tensor;
}

/** Builds the VideoMAE classifier from canonical weights, checked against videoVitSpec (one error lists all). */
export function createVideoVit(config: VideoVitConfig, weights: Map<string, Tensor>): VideoVit {
  const spec = videoVitSpec(config);
  checkWeights("createVideoVit", spec, weights);
  const { embedDim: D, inChannels: C, numFrames: T, imageSize: S } = config;
  const L = numVideoTokens(config);
  const projWeight = weights
    .get("patch_embed.proj.weight")!
    .reshape([D, C * config.tubeletSize * config.patchSize ** 2]);
  const projBias = weights.get("patch_embed.proj.bias")!;
  const positions = sinusoidPositionTable(L, D);
  const trunk = createVitTrunk(trunkConfig(config), weights);

  function embed(x: Tensor): Tensor {
    expectRank("videoVit.embed", "x", x, 5);
    if (x.shape.join() !== [1, C, T, S, S].join()) {
      throw new ShapeError(
        "videoVit.embed",
        `x must be one clip [1, ${C}, ${T}, ${S}, ${S}] (config numFrames ${T}, imageSize ${S}), got ${shapeStr(x.shape)}`,
      );
    }
    const blocks = tubelets(x, config.tubeletSize, config.patchSize); // [L, C t p p]
    return add(linear(blocks, projWeight, projBias), positions); // [L, D]
  }

  function keepTokens(tokens: Tensor, keep: Int32Array): Tensor {
    if (tokens.rank !== 2 || tokens.shape[0] !== L || tokens.shape[1] !== D)
      throw new ShapeError("videoVit.keepTokens", `tokens must be [${L}, ${D}], got ${shapeStr(tokens.shape)}`);
    if (keep.length === 0) throw new RangeError("videoVit.keepTokens: keep is empty (the head averages >= 1 token)");
    const seen = new Uint8Array(L);
    for (let i = 0; i < keep.length; i++) {
      const index = keep[i];
      if (index < 0 || index >= L)
        throw new RangeError(`videoVit.keepTokens: keep[${i}] = ${index} is not in [0, ${L})`);
      if (seen[index]++) throw new RangeError(`videoVit.keepTokens: token ${index} is kept twice (keep[${i}])`);
    }
    return gatherRows(tokens, keep);
  }

  return {
    ...trunk,
    config: { ...config, numPrefixTokens: 0, tokenGrid: tokenGrid(config), numPatches: L },
    embed,
    keepTokens,
    forward: (x, keep) => {
      const tokens = embed(x);
      return trunk.head(trunk.blocks(keep === undefined ? tokens : keepTokens(tokens, keep)));
    },
  };
}
