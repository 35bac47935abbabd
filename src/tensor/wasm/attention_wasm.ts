// attentionHeadsInto of attention.ts on the wasm backend: per head, two products on the f32x4 GEMM
// micro-kernel over one copy of qkv in wasm memory, and the softmax in between (softmax_kernel.ts),
//   scores = q_h @ k_h^T            A = q_h packed in MR-row panels, B = k_h packed in 8-column panels
//   P = softmax(scores * scale)     written straight into MR-row panels: the A operand of the next product
//   merged[:, h*hd..] = P @ v_h     B = v_h read in place from the qkv copy (row stride 3D)
// Scratch is laid out once per call and reused by every head (nothing allocated per head).
import { MR as KERNEL_MR, NR as KERNEL_NR } from "./gemm_kernel.ts";
import { align, memoryF32, scratchBase, wasmKernels } from "./runtime.ts";

// module-local copies: imported bindings may compile to getters (tsx), slow inside the packing loops
const MR = KERNEL_MR;
const NR = KERNEL_NR;

/** Heads [0, numHeads) of attention over qkv[N, 3D] (per token [q | k | v]) into merged[N, D]. */
export function wasmAttentionHeads(
  qkv: Float32Array,
  merged: Float32Array,
  N: number,
  D: number,
  numHeads: number,
): void {
  if (N === 0) return;
  const kernels = wasmKernels();
  const hd = D / numHeads;
  const scale = hd ** -0.5;
  const rowTiles = Math.ceil(N / MR);
  const Mpad = rowTiles * MR;
  const tokenPanels = Math.ceil(N / NR);
  const headPanels = Math.ceil(hd / NR);
  const Npad = tokenPanels * NR;

  let at = scratchBase();
  const take = (floats: number) => {
    const here = at;
    at = align(at + floats * 4);
    return here;
  };
  const qkvAt = take(N * 3 * D + NR); // + slack: the last head's padded columns read past the end
  const qAt = take(Mpad * hd);
  const kAt = take(Npad * hd);
  const scoresAt = take(Mpad * Npad);
  const pAt = take(Mpad * N);
  const outAt = take(Mpad * headPanels * NR);
  const zerosAt = take(Math.max(Npad, Mpad, headPanels * NR));
  const mem = memoryF32(at);
  mem.set(qkv.subarray(0, N * 3 * D), qkvAt >> 2);
  mem.fill(0, (qkvAt >> 2) + N * 3 * D, (qkvAt >> 2) + N * 3 * D + NR);
  mem.fill(0, zerosAt >> 2, (zerosAt >> 2) + Math.max(Npad, Mpad, headPanels * NR));
  mem.fill(0, pAt >> 2, (pAt >> 2) + Mpad * N); // rows past N stay 0

  for (let h = 0; h < numHeads; h++) {
    packPanels(qkv, h * hd, 3 * D, N, hd, MR, mem, qAt >> 2); // q_h rows
    packPanels(qkv, D + h * hd, 3 * D, N, hd, NR, mem, kAt >> 2); // k_h rows = columns of k_h^T
    // scores[Mpad, Npad] = q_h @ k_h^T
    kernels.gemm_tiles(
      qAt,
      hd,
      kAt,
      NR * 4,
      NR * 4 * hd,
      scoresAt,
      Npad * 4,
      rowTiles,
      tokenPanels,
      zerosAt,
      zerosAt,
      0,
    );
    kernels.softmax_panels(scoresAt, Npad * 4, N, N, scale, pAt);
    // out[Mpad, hd] = P @ v_h, v_h read in place: B[k, j] = qkv[k*3D + 2D + h*hd + j]
    const vAt = qkvAt + (2 * D + h * hd) * 4;
    kernels.gemm_tiles(
      pAt,
      N,
      vAt,
      3 * D * 4,
      NR * 4,
      outAt,
      headPanels * NR * 4,
      rowTiles,
      headPanels,
      zerosAt,
      zerosAt,
      0,
    );
    for (let i = 0; i < N; i++) {
      const from = (outAt >> 2) + i * headPanels * NR;
      merged.set(mem.subarray(from, from + hd), i * D + h * hd);
    }
  }
}

/**
 * Rows [0, rows) x columns [col, col + width) of src (row stride ld) into panels of `panel` rows,
 * k-major: mem[to + (r - r % panel)*width + k*panel + r % panel] = src[r*ld + col + k]; padding rows 0.
 */
function packPanels(
  src: Float32Array,
  col: number,
  ld: number,
  rows: number,
  width: number,
  panel: number,
  mem: Float32Array,
  to: number,
): void {
  const padded = Math.ceil(rows / panel) * panel;
  for (let r = 0; r < padded; r++) {
    let dst = to + (r - (r % panel)) * width + (r % panel);
    if (r >= rows) {
      for (let k = 0; k < width; k++, dst += panel) mem[dst] = 0;
      continue;
    }
    const from = r * ld + col;
    for (let k = 0; k < width; k++, dst += panel) mem[dst] = src[from + k];
  }
}
