// What the `papr convert` round-trip tests share: convert one checkpoint of test/fixtures/convert with the CLI,
// and check that several conversions gave the same canonical weights, bit for bit.
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../src/tensor/safetensors.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(ROOT, "test/fixtures/convert");
const OUT = mkdtempSync(join(tmpdir(), "papr-convert-"));

/** `papr convert test/fixtures/convert/<file> --arch <arch> [extra] --out <tmp>/<name>`; must succeed printing `tensors` tensors. */
export function convertFixture(
  file: string,
  arch: string,
  name: string,
  tensors: number,
  extra: string[] = [],
): string {
  const out = join(OUT, name);
  const args = ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "convert", join(FIXTURES, file), "--arch", arch];
  const r = spawnSync(process.execPath, [...args, ...extra, "--out", out], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`converted .* as ${arch}: ${tensors} tensors`));
  return out;
}

/** Every converted folder holds the same tensor names and values as the first. */
export function assertSameWeights(dirs: string[]): void {
  const [first, ...rest] = dirs.map((d) => readSafetensors(readFileSync(join(d, "model.safetensors"))).tensors);
  for (const weights of rest) {
    assert.equal([...weights.keys()].sort(), [...first.keys()].sort());
    for (const [name, t] of weights) assert.equal([...t.data], [...first.get(name)!.data], name);
  }
}
