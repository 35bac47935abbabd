import { test } from "uvu";
import * as assert from "uvu/assert";
import { argsortDescending, topk } from "../../src/tensor/sort.ts";
import { fixture } from "../golden.ts";

const golden = fixture("kernel_sort");

test("argsortDescending equals torch.sort(stable=True, descending=True): many ties, patch scores, -0 vs 0", () => {
  for (const name of ["ties", "scores", "zeros"]) {
    const order = argsortDescending(golden.get(`${name}.values`));
    assert.ok(order instanceof Int32Array);
    assert.equal([...order], [...golden.get(`${name}.argsort`).data], name);
  }
});

test("topk with ties returns the first k of the stable descending sort", () => {
  const values = golden.get("ties.values");
  const { values: top, indices } = topk(values, 10);
  assert.equal([...indices], [...golden.get("ties.top10.indices").data]);
  assert.equal([...top], [...golden.get("ties.top10.values").data]);
  assert.equal([...topk(values.data, 0).indices], []);
  assert.equal(topk(values, 50).indices.length, 50);
});

test("NaN sorts last (after -Infinity), NaNs in index order; torch would put NaN first", () => {
  const values = [1, NaN, 3, -Infinity, NaN, 3, Infinity];
  assert.equal([...argsortDescending(values)], [6, 2, 5, 0, 3, 1, 4]);
  assert.equal([...topk(Float32Array.from(values), 3).indices], [6, 2, 5]);
});

test("argsortDescending leaves its input unchanged; topk rejects a bad k naming it", () => {
  const values = Float32Array.from([2, 1, 3]);
  argsortDescending(values);
  assert.equal([...values], [2, 1, 3]);
  assert.throws(() => topk(values, 4), /^topk: k = 4 must be an integer in \[0, 3\] \(number of values\)$/);
  assert.throws(() => topk(values, -1), /k = -1/);
  assert.throws(() => topk(values, 1.5), /k = 1\.5/);
});

test.run();
