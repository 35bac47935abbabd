#!/usr/bin/env node
// `npm run build` (also run by `prepare`, so an install from git builds too): src/ -> dist/
//   1. tsc -p tsconfig.build.json: ESM JavaScript + .d.ts for Node (dist/index.js, dist/node.js, dist/cli/main.js, ...)
//   2. scripts/build-web.mjs: the browser bundle dist/papr.js (+ its module worker), no Node built-ins
import { execFileSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT, buildWeb } from "./build-web.mjs";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
rmSync(join(ROOT, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
// the `papr` bin: executable, so that `npx papr` runs it in this checkout too (npm sets the mode only on install)
chmodSync(join(ROOT, "dist", "cli", "main.js"), 0o755);
const bundles = await buildWeb({ quiet: true });
console.log(`dist/: compiled src/ (tsc) and the browser bundle ${bundles.map((f) => f.slice(ROOT.length)).join(", ")}`);
