// Seeded mutation loop over valid safetensors, .pth and TF.js inputs (loaders_formats.ts): every
// mutant loads into well-formed tensors or is refused cleanly, within 5 s and 500 MB. A failure
// prints its format, seed and case number; `node --import tsx scripts/fuzz-campaign.ts --seed S`
// replays a longer run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOADER_FORMATS, judgeMutant } from "./loaders_formats.ts";
import { Rng } from "./mutate.ts";

const SEED = 20261402; // fixed: the same mutants on every run
/** Mutants per format: a few hundred in all, a few seconds on a shared 2-core machine. */
const CASES: Record<string, number> = { safetensors: 250, pth: 250, tfjs: 150 };
const scratch = mkdtempSync(join(tmpdir(), "papr-fuzz-mutants-"));

for (const format of LOADER_FORMATS) {
  test(`${format.name}: ${CASES[format.name]} seeded mutants load or are refused cleanly`, () => {
    const rng = new Rng(SEED);
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < CASES[format.name]; i++) {
      const { run, file } = format.mutant(rng, join(scratch, `${format.name}-${i}`));
      const wrong = judgeMutant(format, file, () => {
        try {
          return run();
        } catch (e) {
          refused++;
          throw e;
        }
      });
      if (wrong) failures.push(`case ${i}: ${wrong}`);
    }
    assert.equal(failures.slice(0, 5), [], `${format.name} seed ${SEED}: ${failures.length} bad outcomes`);
    assert.ok(
      refused > 0 && refused < CASES[format.name],
      `${format.name}: the mutants should mix loads and refusals (${refused} refused)`,
    );
  });
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
