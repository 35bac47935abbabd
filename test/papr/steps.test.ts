// The PaPr steps one by one, on hand-checkable inputs. (The end-to-end golden against a
// PyTorch reference is in papr_golden.test.ts.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { proposalMap } from "../../src/papr/proposal.ts";
import { patchSignificance } from "../../src/papr/significance.ts";
import { keepMask, keptPatches, rankPatches } from "../../src/papr/ranking.ts";
import { pruneTokens } from "../../src/papr/prune.ts";
import { tensor } from "../../src/tensor/tensor.ts";

test("proposal map = mean over channels, signs kept (no abs, no softmax)", () => {
  // F [1, 2, 1, 3]: channel 0 = [1, -4, 3], channel 1 = [3, 0, -7]
  const R = proposalMap(tensor([1, -4, 3, 3, 0, -7], [1, 2, 1, 3]));
  assert.equal(R.shape, [1, 3]);
  assert.equal([...R.data], [2, -2, -2]);
  assert.throws(
    () => proposalMap(tensor([1, 2], [2, 1, 1, 1])),
    /proposalMap: features must hold one image, got batch 2/,
  );
  assert.throws(() => proposalMap(tensor([1, 2], [2, 1])), /proposalMap: features must have rank 4/);
});

test("significance: align_corners keeps the corners of the proposal map exactly", () => {
  const R = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3]);
  const P = patchSignificance(R, [5, 5]);
  assert.equal(P.shape, [5, 5]);
  assert.is(P.data[0], 0);
  assert.is(P.data[4], 2);
  assert.is(P.data[20], 6);
  assert.is(P.data[24], 8);
  assert.is(P.data[12], 4); // the centre maps onto the centre sample
});

test("ranking is descending and stable: ties keep the lower patch index first", () => {
  const ranking = rankPatches(tensor([0.5, 0.9, 0.5, 0.9, 0.1, 0.5], [2, 3]));
  assert.equal([...ranking], [1, 3, 0, 2, 5, 4]);
  assert.equal([...keptPatches(ranking, 4)], [1, 3, 0, 2]);
  assert.equal([...keptPatches(ranking, 4, "spatial")], [0, 1, 2, 3]);
  assert.equal([...keepMask(keptPatches(ranking, 3), 6)], [1, 1, 0, 1, 0, 0]);
});

test("pruneTokens keeps the prefix tokens first, then the kept patch rows in the given order", () => {
  // 1 class token + 4 patches, D = 2: row r = [r, 10 r]
  const tokens = tensor([0, 0, 1, 10, 2, 20, 3, 30, 4, 40], [5, 2]);
  const pruned = pruneTokens(tokens, 1, Int32Array.from([3, 0]));
  assert.equal(pruned.shape, [3, 2]);
  assert.equal([...pruned.data], [0, 0, 4, 40, 1, 10]);
  assert.throws(() => pruneTokens(tokens, 1, Int32Array.from([4])), /pruneTokens: kept patch index 4 outside 0..3/);
});

test.run();
