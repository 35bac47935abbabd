// Mirror of tools/golden/he_gain.py: every weight of rank >= 2 times float32(sqrt 2), so that deep
// plain ConvNets with synthetic weights still depend on their input (see that file for the numbers).
import { Tensor } from "../../src/tensor/tensor.ts";

const GAIN = Math.fround(Math.SQRT2);

export function withHeGain(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of weights) {
    if (t.rank < 2) {
      out.set(name, t);
      continue;
    }
    const data = new Float32Array(t.size);
    for (let i = 0; i < t.size; i++) data[i] = t.data[i] * GAIN; // float32 x float32, rounded once: as torch
    out.set(name, new Tensor(data, t.shape));
  }
  return out;
}
