// papr-ts as a dependency, the way a user gets it: `npm pack`, then the tarball installed into an empty
// project without network (`npm ci --offline`, from the npm cache that `npm ci` filled for this
// checkout), then, with plain `node` (no tsx):
//   1. the README's "Use as a library" Node example, exactly as written there;
//   2. `npx papr classify scene.png --explain out/x.png`;
//   3. the README's browser example, exactly as written there, in headless Chromium (where installed),
//      loading the bundle the package ships.
// The tarball's size is printed and must stay at most 12 MB.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { skipUnless } from "../skip.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHROMIUM = process.env.PAPR_CHROMIUM ?? "/usr/bin/chromium";
const MAX_TARBALL_BYTES = 12 * 1024 * 1024;
const SCENE = join(ROOT, "examples/web/images/scene-test-0000-bag.png");
// What the default pair prints for this scene at z = 0.5 (the README's `npm run demo` output).
// 99 patches (+ the class and distillation tokens of the distilled default backbone)
const EXPECTED_LINE = "Bag: kept 99 of 196 patches";

/** The code block that follows `<!-- library-example: NAME -->` in the README. */
export function readmeExample(readme: string, name: string): string {
  const marker = `<!-- library-example: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md: no '${marker}'`);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at + marker.length));
  if (!block) throw new Error(`README.md: no code block after '${marker}'`);
  return block[1];
}

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  const output = `${command} ${args.join(" ")} (in ${cwd}) exited ${result.status}\n${result.stdout}\n${result.stderr}`;
  assert.is(result.status, 0, output);
  return result;
}

/**
 * package-lock.json for a project that depends on the tarball only: papr-ts from the file, its runtime
 * dependencies pinned as this checkout's lock pins them (so `npm ci --offline` finds them in the cache).
 */
function lockForTarball(tarball: string, tarballBytes: Buffer) {
  const ours = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const runtime = Object.entries(ours.packages as Record<string, { dev?: boolean }>).filter(
    ([path, entry]) => path !== "" && !entry.dev,
  );
  return {
    name: "papr-ts-user",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "papr-ts-user", dependencies: { "papr-ts": `file:${tarball}` } },
      "node_modules/papr-ts": {
        version: manifest.version,
        resolved: `file:${tarball}`,
        integrity: `sha512-${createHash("sha512").update(tarballBytes).digest("base64")}`,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
      ...Object.fromEntries(runtime),
    },
  };
}

let scratch = ""; // the temporary project folder
let project = ""; // the same, once the tarball is installed there

test("npm pack: only dist/, weights/, README and LICENSE, at most 12 MB; installs offline into an empty project", () => {
  scratch = mkdtempSync(join(tmpdir(), "papr-package-"));
  installTarball(scratch);
  project = scratch;
});

function installTarball(project: string): void {
  const packed = JSON.parse(
    run("npm", ["pack", "--json", "--pack-destination", project], ROOT).stdout.replace(/^[^[]*/, ""),
  )[0];
  console.log(
    `  tarball ${packed.filename}: ${(packed.size / 1e6).toFixed(1)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(1)} MB unpacked, ${packed.entryCount} files`,
  );
  assert.ok(packed.size <= MAX_TARBALL_BYTES, `tarball ${packed.size} bytes > ${MAX_TARBALL_BYTES}`);
  const outside = (packed.files as { path: string }[])
    .map((f) => f.path)
    .filter((p) => !/^(dist|weights)\//.test(p) && !["README.md", "LICENSE", "package.json"].includes(p));
  assert.equal(outside, [], "files outside the 'files' list");
  for (const entry of [
    "dist/index.js",
    "dist/index.d.ts",
    "dist/node.js",
    "dist/node.d.ts",
    "dist/papr.js",
    "dist/cli/main.js",
  ]) {
    assert.ok(
      packed.files.some((f: { path: string }) => f.path === entry),
      `${entry} is in the tarball`,
    );
  }

  // `npx papr` in a checkout runs the built bin directly (npm sets the mode only when installing)
  assert.ok(statSync(join(ROOT, "dist/cli/main.js")).mode & 0o100, "dist/cli/main.js is executable");
  const tarballBytes = readFileSync(join(project, packed.filename));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "papr-ts-user",
      private: true,
      type: "module",
      dependencies: { "papr-ts": `file:${packed.filename}` },
    }),
  );
  writeFileSync(
    join(project, "package-lock.json"),
    JSON.stringify(lockForTarball(packed.filename, tarballBytes), null, 2),
  );
  run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], project);
  assert.ok(!existsSync(join(project, "node_modules/tsx")), "no dev dependency installed");
  // the browser bundle in the package is the one this checkout builds (and test/web serves)
  assert.ok(
    readFileSync(join(project, "node_modules/papr-ts/dist/papr.js")).equals(readFileSync(join(ROOT, "dist/papr.js"))),
  );
  copyFileSync(SCENE, join(project, "scene.png"));
}

test("plain node runs the README's Node library example", () => {
  assert.ok(project, "the tarball was not installed (see the first test)");
  writeFileSync(join(project, "example.mjs"), readmeExample(readFileSync(join(ROOT, "README.md"), "utf8"), "node"));
  const out = run(process.execPath, ["example.mjs"], project).stdout.trim();
  console.log(`  node example.mjs: ${out}`);
  assert.is(out, EXPECTED_LINE);
});

test("npx papr classify scene.png --explain out/x.png (compiled JavaScript, runtime dependencies only)", () => {
  assert.ok(project, "the tarball was not installed (see the first test)");
  const out = run(
    "npx",
    ["--offline", "--no-install", "papr", "classify", "scene.png", "--explain", "out/x.png"],
    project,
  ).stdout;
  assert.match(out, /z = 0\.5: kept 99 of 196 patches/);
  assert.match(out, /1\. Bag /);
  const picture = readFileSync(join(project, "out/x.png"));
  assert.equal([...picture.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "out/x.png is a PNG");
});

skipUnless(existsSync(CHROMIUM), `${CHROMIUM} absent (install it with 'apt-get install -y chromium')`)(
  "the README's browser example, in headless Chromium, with the bundle the package ships",
  async () => {
    assert.ok(project, "the tarball was not installed (see the first test)");
    writeFileSync(join(project, "index.html"), readmeExample(readFileSync(join(ROOT, "README.md"), "utf8"), "browser"));
    const { serveStatic } = await import("../../scripts/build-web.mjs");
    const { chromium } = await import("playwright-core");
    const server = await serveStatic(project, { port: 0 });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${server.url.replace(/\/examples\/web\/$/, "")}/index.html`);
      await page
        .waitForFunction(() => document.querySelector("#result")?.textContent !== "", null, { timeout: 60_000 })
        .catch((e) => assert.unreachable(`no result on the page: ${errors.join("; ") || (e as Error).message}`));
      const text = (await page.textContent("#result"))?.trim();
      console.log(`  browser example: ${text}`);
      assert.equal(errors, []);
      assert.is(text, EXPECTED_LINE);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);

test.after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test.run();
