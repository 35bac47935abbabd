// A seeded pseudo-random generator implemented identically in Python
// (tools/golden/common.py) so both sides can build the same large synthetic
// weights without committing them.
//
//   state: uint32, seeded with fnv1a(name) ^ seed
//   mulberry32 step -> uint32 u
//   uniform in [0, 1): (u >>> 8) / 2^24      (exact in float32)
//   syntheticWeight(name, shape, scale): scale * (2 * uniform - 1)

import { Tensor, sizeOf, type Shape } from "./tensor.ts";

/** FNV-1a 32-bit hash of a string's UTF-8 bytes. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Mulberry32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1) with 24 bits: exactly representable in float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }
}

/** Deterministic tensor for a parameter name: values in [-scale, scale). */
export function syntheticTensor(name: string, shape: Shape, scale: number, seed = 0): Tensor {
  const rng = new Mulberry32((fnv1a(name) ^ seed) >>> 0);
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = scale * (2 * rng.uniform() - 1);
  return new Tensor(out, shape);
}
