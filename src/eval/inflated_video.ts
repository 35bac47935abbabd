// Video models WITHOUT training, from the trained 2-D defaults (for the video PaPr evaluation, docs/eval/video.md):
//
// inflateVitToVideo: a 2-D ViT (weights/vit-scenes: DeiT-Tiny width, class token) -> a clip classifier over
// tubelets, I3D-style (Carreira & Zisserman 2017): the patch embedding's kernel divided by the tubelet length t and
// repeated over t frames, i.e. each token embeds the MEAN of its t frames with the 2-D kernel (computed so: Conv3d
// with kernel W/t repeated over t = Conv2d W on the frame mean); every temporal slice gets the 2-D model's LEARNED
// positions of its patches (repeated over time, no temporal position); the class token, blocks, norm and head are
// the 2-D model's. VideoMAE's fixed sinusoidal positions are NOT used: the blocks were trained with the learned
// table, and replacing it would feed them inputs they never saw.
// The class token is repeated: c = max(1, round(n / P)) identical copies in front of n patch tokens (P = the 2-D
// model's patches per frame, 196), i.e. 8 copies at z = 1 and fewer after pruning, so that it keeps about the
// share of attention it had in the 2-D model (1 class token per P patches); identical copies stay identical
// through the blocks, and head() reads row 0. Property (tested): on a static clip (all frames equal) the inflated
// model gives the 2-D model's logits on that frame exactly (up to rounding), since attention over c copies of
// every key / value equals attention over one copy.
// So this is NOT a VideoMAE (no sinusoidal table, class tokens): it implements the VideoVit interface for video
// PaPr, with embed() -> [c + L, D] (rows 0..c-1 = class token) and keepTokens() putting the copies before the kept
// rows. Its MACs are those of c + k tokens per block (classTokenCopies).
//
// framewiseProposer: a 2-D ConvNet proposer (weights/mobilenetv3-scenes) run on every frame of the proposer's clip,
// its feature maps stacked over time: [1, 3, T', S, S] -> [1, K, T', h, w]. The acceptable 'inflation' of the brief
// (no 3-D kernels); its MACs are T' times the 2-D proposer's.
import type { ConvNet } from "../models/registry.ts";
import type { VideoVit } from "../models/video_vit.ts";
import type { Vit } from "../models/vit.ts";
import type { VideoProposer } from "../papr/video_papr.ts";
import { concat, gatherRows } from "../tensor/shape.ts";
import { ShapeError, Tensor, expectRank, shapeStr } from "../tensor/tensor.ts";

/** Frame mean over each tubelet: x [1, C, T, S, S] -> [T / t] images [1, C, S, S]. */
function tubeletMeans(x: Tensor, t: number): Tensor[] {
  const [, C, T, H, W] = x.shape;
  const plane = H * W;
  return Array.from({ length: T / t }, (_, s) => {
    const out = new Float32Array(C * plane);
    for (let c = 0; c < C; c++)
      for (let dt = 0; dt < t; dt++) {
        const from = (c * T + s * t + dt) * plane;
        for (let i = 0; i < plane; i++) out[c * plane + i] += x.data[from + i] / t;
      }
    return new Tensor(out, [1, C, H, W]);
  });
}

/** The 2-D ViT inflated over `frames` frames in tubelets of `tubelet` (see the header). */
export function inflateVitToVideo(vit: Vit, frames = 16, tubelet = 2): VideoVit {
  const c = vit.config;
  if (c.numPrefixTokens !== 1 || c.distillToken)
    throw new Error(
      `inflateVitToVideo: a ViT with one class token is expected, got ${c.numPrefixTokens} prefix tokens`,
    );
  if (!Number.isInteger(frames / tubelet)) throw new Error(`inflateVitToVideo: ${frames} frames, tubelet ${tubelet}`);
  const slices = frames / tubelet;
  const L = slices * c.numPatches;
  const config = {
    numFrames: frames,
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    tubeletSize: tubelet,
    inChannels: c.inChannels,
    embedDim: c.embedDim,
    depth: c.depth,
    numHeads: c.numHeads,
    mlpRatio: c.mlpRatio,
    numClasses: c.numClasses,
    layerNormEps: c.layerNormEps ?? 1e-6,
    numPrefixTokens: 0 as const, // the class token copies are internal: embed's first rows, always kept
    tokenGrid: [slices, c.gridSize, c.gridSize] as [number, number, number],
    numPatches: L,
  };

  /** [1, C, T, S, S] -> [slices + L, D]: the class token (+ its position) `slices` times, then each slice's tokens. */
  function embed(x: Tensor): Tensor {
    expectRank("inflated.embed", "x", x, 5);
    const S = c.imageSize;
    if (x.shape.join() !== [1, c.inChannels, frames, S, S].join())
      throw new ShapeError(
        "inflated.embed",
        `x must be [1, ${c.inChannels}, ${frames}, ${S}, ${S}], got ${shapeStr(x.shape)}`,
      );
    const perSlice = tubeletMeans(x, tubelet).map((image) => vit.embed(image)); // [1 + P, D] each
    const patchRows = Int32Array.from({ length: c.numPatches }, (_, i) => 1 + i);
    const classRows = new Int32Array(slices); // row 0, slices times
    return concat([gatherRows(perSlice[0], classRows), ...perSlice.map((e) => gatherRows(e, patchRows))], 0);
  }

  /** [slices + L, D] -> [copies + k, D]: classTokenCopies(k) class rows, then rows keep[0], keep[1], ... */
  function keepTokens(tokens: Tensor, keep: Int32Array): Tensor {
    if (tokens.rank !== 2 || tokens.shape[0] !== slices + L)
      throw new ShapeError("inflated.keepTokens", `tokens must be [${slices + L}, D], got ${shapeStr(tokens.shape)}`);
    const copies = classTokenCopies(keep.length, c.numPatches);
    const rows = new Int32Array(copies + keep.length); // zeros: the class rows
    keep.forEach((token, i) => {
      if (!(token >= 0 && token < L))
        throw new RangeError(`inflated.keepTokens: keep[${i}] = ${token} is not in [0, ${L})`);
      rows[copies + i] = slices + token;
    });
    return gatherRows(tokens, rows);
  }

  return {
    numBlocks: vit.numBlocks,
    attentionHalf: vit.attentionHalf,
    mlpHalf: vit.mlpHalf,
    block: vit.block,
    blockWeights: vit.blockWeights,
    blocks: vit.blocks,
    head: vit.head,
    config,
    embed,
    keepTokens,
    forward: (x, keep) => {
      const tokens = embed(x);
      return vit.head(vit.blocks(keep === undefined ? tokens : keepTokens(tokens, keep)));
    },
  };
}

/** Copies of the class token in front of n patch tokens: max(1, round(n / patchesPerFrame)). */
export function classTokenCopies(n: number, patchesPerFrame: number): number {
  return Math.max(1, Math.round(n / patchesPerFrame));
}

/** A 2-D ConvNet run on every frame: [1, 3, T', S, S] -> features stacked over time [1, K, T', h, w]. */
export function framewiseProposer(convnet: Pick<ConvNet, "features">): VideoProposer {
  return {
    features(clip: Tensor): Tensor {
      expectRank("framewiseProposer", "clip", clip, 5);
      const [N, C, T, H, W] = clip.shape;
      if (N !== 1) throw new ShapeError("framewiseProposer", `one clip expected, got ${shapeStr(clip.shape)}`);
      const plane = H * W;
      const maps = Array.from({ length: T }, (_, t) => {
        const frame = new Float32Array(C * plane);
        for (let c = 0; c < C; c++)
          frame.set(clip.data.subarray((c * T + t) * plane, (c * T + t + 1) * plane), c * plane);
        return convnet.features(new Tensor(frame, [1, C, H, W])); // [1, K, h, w]
      });
      const [, K, h, w] = maps[0].shape;
      const out = new Float32Array(K * T * h * w);
      maps.forEach((m, t) => {
        for (let k = 0; k < K; k++) out.set(m.data.subarray(k * h * w, (k + 1) * h * w), (k * T + t) * h * w);
      });
      return new Tensor(out, [1, K, T, h, w]);
    },
  };
}
