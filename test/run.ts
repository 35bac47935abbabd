// Runs every test/**/*.test.ts in one process with uvu, then prints the plain
// closing line "tests: N passed, N failed, N skipped" that CI reads.
//   npm test                 all tests
//   npm test -- resize conv  only files whose path contains one of the words
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runQueuedTests } from "./runner/exec.ts";
import { closingLine, failedCount } from "./runner/summary.ts";

// uvu queues each file's suites instead of running them at once (UVU_DEFER), one group per file.
const uvuGlobals = globalThis as { UVU_DEFER?: number; UVU_INDEX?: number; UVU_QUEUE?: unknown[][] };
uvuGlobals.UVU_DEFER = 1;
uvuGlobals.UVU_QUEUE = [];
const root = fileURLToPath(new URL(".", import.meta.url));

function listTests(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === "fixtures" ? [] : listTests(path);
      return name.endsWith(".test.ts") ? [path] : [];
    });
}

const filters = process.argv.slice(2);
const files = listTests(root).filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)));
const brokenFiles: string[] = [];
for (const [index, file] of files.entries()) {
  uvuGlobals.UVU_INDEX = index;
  uvuGlobals.UVU_QUEUE.push([relative(root, file)]);
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    brokenFiles.push(relative(root, file));
    console.error(`cannot load ${relative(root, file)}: ${(error as Error).stack ?? error}`);
  }
}

const started = performance.now();
const counts = {
  ...(await runQueuedTests(uvuGlobals.UVU_QUEUE, (text) => process.stdout.write(text))),
  brokenFiles: brokenFiles.length,
};
console.log(`\nduration: ${((performance.now() - started) / 1000).toFixed(1)} s`);
const { skippedTests } = await import("./skip.ts");
for (const { name, reason } of skippedTests()) console.log(`skipped: ${name} (${reason})`);
if (brokenFiles.length) console.error(`test files that failed to load: ${brokenFiles.join(", ")}`);
console.log(closingLine(counts));
if (failedCount(counts) > 0) process.exitCode = 1;
if (counts.ran + counts.skipped === 0) {
  console.error("no tests ran");
  process.exitCode = 1;
}
