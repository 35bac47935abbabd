#!/usr/bin/env node
// Import-graph checks of src/ (part of `npm run lint`):
//   1. no cycle among the value imports (static `import ... from`, `export ... from`, dynamic `import("...")`;
//      `import type` is erased by TypeScript and does not count);
//   2. layers only look down: tensor <- image <- models <- papr, quant <- eval, prune <- cli (and the entry points
//      src/index.ts, src/node.ts), data and plot beside image.
// Prints every cycle or layer violation with the files involved; exits 1 if there is one.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SRC = join(ROOT, "src");
const LAYER = { tensor: 0, image: 1, data: 1, plot: 1, models: 2, papr: 3, quant: 3, eval: 4, prune: 4, cli: 5, "": 6 };

function sourceFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith(".ts") ? [path] : [];
    });
}

/** The relative value imports of a file, as absolute paths. */
function valueImports(file) {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const found = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^;'"]*?from\s+["'](\.[^"']+)["']/gm;
  for (const m of text.matchAll(statement)) if (!m[2]) found.push(m[3]);
  for (const m of text.matchAll(/^\s*import\s+["'](\.[^"']+)["']/gm)) found.push(m[1]);
  for (const m of text.matchAll(/import\(\s*["'](\.[^"']+)["']\s*\)/g)) found.push(m[1]);
  return found.map((spec) => resolve(dirname(file), spec));
}

const layerOf = (file) => {
  const top = relative(SRC, file).split("/");
  return top.length === 1 ? LAYER[""] : LAYER[top[0]];
};

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, valueImports(f)]));
const problems = [];

for (const [file, imports] of graph) {
  for (const target of imports) {
    if (!graph.has(target))
      problems.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)}, which is not a source file`);
    else if (layerOf(target) > layerOf(file))
      problems.push(`layer: ${relative(ROOT, file)} imports ${relative(ROOT, target)} from a higher layer`);
  }
}

// cycles: depth-first search, reporting each back edge's cycle once
const state = new Map(); // 1 = on the stack, 2 = done
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const target of graph.get(file) ?? []) {
    if (!graph.has(target)) continue;
    if (state.get(target) === 1)
      problems.push(
        `cycle: ${[...stack.slice(stack.indexOf(target)), target].map((f) => relative(ROOT, f)).join(" -> ")}`,
      );
    else if (!state.has(target)) visit(target);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of files) if (!state.has(file)) visit(file);

for (const p of problems) console.error(p);
console.log(`imports: ${files.length} files in src/, ${problems.length} problem(s)`);
process.exitCode = problems.length ? 1 : 0;
