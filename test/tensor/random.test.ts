import { test } from "uvu";
import * as assert from "uvu/assert";
import { Mulberry32, fnv1a, syntheticTensor } from "../../src/tensor/random.ts";
import { fixture } from "../golden.ts";

const golden = fixture("random");

test("Mulberry32 matches the Python generator bit for bit", () => {
  const rng = new Mulberry32(12345);
  const ours = Array.from({ length: 8 }, () => Math.fround(rng.uniform()));
  assert.equal(ours, [...golden.get("mulberry32_12345").data]);
});

test("fnv1a matches Python", () => {
  const expected = golden.get("fnv1a").data;
  assert.is(fnv1a("") >>> 16, expected[0]);
  assert.is(fnv1a("patch_embed.proj.weight") & 0xffff, expected[1]);
});

test("syntheticTensor matches Python exactly (name-seeded and with a seed)", () => {
  assert.equal(
    [...syntheticTensor("blocks.0.attn.qkv.weight", [6, 5], 0.02).data],
    [...golden.get("synthetic_blocks.0.attn.qkv.weight").data],
  );
  assert.equal([...syntheticTensor("x", [1000], 3.0, 7).data], [...golden.get("synthetic_seed7").data]);
});

test.run();
