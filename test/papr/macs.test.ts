// The paper's cost table (PAPR-SPEC.md section 2), reproduced from the MAC formulas.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { blockMacs, vitCost, type VitCostConfig } from "../../src/papr/macs.ts";
import { keepCount } from "../../src/papr/ranking.ts";
import { createMobileOne, mobileoneSpec } from "../../src/models/mobileone.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { countMacs } from "../../src/tensor/macs.ts";
import { zeros } from "../../src/tensor/tensor.ts";

// The proposer's cost as PaPr runs it (features only), counted by the kernels of our MobileOne-S0.
const mobileone = createMobileOne({}, syntheticWeights(mobileoneSpec({})));
const input = zeros([1, 3, 224, 224]);
const MOBILEONE_S0 = countMacs(() => mobileone.features(input)).macs;

function augreg(embedDim: number, depth: number, patchSize: number): VitCostConfig {
  return {
    imageSize: 224,
    patchSize,
    inChannels: 3,
    embedDim,
    depth,
    mlpRatio: 4,
    numClasses: 1000,
    numPrefixTokens: 1,
  };
}
const vitB = augreg(768, 12, 16);
const vitL = augreg(1024, 24, 16);
const vitH = augreg(1280, 32, 14);

function gmacs(c: VitCostConfig, z: number | null): number {
  const numPatches = (c.imageSize / c.patchSize) ** 2;
  if (z === null) return vitCost(c, new Array(c.depth).fill(numPatches + 1)).total / 1e9;
  const tokens = 1 + keepCount(z, numPatches, 1);
  return vitCost(c, new Array(c.depth).fill(tokens), MOBILEONE_S0).total / 1e9;
}

const within = (actual: number, expected: number, what: string, tol = 0.05) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual.toFixed(3)} G, paper ${expected} G`);

test("block MACs = 12 N D^2 + 2 N^2 D (+ 10 N D for the two layer norms)", () => {
  assert.is(blockMacs(197, 768), 12 * 197 * 768 ** 2 + 2 * 197 ** 2 * 768 + 10 * 197 * 768);
});

test("MobileOne-S0 counts the paper's 0.275 GMACs (whole classifier; PaPr runs its features only)", () => {
  within(countMacs(() => mobileone.forward(input)).macs / 1e9, 0.275, "MobileOne-S0 forward", 0.001);
  within(MOBILEONE_S0 / 1e9, 0.274, "MobileOne-S0 features", 0.001);
});

test("ViT-B/16 unpruned: 17.56-17.59 G", () => {
  const g = gmacs(vitB, null);
  assert.ok(g >= 17.56 - 0.05 && g <= 17.59 + 0.05, `${g}`);
});

test("ViT-B/16 + MobileOne-S0 over z reproduces the paper's row", () => {
  const row: [number, number][] = [
    [0.3, 5.55],
    [0.4, 7.22],
    [0.5, 8.98],
    [0.6, 10.76],
    [0.7, 12.46],
    [0.8, 14.27],
    [0.9, 16.09],
  ];
  for (const [z, expected] of row) within(gmacs(vitB, z), expected, `z=${z}`);
});

test("ViT-L/16 and ViT-H/14 at z = 0.5 and unpruned", () => {
  within(gmacs(vitL, 0.5), 30.8, "ViT-L z=0.5");
  within(gmacs(vitL, null), 61.6, "ViT-L baseline");
  within(gmacs(vitH, 0.5), 83.0, "ViT-H z=0.5");
  within(gmacs(vitH, null), 167.4, "ViT-H baseline");
});

test("keep count: official floor(n z) counts the class token; patch-only convention", () => {
  assert.is(keepCount(0.5, 196, 1), 98);
  assert.is(keepCount(1, 196, 1), 196);
  assert.is(keepCount(0.3, 196, 1), 59);
  assert.is(keepCount(0.5, 196, 0), 98);
  assert.is(keepCount(0.3, 196, 1, "patches"), 58);
  assert.is(keepCount(0.001, 196, 1), 1);
  for (const bad of [0, -0.1, 1.5, NaN, Infinity])
    assert.throws(() => keepCount(bad, 196, 1), /keep ratio z must be a number in \(0, 1\]/);
});

test.run();
