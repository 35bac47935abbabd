// attentionHeadsInto of attention.ts on the wasm backend: per head, two products on the f32x4 GEMM
// micro-kernel over one copy of qkv in wasm memory, and the softmax in between (softmax_kernel.ts),
//   scores = q_h @ k_h^T            A = q_h packed in MR-row panels, B = k_h packed in 8-column panels
//   P = softmax(scores * scale)     written straight into MR-row panels: the A operand of the next product
//   merged[:, h*hd..] = P @ v_h     B = v_h read in place from the qkv copy (row stride 3D)
// Scratch is laid out once per call and reused by every head (nothing allocated per head).
// Heads are split over the threads (threads_wasm.ts): each thread has its own per-head scratch and
// writes its heads' columns of merged[N, D] in wasm memory, copied out once at the end.
import { MR as KERNEL_MR, NR as KERNEL_NR } from "./gemm_kernel.ts";
import { align, memoryF32, scratchBase, wasmKernels, zeroFloats, type WasmKernels } from "./runtime.ts";
import {
  kernelsHere,
  memoryHere,
  MIN_WASM_PARALLEL_MACS,
  splitPoints,
  splitWasmJobs,
  wasmThreads,
} from "./threads_wasm.ts";
import { registerJobKind, type Job } from "../workers/jobs.ts";

// module-local copies: imported bindings may compile to getters (tsx), slow inside the packing loops
const MR = KERNEL_MR;
const NR = KERNEL_NR;

/** Where one call's shared operands are (byte addresses): qkv[N, 3D] (+ NR zeros), zeros, merged[N, D]. */
interface HeadsLayout {
  N: number;
  D: number;
  numHeads: number;
  qkvAt: number;
  zerosAt: number;
  mergedAt: number;
}

/** One thread's per-head scratch (byte addresses), reused by each of its heads. */
interface HeadScratch {
  qAt: number; // q_h in MR-row panels [Mpad, hd]
  kAt: number; // k_h in 8-column panels [Npad, hd]
  scoresAt: number; // [Mpad, Npad]
  pAt: number; // softmax in MR-row panels [Mpad, N] (rows past N stay 0)
  outAt: number; // [Mpad, headPanels * 8]
}

/** Heads [0, numHeads) of attention over qkv[N, 3D] (per token [q | k | v]) into merged[N, D]. */
export function wasmAttentionHeads(
  qkv: Float32Array,
  merged: Float32Array,
  N: number,
  D: number,
  numHeads: number,
): void {
  if (N === 0) return;
  const hd = D / numHeads;
  const Mpad = Math.ceil(N / MR) * MR;
  const Npad = Math.ceil(N / NR) * NR;
  const headPanels = Math.ceil(hd / NR);
  const threads = 2 * N * N * D < MIN_WASM_PARALLEL_MACS ? 1 : Math.min(wasmThreads(), numHeads);

  let at = scratchBase();
  const take = (floats: number) => {
    const here = at;
    at = align(at + floats * 4);
    return here;
  };
  const zeros = Math.max(Npad, Mpad, headPanels * NR);
  const layout: HeadsLayout = {
    N,
    D,
    numHeads,
    qkvAt: take(N * 3 * D + NR), // + slack: the last head's padded columns read past the end
    zerosAt: take(zeros),
    mergedAt: take(N * D),
  };
  const scratch = Array.from({ length: threads }, (): HeadScratch => ({
    qAt: take(Mpad * hd),
    kAt: take(Npad * hd),
    scoresAt: take(Mpad * Npad),
    pAt: take(Mpad * N),
    outAt: take(Mpad * headPanels * NR),
  }));
  const mem = memoryF32(at);
  const qkvF = layout.qkvAt >> 2;
  mem.set(qkv.subarray(0, N * 3 * D), qkvF);
  zeroFloats(qkvF + N * 3 * D, NR);
  zeroFloats(layout.zerosAt >> 2, zeros);
  for (const s of scratch) zeroFloats(s.pAt >> 2, Mpad * N);

  const kernels = wasmKernels();
  if (threads === 1) {
    headsRange(kernels, mem, layout, scratch[0], 0, numHeads);
  } else {
    const bounds = splitPoints(numHeads, threads);
    const jobs = Array.from({ length: threads - 1 }, (_, w): HeadsJob => ({
      kind: "wasm_heads",
      layout,
      scratch: scratch[w + 1],
      h0: bounds[w + 1],
      h1: bounds[w + 2],
    }));
    splitWasmJobs(jobs, () => headsRange(kernels, mem, layout, scratch[0], bounds[0], bounds[1]));
  }
  merged.set(mem.subarray(layout.mergedAt >> 2, (layout.mergedAt >> 2) + N * D));
}

interface HeadsJob extends Job {
  kind: "wasm_heads";
  layout: HeadsLayout;
  scratch: HeadScratch;
  h0: number;
  h1: number;
}

registerJobKind<HeadsJob>("wasm_heads", (job) =>
  headsRange(kernelsHere(), memoryHere(), job.layout, job.scratch, job.h0, job.h1),
);

/** Heads [h0, h1): per head, scores = q_h k_h^T, P = softmax(scores * scale), merged[:, head] = P v_h. */
function headsRange(
  kernels: WasmKernels,
  mem: Float32Array,
  L: HeadsLayout,
  s: HeadScratch,
  h0: number,
  h1: number,
): void {
  const { N, D, numHeads } = L;
  const hd = D / numHeads;
  const scale = hd ** -0.5;
  const rowTiles = Math.ceil(N / MR);
  const tokenPanels = Math.ceil(N / NR);
  const headPanels = Math.ceil(hd / NR);
  const Npad = tokenPanels * NR;
  const qkvF = L.qkvAt >> 2;
  for (let h = h0; h < h1; h++) {
    packPanels(mem, qkvF + h * hd, 3 * D, N, hd, MR, mem, s.qAt >> 2); // q_h rows
    packPanels(mem, qkvF + D + h * hd, 3 * D, N, hd, NR, mem, s.kAt >> 2); // k_h rows = columns of k_h^T
    // scores[Mpad, Npad] = q_h @ k_h^T
    kernels.gemm_tiles(
      s.qAt,
      hd,
      s.kAt,
      NR * 4,
      NR * 4 * hd,
      s.scoresAt,
      Npad * 4,
      rowTiles,
      tokenPanels,
      L.zerosAt,
      L.zerosAt,
      0,
    );
    kernels.softmax_panels(s.scoresAt, Npad * 4, N, N, scale, s.pAt);
    // out[Mpad, hd] = P @ v_h, v_h read in place: B[k, j] = qkv[k*3D + 2D + h*hd + j]
    const vAt = L.qkvAt + (2 * D + h * hd) * 4;
    kernels.gemm_tiles(
      s.pAt,
      N,
      vAt,
      3 * D * 4,
      NR * 4,
      s.outAt,
      headPanels * NR * 4,
      rowTiles,
      headPanels,
      L.zerosAt,
      L.zerosAt,
      0,
    );
    for (let i = 0; i < N; i++) {
      const from = (s.outAt >> 2) + i * headPanels * NR;
      mem.copyWithin((L.mergedAt >> 2) + i * D + h * hd, from, from + hd);
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
