// Attention-score token pruning against the plain-PyTorch reference of tools/golden/tome_ref.py
// (gen_attention_pruning.py): same synthetic weights; the kept token sets after every block must be equal,
// the stage scores within 1e-5 and the logits within 1e-4 relative. The generator refuses near-ties
// (decision margins < 2e-5 of the mean score, or a float64 rerun deciding differently).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { multiHeadSelfAttentionEx } from "../../src/tensor/attention_variants.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { pruneTokens } from "../../src/papr/prune.ts";
import { attentionPruning, type HeadWeighting, type PruneStage } from "../../src/papr/attention_pruning.ts";
import { embedRowsOf, runReducedBlocks, withBlockParams } from "../../src/papr/token_reduction.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const MODEL_TOL = 1e-4; // whole-network float32 tolerance (ARCHITECTURE.md)
const KERNEL_TOL = 1e-5; // float32 kernels

test("attention taps (keyBias, keys averaged over heads, class rows) match torch", () => {
  const golden = fixture("attnprune_attention_taps");
  const D = 24;
  // the block's weights as load_synthetic filled them (names of vit_ref.Block)
  const spec = new Map<string, number[]>([
    ["attn.qkv.weight", [3 * D, D]],
    ["attn.qkv.bias", [3 * D]],
    ["attn.proj.weight", [D, D]],
    ["attn.proj.bias", [D]],
  ]);
  const w = syntheticWeights(spec);
  const taps = multiHeadSelfAttentionEx(
    golden.get("normed"),
    {
      qkvWeight: w.get("attn.qkv.weight")!,
      qkvBias: w.get("attn.qkv.bias")!,
      projWeight: w.get("attn.proj.weight")!,
      projBias: w.get("attn.proj.bias")!,
      numHeads: 4,
    },
    { keyBias: golden.get("bias").data, keys: true, classRow: true },
  );
  assertClose(taps.output, golden.get("output"), KERNEL_TOL, "output");
  assertClose(taps.keyMean!, golden.get("keyMean"), KERNEL_TOL, "keyMean");
  assertClose(taps.classAttention!, golden.get("classAttention"), KERNEL_TOL, "classAttention");
  assertClose(taps.classHeadOutput!, golden.get("classHeadOutput"), KERNEL_TOL, "classHeadOutput");
});

function parseStages(text: string): PruneStage[] {
  return text.split(",").map((part) => {
    const [block, kind, value] = part.split(":");
    return kind === "keep"
      ? { block: Number(block), keepRate: Number(value) }
      : { block: Number(block), threshold: Number(value) };
  });
}

function backbone(preset: string) {
  const config = vitConfig(preset);
  const weights = syntheticWeights(vitSpec(config));
  return withBlockParams(createVit(config, weights), weights);
}

const x = syntheticTensor("tome.input", [1, 3, 224, 224], 1);

for (const [name, preset, input] of [
  ["attnprune_deit_tiny", "deit_tiny_patch16_224", x],
  ["attnprune_deit_tiny_distilled", "deit_tiny_distilled_patch16_224", x],
  ["attnprune_deit_small", "deit_small_patch16_224", x],
  ["attnprune_papr_deit_tiny_r18", "deit_tiny_patch16_224", syntheticTensor("papr.input_r18", [1, 3, 224, 224], 1)],
] as const) {
  test(`${name}: kept sets after every block equal, scores within 1e-5, logits within 1e-4`, () => {
    const golden = fixture(name);
    const vit = backbone(preset);
    const { numPrefixTokens: P, numPatches } = vit.config;
    const kept = golden.keys.includes("kept")
      ? Int32Array.from(golden.get("kept").data)
      : Int32Array.from({ length: numPatches }, (_, i) => i);
    const embedded = vit.embed(input);
    const tokens = kept.length < numPatches ? pruneTokens(embedded, P, kept) : embedded;
    for (const key of golden.metadata.cases.split(",")) {
      const stages = parseStages(golden.metadata[`stages_${key}`]);
      const headWeighting = golden.metadata[`weighting_${key}`] as HeadWeighting;
      const run = runReducedBlocks(vit, tokens, embedRowsOf(P, kept), attentionPruning({ stages, headWeighting }));
      const groups = golden.get(`groups_${key}`);
      const rows = groups.shape[1];
      run.groupsPerBlock.forEach((g, i) => {
        assert.equal(
          [...g],
          [...groups.data.subarray(i * rows, (i + 1) * rows)],
          `${key}: tokens held after block ${i}`,
        );
      });
      assert.equal(
        run.blocks.map((b) => b.tokensOut),
        [...golden.get(`tokens_${key}`).data],
        `${key}: tokens leaving each block`,
      );
      for (const stage of stages) {
        const record = run.blocks[stage.block].pruned!;
        assertClose(
          new Tensor(record.scores, [record.scores.length]),
          golden.get(`scores_${key}_${stage.block}`),
          KERNEL_TOL,
          `${key}: scores at block ${stage.block}`,
        );
        assert.ok(record.margin > 0);
        assert.is(record.dropped.length, run.blocks[stage.block].tokensIn - run.blocks[stage.block].tokensOut);
      }
      assertClose(vit.head(run.tokens), golden.get(`logits_${key}`), MODEL_TOL, `${name} ${key} logits`);
      // prefix tokens are never dropped
      for (let p = 0; p < P; p++) assert.is(run.groupOf[p], p);
    }
  });
}

test("the golden can fail: another head weighting keeps other tokens and gives other logits", () => {
  const golden = fixture("attnprune_deit_tiny");
  const vit = backbone("deit_tiny_patch16_224");
  const rows = embedRowsOf(
    1,
    Int32Array.from({ length: 196 }, (_, i) => i),
  );
  const stages = parseStages(golden.metadata["stages_keep0.7_norm"]);
  const uniform = runReducedBlocks(vit, vit.embed(x), rows, attentionPruning({ stages, headWeighting: "uniform" }));
  const g = golden.get("groups_keep0.7_norm");
  assert.not.equal([...uniform.groupOf], [...g.data.subarray(11 * 197)], "the weighting changes the kept set");
  assert.ok(relativeError(vit.head(uniform.tokens), golden.get("logits_keep0.7_norm")) > 10 * MODEL_TOL);
});

test.run();
