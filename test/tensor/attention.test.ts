import { test } from "uvu";
import * as assert from "uvu/assert";
import { multiHeadSelfAttention, type AttentionParams } from "../../src/tensor/attention.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { zeros } from "../../src/tensor/tensor.ts";
import { syntheticParameter } from "../../src/models/synthetic.ts";
import { fixture, assertClose } from "../golden.ts";

const golden = fixture("kernel_attention");
const TOL = 1e-5;
const D = 192;

// Same names as tools/golden/gen_transformer_kernels.py attention_weights().
const qkvWeight = syntheticParameter("attn.qkv.weight", [3 * D, D]);
const qkvBias = syntheticParameter("attn.qkv.bias", [3 * D]);
const projWeight = syntheticParameter("attn.proj.weight", [D, D]);
const projBias = syntheticParameter("attn.proj.bias", [D]);

// case -> [N, heads, qkv bias?, proj bias?]
const CASES: Record<string, [number, number, boolean, boolean]> = {
  n197_h3: [197, 3, true, true],
  n197_h6_noqkvbias: [197, 6, false, true],
  n16_h1: [16, 1, true, true],
  n16_h2_noprojbias: [16, 2, true, false],
  n1_h1: [1, 1, true, true],
  n1_h2: [1, 2, true, true],
  n1_h3: [1, 3, false, true],
  n1_h6: [1, 6, true, true],
};

test("multiHeadSelfAttention matches timm Attention (1, 2, 3, 6 heads; N = 1, 16, 197; biases null)", () => {
  for (const [name, [n, numHeads, useQkvBias, useProjBias]] of Object.entries(CASES)) {
    const x = syntheticTensor(`attn.x${n}`, [n, D], 2);
    const params: AttentionParams = {
      qkvWeight,
      qkvBias: useQkvBias ? qkvBias : null,
      projWeight,
      projBias: useProjBias ? projBias : null,
      numHeads,
    };
    assertClose(multiHeadSelfAttention(x, params), golden.get(name), TOL, name);
  }
});

test("attention reports qkv + q@k^T + attn@v + proj MACs", () => {
  const n = 16;
  const x = syntheticTensor(`attn.x${n}`, [n, D], 2);
  const { macs } = countMacs(() =>
    multiHeadSelfAttention(x, { qkvWeight, qkvBias, projWeight, projBias, numHeads: 3 }),
  );
  assert.is(macs, n * D * 3 * D + 2 * n * n * D + n * D * D);
});

test("attention errors name the parameter and both shapes", () => {
  const base = { qkvWeight, qkvBias, projWeight, projBias, numHeads: 3 };
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, 191]), base),
    /^multiHeadSelfAttention: numHeads 3 must be a positive integer dividing D = 191/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, D]), { ...base, numHeads: 0 }),
    /numHeads 0 must be a positive integer/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([1, 4, D]), base),
    /^multiHeadSelfAttention: x must have rank 2, got shape \[1, 4, 192\]$/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, D]), { ...base, qkvWeight: zeros([D, 3 * D]) }),
    /^multiHeadSelfAttention: qkvWeight must have shape \[576, 192\], got \[192, 576\]$/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, D]), { ...base, qkvBias: zeros([D]) }),
    /qkvBias must have shape \[576\], got \[192\]/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, D]), { ...base, projWeight: zeros([D, 2 * D]) }),
    /projWeight must have shape \[192, 192\], got \[192, 384\]/,
  );
  assert.throws(
    () => multiHeadSelfAttention(zeros([4, D]), { ...base, projBias: zeros([3 * D]) }),
    /projBias must have shape \[192\], got \[576\]/,
  );
});

test.run();
