// Issue #14, checkpoint loaders: every hostile file reported by users (and a few close relatives)
// is refused with a clean one-line error naming the file, within 5 s and 500 MB (loaders_cases.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOSTILE_CASES, judgeHostile, measure } from "./loaders_cases.ts";

const scratch = mkdtempSync(join(tmpdir(), "papr-fuzz-loaders-"));

HOSTILE_CASES.forEach((c, i) => {
  test(`${c.area}: ${c.name}`, () => {
    const dir = join(scratch, String(i));
    const { run, file } = c.setup(dir);
    const outcome = measure(run);
    if (file === "skipped") return console.log(`skipped: ${c.name} (${(outcome.threw as Error).message})`);
    const wrong = judgeHostile(c, file, outcome);
    assert.is(wrong, null, `${c.area}: ${c.name}: ${wrong}`);
  });
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
