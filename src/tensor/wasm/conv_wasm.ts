// conv2d's pointwise and dense paths on the wasm backend: per image and group one product
//
//   out_g[Og, P] = act( weight_g[Og, K] @ B[K, P] + bias_g )        (P = outH*outW pixels)
//
// on gemm_kernel.ts's micro-kernel, with every operand laid out in wasm memory:
//   - A = weight_g, packed in MR-row panels; a weight declared constant (../constants.ts) is packed
//     once into the persistent area (until invalidateConstant), any other per call into scratch;
//   - B: pointwise (1x1, stride 1, no padding): the input planes x_g [Cg, H*W] themselves, copied in
//     with one TypedArray.set and read in place (row stride P); otherwise im2col (layout_kernel.ts)
//     from the input planes, copied in with one set, into cols [K, P] in wasm memory;
//   - C: rows of P floats when P is a multiple of the 8-column panel, else rows of the padded width
//     moved together in wasm (compactRows); copied out with one set.
// The bias (per output channel) and activations 0-4 are fused into the kernel's store. Dilated dense
// convolutions and GELU / SiLU / sigmoid return false: conv.ts runs them through runGemm.
import { isConstant, onInvalidateConstant } from "../constants.ts";
import { isPointwise, type ConvGemmRunner } from "../conv.ts";
import { activationCode } from "../gemm.ts";
import { MR as KERNEL_MR, NR as KERNEL_NR } from "./gemm_kernel.ts";
import { scratchTaker } from "./ops_wasm.ts";
import { allocatePersistent, compactRows, memoryF32, persistentEpoch, wasmKernels, zeroFloats } from "./runtime.ts";
import { gemmThreads, runGemmTiles } from "./threads_wasm.ts";

const MR = KERNEL_MR;
const NR = KERNEL_NR;
const FUSED_IN_WASM = 4;

interface PackedGroups {
  epoch: number; // runtime.ts's persistent epoch when packed
  groups: number;
  Og: number;
  K: number;
  at: number[]; // byte address of each group's panels
}

const packedWeights = new WeakMap<object, PackedGroups>();
onInvalidateConstant((data) => packedWeights.delete(data));

export const wasmConvGemm: ConvGemmRunner = (x, weight, bias, groups, g, activation, out) => {
  const act = activationCode(activation);
  const pointwise = isPointwise(g);
  if (act > FUSED_IN_WASM || (!pointwise && (g.dilation[0] !== 1 || g.dilation[1] !== 1))) return false;
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const Og = O / groups;
  const K = Cg * kh * kw;
  const P = g.outH * g.outW;
  if (Og === 0 || P === 0 || K === 0) return false;
  const rowTiles = Math.ceil(Og / MR);
  const Mpad = rowTiles * MR;
  const colPanels = Math.ceil(P / NR);
  const Npad = colPanels * NR;
  const ldc = P % NR === 0 ? P : Npad;

  const cached = cachedPanels(weight.data, groups, Og, K, Mpad); // before the scratch: it may grow the persistent area
  const s = scratchTaker();
  const aAt = cached === null ? s.take(groups * Mpad * K) : -1;
  const stageAt = pointwise ? -1 : s.take(Cg * H * W);
  const bAt = s.take(K * P + NR);
  const colBiasAt = s.take(Npad);
  const rowBiasAt = s.take(Mpad);
  const cAt = s.take(Mpad * ldc);
  const mem = memoryF32(s.end());
  const panelsAt = cached ?? Array.from({ length: groups }, (_, group) => aAt + group * Mpad * K * 4);
  if (cached === null)
    for (let group = 0; group < groups; group++) packWeight(weight.data, group, Og, K, Mpad, mem, panelsAt[group] >> 2);
  zeroFloats(colBiasAt >> 2, Npad);
  const { ops } = wasmKernels();
  const threads = gemmThreads(Og, P, K); // the product of each group, split over the threads (threads_wasm.ts)

  for (let n = 0; n < N; n++) {
    for (let group = 0; group < groups; group++) {
      const planes = (n * C + group * Cg) * H * W;
      if (pointwise) {
        mem.set(x.data.subarray(planes, planes + K * P), bAt >> 2);
      } else {
        mem.set(x.data.subarray(planes, planes + Cg * H * W), stageAt >> 2);
        zeroFloats(bAt >> 2, K * P);
        const [sh, sw] = g.stride;
        ops.im2col(stageAt, Cg, H, W, bAt, P, kh, kw, sh, sw, g.pad.top, g.pad.left, g.outH, g.outW);
      }
      zeroFloats((bAt >> 2) + K * P, NR); // read past the last row by the last panel
      if (bias === null) zeroFloats(rowBiasAt >> 2, Mpad);
      else {
        mem.set(bias.data.subarray(group * Og, (group + 1) * Og), rowBiasAt >> 2);
        zeroFloats((rowBiasAt >> 2) + Og, Mpad - Og);
      }
      runGemmTiles(
        {
          ap: panelsAt[group],
          K,
          bp: bAt,
          bKStride: P * 4,
          bPanelStride: NR * 4,
          cp: cAt,
          ldc: ldc * 4,
          rowTiles,
          colPanels,
          colBias: colBiasAt,
          rowBias: rowBiasAt,
          act,
          gelu: false,
          rawA: -1,
          M: Og,
        },
        threads,
      );
      const to = (n * O + group * Og) * P;
      compactRows(cAt >> 2, Og, ldc, P); // rows of ldc floats -> rows of P floats (nothing to do when ldc = P)
      out.set(mem.subarray(cAt >> 2, (cAt >> 2) + Og * P), to);
    }
  }
  return true;
};

/** The persistent panels of every group of a constant weight (packed now if new), or null (not constant / no room). */
function cachedPanels(data: Float32Array, groups: number, Og: number, K: number, Mpad: number): number[] | null {
  if (!isConstant(data)) return null;
  const found = packedWeights.get(data);
  if (
    found !== undefined &&
    found.epoch === persistentEpoch() &&
    found.groups === groups &&
    found.Og === Og &&
    found.K === K
  )
    return found.at;
  const at: number[] = [];
  for (let group = 0; group < groups; group++) {
    const here = allocatePersistent(Mpad * K * 4);
    if (here < 0) return null; // the area is full: pack per call (gemm_wasm.ts's cache decides when to reset it)
    at.push(here);
  }
  const mem = memoryF32();
  for (let group = 0; group < groups; group++) packWeight(data, group, Og, K, Mpad, mem, at[group] >> 2);
  packedWeights.set(data, { epoch: persistentEpoch(), groups, Og, K, at });
  return at;
}

/** mem[to + p*MR*K + k*MR + r] = weight_g[p*MR + r, k] = w[(group*Og + p*MR + r)*K + k]; rows past Og are 0. */
function packWeight(
  w: Float32Array,
  group: number,
  Og: number,
  K: number,
  Mpad: number,
  mem: Float32Array,
  to: number,
): void {
  for (let i = 0; i < Mpad; i++) {
    let dst = to + (i - (i % MR)) * K + (i % MR);
    if (i >= Og) {
      for (let k = 0; k < K; k++, dst += MR) mem[dst] = 0;
      continue;
    }
    const src = (group * Og + i) * K;
    for (let k = 0; k < K; k++, dst += MR) mem[dst] = w[src + k];
  }
}
