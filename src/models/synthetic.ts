// Seeded synthetic weights for any model, from its list of parameter names and
// shapes. Mirrored exactly by `synthetic_weights` in tools/golden/common.py, so
// golden tests at real model size commit only inputs and outputs, never weights.
//
// Rule per parameter (U = syntheticTensor(name, shape, 1, seed), values in [-1, 1)):
//   *.running_var            1 + 0.5 U        (positive)
//   *.running_mean           0.1 U
//   rank-1 *.weight          1 + 0.1 U        (norm scales)
//   *.bias                   0.05 U
//   rank >= 2 weights        sqrt(3 / fanIn) U, fanIn = product of shape[1:]
//   anything else (tokens, position embeddings, layer scales)  0.1 U
import { syntheticTensor } from "../tensor/random.ts";
import { Tensor, type Shape } from "../tensor/tensor.ts";

export function syntheticParameter(name: string, shape: Shape, seed = 0): Tensor {
  const at = (scale: number, offset = 0) => {
    const t = syntheticTensor(name, shape, scale, seed);
    if (offset !== 0) for (let i = 0; i < t.size; i++) t.data[i] = offset + t.data[i];
    return t;
  };
  if (name.endsWith("running_var")) return at(0.5, 1);
  if (name.endsWith("running_mean")) return at(0.1);
  if (name.endsWith(".weight") && shape.length === 1) return at(0.1, 1);
  if (name.endsWith(".bias")) return at(0.05);
  if (name.endsWith(".weight") && shape.length >= 2) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return at(Math.sqrt(3 / fanIn));
  }
  return at(0.1);
}

/** Synthetic weights for every (name, shape) a model expects. */
export function syntheticWeights(spec: Map<string, number[]>, seed = 0): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, shape] of spec) out.set(name, syntheticParameter(name, shape, seed));
  return out;
}
