// The core (src/tensor, src/image, src/models, src/papr, src/data, src/index.ts) must run in a browser:
// no Node built-in is imported (node:x or a bare built-in name), no require, no Node globals (Buffer,
// __dirname, an unguarded process), and Node-only adapters (*_node.ts, node.ts; docs/ARCHITECTURE.md)
// are reached only through a dynamic import that a browser never takes. The scanner is checked on
// snippets first, so a scanner that finds nothing cannot pass.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CORE = ["src/tensor", "src/image", "src/models", "src/papr", "src/data", "src/index.ts"];
const NODE_ADAPTER = /(^|\/)([^/]*_node|node)\.ts$/;
const BUILTINS = new Set(builtinModules);

/** Source without comments and with string contents blanked (specifiers are read before blanking). */
function code(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
}

/** Every way a Node dependency could leak in, as messages naming the file and the line. */
export function nodeLeaks(file: string, source: string): string[] {
  const leaks: string[] = [];
  const lineOf = (index: number) => source.slice(0, index).split("\n").length;
  const imports = /(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s+|\brequire\s*\(\s*)(["'])([^"']+)\1/g;
  for (const m of source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).matchAll(imports)) {
    const line = source.split("\n")[lineOf(m.index!) - 1];
    if (/^\s*\/\//.test(line)) continue; // a commented-out import
    const specifier = m[2];
    const dynamic = /^import\s*\(/.test(m[0]);
    const where = `${file}:${lineOf(m.index!)}`;
    if (specifier.startsWith("node:") || BUILTINS.has(specifier.split("/")[0]))
      leaks.push(`${where} imports the Node built-in '${specifier}'`);
    else if (NODE_ADAPTER.test(specifier) && !dynamic)
      leaks.push(`${where} statically imports the Node-only adapter '${specifier}'`);
  }
  const body = code(source);
  const lines = body.split("\n");
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (/\brequire\s*\(/.test(line)) leaks.push(`${where} calls require()`);
    for (const name of ["Buffer", "__dirname", "__filename"]) {
      if (new RegExp(`(?<![.\\w$])${name}(?![\\w$])`).test(line)) leaks.push(`${where} uses the Node global '${name}'`);
    }
    if (
      /(?<![.\w$])process(?![\w$])/.test(line) &&
      !/typeof process !== "undefined"/.test(line.replace(/""/g, '"undefined"'))
    ) {
      leaks.push(`${where} uses 'process' without a typeof guard`);
    }
  });
  return leaks;
}

function listCore(): string[] {
  const walk = (path: string): string[] =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .sort()
          .flatMap((name) => walk(join(path, name)))
      : path.endsWith(".ts")
        ? [path]
        : [];
  return CORE.flatMap((p) => walk(join(ROOT, p)));
}

test("the scanner finds every kind of leak and passes clean code", () => {
  const leaks = (source: string) => nodeLeaks("x.ts", source);
  assert.equal(leaks('import { readFileSync } from "node:fs";'), ["x.ts:1 imports the Node built-in 'node:fs'"]);
  assert.equal(leaks('import * as path from "path";'), ["x.ts:1 imports the Node built-in 'path'"]);
  assert.equal(leaks('const os = await import("node:os");'), ["x.ts:1 imports the Node built-in 'node:os'"]);
  assert.equal(leaks('export { x } from "fs/promises";'), ["x.ts:1 imports the Node built-in 'fs/promises'"]);
  assert.equal(leaks('import "./load/node.ts";'), ["x.ts:1 statically imports the Node-only adapter './load/node.ts'"]);
  assert.equal(leaks('\nimport { nodePlatform } from "./pool_node.ts";'), [
    "x.ts:2 statically imports the Node-only adapter './pool_node.ts'",
  ]);
  assert.equal(leaks('const m = require("zlib");'), [
    "x.ts:1 imports the Node built-in 'zlib'",
    "x.ts:1 calls require()",
  ]);
  assert.equal(leaks("const b = Buffer.from(bytes);"), ["x.ts:1 uses the Node global 'Buffer'"]);
  assert.equal(leaks("const n = process.env.N;"), ["x.ts:1 uses 'process' without a typeof guard"]);
  // clean: browser-safe code, Node words in comments and strings, names that merely contain them
  assert.equal(
    leaks(
      [
        'import { Tensor } from "../tensor/tensor.ts";',
        'import jpeg from "jpeg-js";',
        'const platform = import("./pool_node.ts"); // taken only where process.versions.node exists',
        'const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;',
        "let qkvBuffer = new Float32Array(0); // not Buffer.alloc",
        'throw new Error("use node:fs in the CLI, not Buffer");',
        '/* import { x } from "node:fs"; */',
        '// import { y } from "node:path";',
      ].join("\n"),
    ),
    [],
  );
});

test("src/tensor, src/image, src/models, src/papr, src/data and src/index.ts use no Node built-ins", () => {
  const files = listCore();
  assert.ok(files.length > 40, `only ${files.length} core files found`);
  const leaks = files
    .filter((f) => !NODE_ADAPTER.test(relative(ROOT, f).replaceAll("\\", "/")))
    .flatMap((f) => nodeLeaks(relative(ROOT, f), readFileSync(f, "utf8")));
  assert.equal(leaks, [], leaks.join("\n"));
});

test.run();
