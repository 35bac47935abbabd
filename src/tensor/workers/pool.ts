// Placeholder until the worker pool lands: everything runs on the calling thread.
import { gemm, type Gemm } from "../gemm.ts";

export function runGemm(g: Gemm): void {
  gemm(g);
}
