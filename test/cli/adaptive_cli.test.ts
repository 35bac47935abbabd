// `papr classify --adaptive BUDGET` end to end with the default weights and their trained thresholds
// (weights/vit-scenes/adaptive-thresholds.json): the tokens per block, the trace's per-block records, the
// explain picture's fourth panel, and the refusals (no thresholds file, unknown budget, two methods).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAdaptiveThresholds } from "../../src/papr/adaptive_pruning.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WEIGHTS = join(ROOT, "weights/vit-scenes");
const SCENE = join(ROOT, "examples/web/images/scene-test-0000-bag.png");
const dir = mkdtempSync(join(tmpdir(), "papr-adaptive-cli-"));
const budgets = parseAdaptiveThresholds(
  readFileSync(join(WEIGHTS, "adaptive-thresholds.json"), "utf8"),
  "thresholds",
).budgets.map((b) => b.budget);

/** `papr classify` with the backbone that has thresholds (weights/vit-scenes; a later --weights overrides it). */
function classify(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "classify", "--weights", WEIGHTS, ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("classify --adaptive: tokens per block fall at the pruning blocks; trace records; four-panel explain", () => {
  const budget = String(Math.min(...budgets));
  const explain = join(dir, "adaptive.png");
  const trace = join(dir, "adaptive.json");
  const r = classify(SCENE, "--z", "1", "--adaptive", budget, "--explain", explain, "--trace", trace);
  assert.is(r.code, 0, r.err);
  const m = new RegExp(
    `kept 196 of 196 patches, then adaptive budget ${budget}\\(1: >= [0-9.e-]+, 3: >= [0-9.e-]+, 4: >= [0-9.e-]+\\): tokens per block 197 197 (\\d+) (\\d+) (\\d+) (\\d+) -> (\\d+)`,
  ).exec(r.out);
  assert.ok(m, r.out);
  const [t2, t3, t4, t5, last] = m!.slice(1).map(Number);
  assert.ok(t2 < 197 && t3 === t2 && t4 <= t3 && t5 <= t4 && last === t5, r.out);
  const json = JSON.parse(readFileSync(trace, "utf8"));
  assert.equal(
    json.blocks.filter((b: { pruned?: unknown }) => b.pruned).map((b: { block: number }) => b.block),
    [1, 3, 4],
  );
  assert.is(json.blocks[1].pruned.dropped.length, 197 - t2);
  const width = readFileSync(explain).readUInt32BE(16);
  assert.is(width, 4 * 224 + 3 * 8, "four panels of 224 px with 8 px gaps");
  // after PaPr: fewer tokens enter, the thresholds still drop some
  const p = classify(SCENE, "--z", "0.5", "--adaptive", budget);
  assert.is(p.code, 0, p.err);
  assert.match(p.out, /kept 98 of 196 patches, then adaptive budget [0-9.]+\(.*\): tokens per block 99 99 \d+/);
});

test("classify --adaptive: no thresholds file, an unknown budget, two methods at once are refused", () => {
  const bare = join(dir, "bare");
  spawnSync("mkdir", [bare]);
  for (const f of ["config.json", "model.safetensors"]) symlinkSync(join(WEIGHTS, f), join(bare, f));
  const none = classify(SCENE, "--weights", bare, "--adaptive", "0.5");
  assert.ok(none.code !== 0 && !/    at /.test(none.err), none.err);
  assert.match(none.err, /adaptive-thresholds\.json: no adaptive-pruning thresholds beside this backbone/);
  const unknown = classify(SCENE, "--adaptive", "0.123");
  assert.ok(unknown.code !== 0 && !/    at /.test(unknown.err), unknown.err);
  assert.match(unknown.err, /no thresholds for budget 0\.123; the file has /);
  const two = classify(SCENE, "--adaptive", String(budgets[0]), "--tome", "4");
  assert.ok(two.code !== 0 && !/    at /.test(two.err), two.err);
  assert.match(two.err, /give at most one of --tome, --attention-keep and --adaptive/);
});

test.run();
