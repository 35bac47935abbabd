// Shared checks for the ViT / DeiT goldens written by tools/golden/gen_vit.py.
//
// Tolerances: embed() and one block are a handful of float32 kernels: 1e-5 (ARCHITECTURE.md). Whole models
// (12 blocks, then norm and head): 1e-4, the project's whole-model tolerance; our kernels sum in float64
// while PyTorch sums in float32, and the difference compounds through the residual stream (observed
// errors are printed by the tests that use this file).
import * as assert from "uvu/assert";
import { createVit, vitSpec, type Vit, type VitConfig } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { gatherRows } from "../../src/tensor/shape.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { goldenInput, goldenSpec, specLines } from "./model_golden.ts";

export type Fixture = ReturnType<typeof fixture>;
export const STEP_TOL = 1e-5;
export const MODEL_TOL = 1e-4;
export const INPUT_SHAPE = [1, 3, 224, 224];

/** The VitConfig the generator used (its dataclass, snake_case -> camelCase). */
export function fixtureConfig(golden: Fixture): VitConfig {
  const raw = JSON.parse(golden.metadata?.config ?? "null") as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]),
  ) as unknown as VitConfig;
}

/** The shared input (rand("vit.input", [1,3,224,224])), checked against the committed first values. */
export function vitInput(golden: Fixture): Tensor {
  return goldenInput(golden, "vit.input", INPUT_SHAPE);
}

/** Rows [from, to) of x[n, D]. */
export function rows(x: Tensor, from: number, to: number): Tensor {
  return gatherRows(
    x,
    Array.from({ length: to - from }, (_, i) => from + i),
  );
}

/** Mean over the rows of x[n, D] -> [D]. */
export function meanRows(x: Tensor): Tensor {
  const [n, D] = x.shape;
  const out = new Float64Array(D);
  for (let r = 0; r < n; r++) for (let j = 0; j < D; j++) out[j] += x.data[r * D + j] / n;
  return new Tensor(Float32Array.from(out), [D]);
}

/** The prefix tokens, then patch rows prefix + patches[i] (the generator's pruned set). */
export function prunedTokens(vit: Vit, tokens: Tensor, patches: ArrayLike<number>): Tensor {
  const prefix = vit.config.numPrefixTokens;
  const keep = [...Array.from({ length: prefix }, (_, i) => i), ...Array.from(patches, (p) => prefix + p)];
  return gatherRows(tokens, keep);
}

/**
 * Builds the model from syntheticWeights(vitSpec(config)) after checking the spec against the generator's,
 * and compares embed, block 0, the logits and (when committed) the logits of the pruned token set.
 * Returns the relative errors, for the log.
 */
export function checkVitGolden(name: string, config: VitConfig): Record<string, number> {
  const golden = fixture(`vit_${name}`);
  assert.equal(config, fixtureConfig(golden), "config = the generator's config");
  const spec = vitSpec(config);
  assert.equal(
    specLines(spec),
    specLines(goldenSpec(golden)),
    "vitSpec = the PyTorch module's state_dict names and shapes",
  );
  const vit = createVit(config, syntheticWeights(spec));
  const x = vitInput(golden);
  const errors: Record<string, number> = {};
  const check = (what: string, actual: Tensor, key: string, tol: number) => {
    errors[what] = relativeError(actual, golden.get(key));
    assertClose(actual, golden.get(key), tol, `${name} ${what}`);
  };

  const tokens = vit.embed(x);
  assert.equal(tokens.shape, [vit.config.numPrefixTokens + vit.config.numPatches, config.embedDim]);
  check("embed first rows", rows(tokens, 0, 6), "embed_first", STEP_TOL);
  check("embed mean", meanRows(tokens), "embed_mean", STEP_TOL);
  const after0 = vit.block(0, tokens);
  check("block0 first rows", rows(after0, 0, 6), "block0_first", STEP_TOL);
  check("block0 last rows", rows(after0, after0.shape[0] - 2, after0.shape[0]), "block0_last", STEP_TOL);
  check("block0 mean", meanRows(after0), "block0_mean", STEP_TOL);
  let h = after0;
  for (let i = 1; i < vit.numBlocks; i++) h = vit.block(i, h);
  check("logits", vit.head(h), "logits", MODEL_TOL);
  if (golden.keys.includes("logits_pruned")) {
    const kept = prunedTokens(vit, tokens, golden.get("pruned_patches").data);
    check("pruned logits", vit.head(vit.blocks(kept)), "logits_pruned", MODEL_TOL);
  }
  return errors;
}

export function formatErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([k, v]) => `${k} ${v.toExponential(1)}`)
    .join(", ");
}
