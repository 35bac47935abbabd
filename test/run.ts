// Runs every test/**/*.test.ts in one process with uvu, then prints the plain
// closing line "tests: N passed, N failed, N skipped" that CI reads.
//   npm test                 all tests
//   npm test -- resize conv  only files whose path contains one of the words
//   PAPR_BACKEND=wasm npm test   every test on the wasm backend (default js; see runner/backends.ts)
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runQueuedTests } from "./runner/exec.ts";
import { closingLine, failedCount } from "./runner/summary.ts";
import { WASM_GOLDENS, suiteBackend, switchTo, wasmPassUnavailable } from "./runner/backends.ts";
import { setBackend } from "../src/tensor/backend.ts";

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
async function load(file: string, label: string, query = ""): Promise<void> {
  uvuGlobals.UVU_INDEX = uvuGlobals.UVU_QUEUE!.length;
  uvuGlobals.UVU_QUEUE!.push([label]);
  try {
    await import(pathToFileURL(file).href + query);
  } catch (error) {
    brokenFiles.push(label);
    console.error(`cannot load ${label}: ${(error as Error).stack ?? error}`);
  }
}

const backend = suiteBackend();
setBackend(backend);
for (const file of files) await load(file, relative(root, file));

// the kernel and model goldens once more on the wasm backend (runner/backends.ts)
const listed = new Set(listTests(root).map((f) => relative(root, f).split("\\").join("/")));
const missing = WASM_GOLDENS.filter((f) => !listed.has(f));
if (missing.length > 0)
  throw new Error(`test/runner/backends.ts names test files that do not exist: ${missing.join(", ")}`);
const goldens = files.filter((f) => WASM_GOLDENS.includes(relative(root, f).split("\\").join("/")));
const wasmSkip = backend === "js" && goldens.length > 0 ? wasmPassUnavailable() : null;
if (backend === "js" && goldens.length > 0 && wasmSkip === null) {
  for (const file of goldens) {
    await load(file, `[wasm] ${relative(root, file)}`, "?backend=wasm");
    const group = uvuGlobals.UVU_QUEUE!.at(-1)!;
    group.splice(1, 0, switchTo("wasm"));
    group.push(switchTo("js"));
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
if (wasmSkip !== null) console.log(`skipped: the goldens on the wasm backend (${wasmSkip})`);
if (brokenFiles.length) console.error(`test files that failed to load: ${brokenFiles.join(", ")}`);
console.log(closingLine(counts));
if (failedCount(counts) > 0) process.exitCode = 1;
if (counts.ran + counts.skipped === 0) {
  console.error("no tests ran");
  process.exitCode = 1;
}
