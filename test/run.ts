// Runs every test/**/*.test.ts in one process with uvu, then prints the plain
// closing line "tests: N passed, N failed, N skipped" that CI reads.
//   npm test                 all tests
//   npm test -- resize conv  only files whose path contains one of the words
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

// uvu prints "Total / Passed / Skipped"; keep its output and read the numbers from it.
let printed = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  printed += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

const { exec } = await import("uvu");
await exec();
const count = (label: string) => Number(/\d+/.exec(printed.split(label).pop() ?? "")?.[0] ?? 0);
const total = count("Total:");
const passed = count("Passed:");
const skipped = count("Skipped:");
process.stdout.write = write;
const failed = total - passed - skipped + brokenFiles.length;
if (brokenFiles.length) console.error(`test files that failed to load: ${brokenFiles.join(", ")}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0) process.exitCode = 1;
if (total === 0) {
  console.error("no tests ran");
  process.exitCode = 1;
}
