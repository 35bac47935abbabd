// ToMe against the plain-PyTorch reference of tools/golden/tome_ref.py (gen_tome.py): same synthetic
// weights on both sides; after every block the merged token sets (which embedding rows each token holds)
// must be equal exactly, and the logits within 1e-4 relative. The generator refuses inputs with near-ties
// (a decision margin < 2e-5, or a float64 rerun deciding differently), so exact set equality is fair.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { createResNet, resnetSpec } from "../../src/models/resnet.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { blockMacs } from "../../src/papr/macs.ts";
import {
  embedRowsOf,
  runReducedBlocks,
  runWithTokenReduction,
  withBlockParams,
} from "../../src/papr/token_reduction.ts";
import { paprTomeSchedule, tome, tomeSchedule } from "../../src/papr/tome.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const MODEL_TOL = 1e-4; // whole-network float32 tolerance (ARCHITECTURE.md)

function backbone(preset: string) {
  const config = vitConfig(preset);
  const weights = syntheticWeights(vitSpec(config));
  return withBlockParams(createVit(config, weights), weights);
}

/** Compares the per-block groups [depth, rows] and token counts with the fixture's case. */
function assertGroups(
  golden: ReturnType<typeof fixture>,
  key: string,
  groupsPerBlock: Int32Array[],
  tokensOut: number[],
) {
  const groups = golden.get(`groups_${key}`);
  const rows = groups.shape[1];
  groupsPerBlock.forEach((g, i) => {
    const expected = [...groups.data.subarray(i * rows, (i + 1) * rows)];
    if ([...g].join() !== expected.join()) {
      const first = expected.findIndex((e, j) => e !== g[j]);
      assert.unreachable(
        `${key}: block ${i} groups differ first at embed row ${first}: got ${g[first]}, expected ${expected[first]}`,
      );
    }
  });
  assert.equal(tokensOut, [...golden.get(`tokens_${key}`).data], `${key}: tokens leaving each block`);
}

const x = syntheticTensor("tome.input", [1, 3, 224, 224], 1);

for (const [name, preset] of [
  ["tome_deit_tiny", "deit_tiny_patch16_224"],
  ["tome_deit_tiny_distilled", "deit_tiny_distilled_patch16_224"],
  ["tome_deit_small", "deit_small_patch16_224"],
] as const) {
  test(`${name}: merged sets after every block equal, logits within 1e-4`, () => {
    const golden = fixture(name);
    const vit = backbone(preset);
    const rows = vit.config.numPrefixTokens + vit.config.numPatches;
    for (const key of golden.metadata.cases.split(",")) {
      const r = Number(key.slice(1));
      const run = runReducedBlocks(
        vit,
        vit.embed(x),
        embedRowsOf(
          vit.config.numPrefixTokens,
          Int32Array.from({ length: vit.config.numPatches }, (_, i) => i),
        ),
        tome({ schedule: tomeSchedule(vit.numBlocks, r) }),
      );
      assertGroups(
        golden,
        key,
        run.groupsPerBlock,
        run.blocks.map((b) => b.tokensOut),
      );
      assertClose(vit.head(run.tokens), golden.get(`logits_${key}`), MODEL_TOL, `${name} ${key} logits`);
      // bookkeeping: each block merges r tokens, sizes count the embedding rows each token holds
      run.blocks.forEach((b) => {
        assert.is(b.tokensOut, b.tokensIn - b.merges!.r);
        assert.ok(b.merges!.margin > 0, `block ${b.block}: a positive decision margin`);
      });
      assert.is(run.blocks[0].tokensIn, rows);
      const held = new Array(run.tokens.shape[0]).fill(0);
      for (const g of run.groupOf) held[g] += 1;
      assert.equal([...run.size], held, "size = number of embedding rows a token holds");
    }
  });
}

test("tome_papr_deit_tiny_r18: PaPr (ResNet-18, z = 0.5) + ToMe r = 8 in the second half, end to end", () => {
  const golden = fixture("tome_papr_deit_tiny_r18");
  const vit = backbone("deit_tiny_patch16_224");
  const proposer = createResNet({ depth: 18 }, syntheticWeights(resnetSpec({ depth: 18 })));
  const schedule = paprTomeSchedule(vit.numBlocks, 8, 0.5);
  assert.equal(schedule, [0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8]);
  const result = runWithTokenReduction(
    vit,
    proposer,
    syntheticTensor("papr.input_r18", [1, 3, 224, 224], 1),
    tome({ schedule }),
    { z: 0.5 },
  );
  assert.equal([...result.kept], [...golden.get("kept").data], "PaPr's kept patches");
  assertGroups(golden, "z0.5_r8", result.reduction.groupsPerBlock, result.tokensAfterBlock);
  assertClose(result.logits, golden.get("logits_z0.5_r8"), MODEL_TOL, "PaPr + ToMe logits");
  // first half: plain PaPr blocks (99 tokens); second half: 8 fewer tokens per block
  assert.equal(result.tokensPerBlock, [99, 99, 99, 99, 99, 99, 99, 91, 83, 75, 67, 59]);
  assert.equal(result.macs.blocks.slice(0, 6), new Array(6).fill(blockMacs(99, 192)));
  assert.ok(
    result.macs.total - result.macs.proposer < result.unprunedMacs.total / 2,
    "the backbone costs less than half",
  );
  assert.ok(result.macs.proposer > 1e9, "the proposer's MACs are counted (ResNet-18: 1.8 G)");
  assert.ok(
    result.reduction.blocks.slice(6).every((b) => b.overheadMacs > 0),
    "the matching cost is reported",
  );

  // the golden can fail: the same PaPr tokens with ToMe in every block give other logits
  const everyBlock = runWithTokenReduction(
    vit,
    proposer,
    syntheticTensor("papr.input_r18", [1, 3, 224, 224], 1),
    tome({ schedule: tomeSchedule(12, 8) }),
    { z: 0.5 },
  );
  assert.ok(relativeError(everyBlock.logits, golden.get("logits_z0.5_r8")) > 10 * MODEL_TOL);
});

test.run();
