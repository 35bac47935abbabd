// The helpers every loader's error message goes through (src/tensor/quote.ts) and the limits table
// merge (src/tensor/limits.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { escapePath, escapeText, listSome, quote } from "../../src/tensor/quote.ts";
import { withLimits } from "../../src/tensor/limits.ts";

test("control characters are escaped, long names cut with their length", () => {
  assert.is(escapeText("a\u001b[31mb\u0007\u0000\u009b\u2028"), "a\\x1b[31mb\\x07\\x00\\x9b\\u2028");
  assert.is(quote("x".repeat(200), 10), `'${"x".repeat(10)}... (200 chars)'`);
  assert.is(quote("conv1.weight"), "'conv1.weight'");
});

test("lists stop after a few items and say how many are left", () => {
  assert.is(listSome(["a", "b"]), "a, b");
  assert.is(
    listSome(
      Array.from({ length: 1_500_000 }, (_, i) => `t${i}`),
      3,
    ),
    "t0, t1, t2, ... and 1499997 more",
  );
});

test("a long path keeps its end, where the file name is", () => {
  const path = `/${"deep/".repeat(100)}model.json`;
  assert.ok(escapePath(path).endsWith("/deep/model.json"));
  assert.ok(escapePath(path).length < 200);
});

test("withLimits takes only the table's keys and only numbers", () => {
  const defaults = { maxA: 10, maxB: 20 };
  assert.equal(withLimits(defaults, { maxA: 5, maxB: undefined, key: "model", other: 1 }), { maxA: 5, maxB: 20 });
  assert.equal(withLimits(defaults), defaults);
});

test.run();
