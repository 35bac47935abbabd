// MACs of a (masked) ConvNeXt forward, fvcore's counting conventions (src/papr/macs.ts):
//   conv / linear     one MAC per multiply-add (bias free); depthwise: out elements x kh x kw
//   layer norm        5 per element (fvcore's norm handler, affine)
//   global avg pool   1 per input element (fvcore's adaptive_avg_pool2d handler)
//   GELU, adds, the layer scale multiply: not counted
// Per stage i with C channels, an H x W grid and n foreground positions (n = H W unmasked):
//   downsampling (i > 0)   LN 5 H' W' C' + conv H W C (4 C')           (full map, C' H' W': previous stage)
//   each block             depthwise H W C 49 (full map) + LN 5 n C + fc1 n C 4C + fc2 n 4C C
// plus the stem (4x4 conv + LN on the full map) and the head (pool, LN, fc). The proposer's MACs are counted
// when it runs (src/tensor/mac_counter.ts) and passed in.
import type { ConvNeXtConfig } from "../models/convnext.ts";
import { convnextStageGrids } from "../models/convnext.ts";
import { LAYER_NORM_MACS_PER_ELEMENT as LN } from "./macs.ts";

export interface StageCost {
  proposer: number;
  stem: number;
  stages: number[]; // one entry per stage: its downsampling layer and every block
  head: number;
  total: number;
}

/** Cost of a ConvNeXt forward at imageSize where stage i's blocks run their MLP on foreground[i] positions (null: all). */
export function convnextCost(
  config: Required<ConvNeXtConfig>,
  imageSize: number,
  foreground: ReadonlyArray<number | null>,
  proposerMacs = 0,
): StageCost {
  const { depths, dims, inChannels, numClasses } = config;
  const grids = convnextStageGrids(imageSize, depths.length);
  const [h0, w0] = grids[0];
  const stem = h0 * w0 * dims[0] * (inChannels * 16) + LN * h0 * w0 * dims[0];
  const stages = depths.map((depth, i) => {
    const [h, w] = grids[i];
    const C = dims[i];
    const positions = h * w;
    const n = foreground[i] ?? positions;
    let macs = 0;
    if (i > 0) {
      const [hp, wp] = grids[i - 1];
      macs += LN * hp * wp * dims[i - 1] + positions * C * dims[i - 1] * 4;
    }
    const block = positions * C * 49 + LN * n * C + 2 * n * C * 4 * C;
    return macs + depth * block;
  });
  const [hl, wl] = grids[grids.length - 1];
  const last = dims[dims.length - 1];
  const head = hl * wl * last + LN * last + last * numClasses;
  const total = proposerMacs + stem + stages.reduce((a, b) => a + b, 0) + head;
  return { proposer: proposerMacs, stem, stages, head, total };
}
