// docs/algorithm.md step 7: after embed() (patch embedding, prefix tokens, + pos_embed),
// keep the prefix tokens and gather the kept patch rows behind them.
import { gatherRows } from "../tensor/shape.ts";
import { Tensor, ShapeError, expectRank } from "../tensor/tensor.ts";

/** tokens [numPrefix + numPatches, D] -> [numPrefix + k, D] */
export function pruneTokens(tokens: Tensor, numPrefixTokens: number, keptPatchIndices: Int32Array): Tensor {
  expectRank("pruneTokens", "tokens", tokens, 2);
  const numPatches = tokens.shape[0] - numPrefixTokens;
  const rows = new Int32Array(numPrefixTokens + keptPatchIndices.length);
  for (let i = 0; i < numPrefixTokens; i++) rows[i] = i;
  keptPatchIndices.forEach((patch, j) => {
    if (patch < 0 || patch >= numPatches) {
      throw new ShapeError("pruneTokens", `kept patch index ${patch} outside 0..${numPatches - 1}`);
    }
    rows[numPrefixTokens + j] = numPrefixTokens + patch;
  });
  return gatherRows(tokens, rows);
}
