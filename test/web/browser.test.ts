// The demo page (examples/web) end to end in headless Chromium, against the page served locally the way
// `npm run web` serves it: bad input shows a readable message and the page recovers; the first example
// image, then z = 0.3 set on the slider, gives the same prediction, kept-token count, logits (1e-5) and
// kept-patch mask as `papr classify` on the same file; so does a progressive JPEG chosen in the file input;
// the page stays responsive while the worker computes; the page is cross-origin isolated and its engine
// runs on every core (navigator.hardwareConcurrency), giving exactly the kept indices and logits of a
// second page on one thread (?threads=1); a screenshot goes to out/web/web-demo.png. Weights: weights/deit-distilled-scenes + weights/mobilenetv3-scenes when present, else
// synthetic ones of the same architectures (test/web/synthetic_models.ts); PAPR_WEB_WEIGHTS=DIR picks
// DIR/deit-distilled-scenes + DIR/mobilenetv3-scenes (inside the repository: the page loads them from the same origin).
// Skipped where /usr/bin/chromium is absent (CI installs it: .ci/run).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose } from "../golden.ts";
import { syntheticDemoModels } from "./synthetic_models.ts";
import { skipUnless } from "../skip.ts";
import { SHARED_TFLITE, SHARED_WEIGHTS_URL, buildWeb, serveStatic, sharedMounts } from "../../scripts/build-web.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHROMIUM = process.env.PAPR_CHROMIUM ?? "/usr/bin/chromium"; // Debian's chromium; CI installs it
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const Z = 0.3;
const WAIT_MS = 30_000; // per step; the whole test takes ~10 s

/**
 * The weights the page loads: $PAPR_WEB_WEIGHTS/{deit-distilled-scenes,mobilenetv3-scenes} when set, else the default
 * weights when they are in the checkout, else synthetic ones in out/ (git-ignored).
 */
function demoWeights(): { backbone: string; proposer: string; kind: string } {
  const base = process.env.PAPR_WEB_WEIGHTS ? resolve(process.env.PAPR_WEB_WEIGHTS) : join(ROOT, "weights");
  const dirs = { backbone: join(base, "deit-distilled-scenes"), proposer: join(base, "mobilenetv3-scenes") };
  if (existsSync(join(dirs.backbone, "config.json")) && existsSync(join(dirs.proposer, "config.json"))) {
    return { ...dirs, kind: process.env.PAPR_WEB_WEIGHTS ? relative(ROOT, base) : "default" };
  }
  if (process.env.PAPR_WEB_WEIGHTS)
    throw new Error(
      `PAPR_WEB_WEIGHTS=${base}: no deit-distilled-scenes/config.json and mobilenetv3-scenes/config.json there`,
    );
  return { ...syntheticDemoModels(), kind: "synthetic" };
}

/** `papr classify --trace` on images (one run): what the page must reproduce, by file name. */
function cliResults(images: string[], backbone: string, proposer: string, z: number) {
  const dir = mkdtempSync(join(tmpdir(), "papr-web-"));
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "classify",
      ...images,
      "--weights",
      backbone,
      "--proposer",
      proposer,
      "--z",
      String(z),
      "--trace",
      join(dir, "trace.json"),
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.is(r.status, 0, `papr classify failed: ${r.stderr}`);
  const results = new Map<string, { trace: any; logits: Tensor }>();
  for (const image of images) {
    const stem = join(dir, `trace-${basename(image, extname(image))}`);
    const trace = JSON.parse(readFileSync(`${stem}.json`, "utf8"));
    const logits = readSafetensors(readFileSync(`${stem}.safetensors`), `${stem}.safetensors`).tensors.get("logits")!;
    results.set(basename(image), { trace, logits });
  }
  rmSync(dir, { recursive: true, force: true });
  return results;
}

/** The page's last result equals the CLI's: top-5 classes, kept and per-block token counts, MACs, logits to 1e-5. */
function assertSameAsCli(got: any, cli: { trace: any; logits: Tensor }, what: string) {
  assert.is(got.keptCount, cli.trace.keptCount, `${what}: kept count`);
  assert.equal(got.tokensPerBlock, cli.trace.tokensPerBlock, `${what}: tokens per block`);
  assert.equal(
    got.top5.map((t: { class: number }) => t.class),
    cli.trace.top5.map((t: { class: number }) => t.class),
    `${what}: top-5`,
  );
  assert.is(got.macs.total, cli.trace.macs.total, `${what}: MACs`);
  assert.is(got.unprunedMacs.total, cli.trace.unprunedMacs.total, `${what}: unpruned MACs`);
  // 1e-5 relative to the logits' scale: the same float32 code in two V8s; in practice the logits are identical
  assertClose(
    new Tensor(Float32Array.from(got.logits), [got.logits.length]),
    cli.logits,
    1e-5,
    `${what}: page logits vs papr classify`,
  );
}

/** A PNG whose header declares width x height (nothing else): the decoder must refuse it from the header. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    let crc = 0xffffffff;
    for (const b of body) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE((crc ^ 0xffffffff) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// Runs in the page (as source text: tsx would wrap inner functions in a helper the page lacks). For each
// patch of the grid: is panel 3 (kept patches) different from panel 1 (input), is the input patch all black;
// and how many colours panel 2 (heatmap) has.
const READ_PANELS = `(grid) => {
  const canvas = document.getElementById("picture");
  const S = canvas.height, W = canvas.width, cell = S / grid;
  const px = canvas.getContext("2d").getImageData(0, 0, W, S).data;
  const at = (panel, x, y, c) => px[(y * W + panel * (S + 8) + x) * 4 + c];
  const dimmed = [], black = [], heat = new Set();
  for (let p = 0; p < grid * grid; p++) {
    let differs = 0, light = 0;
    const y0 = Math.floor(p / grid) * cell, x0 = (p % grid) * cell;
    for (let y = y0; y < y0 + cell; y++) {
      for (let x = x0; x < x0 + cell; x++) {
        for (let c = 0; c < 3; c++) {
          if (at(0, x, y, c) !== at(2, x, y, c)) differs = 1;
          if (at(0, x, y, c) > 1) light = 1;
        }
        heat.add((at(1, x, y, 0) << 16) | (at(1, x, y, 1) << 8) | at(1, x, y, 2));
      }
    }
    dimmed.push(differs);
    black.push(1 - light);
  }
  return { dimmed, black, heatColours: heat.size };
}`;

const browserTest = skipUnless(
  existsSync(CHROMIUM),
  `${CHROMIUM} absent (install it with 'apt-get install -y chromium')`,
);
{
  browserTest(
    "demo page in headless Chromium: bad input, then the CLI's prediction, kept tokens, logits and mask",
    async () => {
      const { chromium } = await import("playwright-core");
      const weights = demoWeights();
      const examples: { name: string; url: string }[] = JSON.parse(
        readFileSync(join(ROOT, "examples/web/examples.json"), "utf8"),
      );
      const exampleUrl = examples[0].url;
      const examplePath = resolve(ROOT, "examples/web", exampleUrl);
      const jpegPath = join(ROOT, "test/fixtures/images/progressive_64x48.jpg"); // upscaled by the preprocessing
      const cli = cliResults([examplePath, jpegPath], weights.backbone, weights.proposer, Z);

      await buildWeb({ quiet: true });
      const server = await serveStatic(ROOT, { port: 0, mounts: sharedMounts() });
      const profile = mkdtempSync(join(tmpdir(), "papr-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1000, height: 760 },
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const pageErrors: string[] = [];
        page.on("pageerror", (e) => pageErrors.push(e.message));
        const urlPath = (dir: string) => "/" + relative(ROOT, dir).replaceAll("\\", "/") + "/";
        const query =
          weights.kind === "default"
            ? ""
            : `?backbone=${urlPath(weights.backbone)}&proposer=${urlPath(weights.proposer)}`;
        await page.goto(server.url + query);
        await page.waitForFunction(() => (window as any).paprDemo?.state !== "loading", null, { timeout: WAIT_MS });
        const loaded = await page.evaluate(() => (window as any).paprDemo);
        assert.is(loaded.state, "ready", `models did not load: ${loaded.error}`);
        // COOP/COEP from the server: SharedArrayBuffer, so the engine's threads, on every core
        assert.is(await page.evaluate(() => self.crossOriginIsolated), true, "page not cross-origin isolated");
        const engine = loaded.engine;
        assert.equal(
          [engine.crossOriginIsolated, engine.threads, engine.note],
          [true, await page.evaluate(() => navigator.hardwareConcurrency), null],
          `engine: ${JSON.stringify(engine)}`,
        );

        // bad input: a text file, then a PNG declaring 30000 x 30000 pixels; each shows a message, the page recovers
        const errorAfter = async (file: { name: string; mimeType: string; buffer: Buffer }) => {
          await page.evaluate(() => {
            (window as any).paprDemo.error = null;
          });
          await page.setInputFiles("#file", file);
          await page.waitForFunction(
            () => (window as any).paprDemo.error !== null && (window as any).paprDemo.state === "ready",
            null,
            { timeout: WAIT_MS },
          );
          assert.ok(await page.isVisible("#error"), "error box hidden");
          return (await page.textContent("#error")) ?? "";
        };
        assert.match(
          await errorAfter({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image\n") }),
          /notes\.txt: not a PNG, JPEG or BMP image/,
        );
        assert.match(
          await errorAfter({ name: "huge.png", mimeType: "image/png", buffer: pngHeaderOnly(30000, 30000) }),
          /huge\.png: image size 30000x30000 is too large/,
        );

        // the example image at the default z, then z = 0.3 through the slider (the worker reuses the decoded image)
        await page.selectOption("#example", exampleUrl);
        let busySeen = false;
        let frameMs = Infinity;
        for (let i = 0; i < 500 && !busySeen; i++) {
          const start = performance.now();
          const state = await page.evaluate(
            () => new Promise<string>((done) => requestAnimationFrame(() => done((window as any).paprDemo.state))),
          );
          if (state === "busy") {
            busySeen = true;
            frameMs = performance.now() - start;
          }
        }
        // a "busy" state seen from the page's main thread means the computation ran elsewhere (the worker)
        assert.ok(busySeen, "never saw the page busy: did the inference block the main thread?");
        assert.ok(frameMs < 1000, `a frame took ${frameMs.toFixed(0)} ms while the worker computed`);
        await page.waitForFunction(
          () => (window as any).paprDemo.results === 1 && (window as any).paprDemo.state === "ready",
          null,
          { timeout: WAIT_MS },
        );
        await page.evaluate((z) => {
          const slider = document.getElementById("z") as HTMLInputElement;
          slider.value = String(z);
          slider.dispatchEvent(new Event("input", { bubbles: true }));
        }, Z);
        await page.waitForFunction(
          (z) => (window as any).paprDemo.last?.z === z && (window as any).paprDemo.state === "ready",
          Z,
          { timeout: WAIT_MS },
        );
        const lastResult = () =>
          page.evaluate(() => {
            const r = (window as any).paprDemo.last;
            return {
              ...r,
              logits: Array.from(r.logits as Float32Array),
              picture: null,
              error: (window as any).paprDemo.error,
            };
          });
        const got = await lastResult();
        assert.is(got.error, null);
        assert.is(got.name, basename(examplePath));
        assertSameAsCli(got, cli.get(basename(examplePath))!, basename(examplePath));

        // the drawn mask: panel 3 equals panel 1 on kept patches and is dimmed on the others (all-black patches look the same)
        const cliMask: number[] = cli.get(basename(examplePath))!.trace.mask.join("").split("").map(Number);
        const drawn: { dimmed: number[]; black: number[]; heatColours: number } = await page.evaluate(
          `(${READ_PANELS})(${Math.sqrt(cliMask.length)})`,
        );
        cliMask.forEach((kept, p) => {
          if (kept === 1) assert.is(drawn.dimmed[p], 0, `patch ${p} is kept but drawn dimmed`);
          else if (!drawn.black[p]) assert.is(drawn.dimmed[p], 1, `patch ${p} is pruned but drawn as kept`);
        });
        assert.ok(drawn.heatColours > 20, `the heatmap panel has only ${drawn.heatColours} colours`);

        const shot = join(ROOT, "out/web/web-demo.png");
        mkdirSync(resolve(shot, ".."), { recursive: true });
        await page.screenshot({ path: shot, fullPage: true });

        // a (progressive) JPEG through the file input, at the z the slider now holds
        await page.setInputFiles("#file", jpegPath);
        await page.waitForFunction(
          () => (window as any).paprDemo.results === 3 && (window as any).paprDemo.state === "ready",
          null,
          { timeout: WAIT_MS },
        );
        const jpeg = await lastResult();
        const threaded = got;
        assert.is(jpeg.error, null);
        assert.equal([jpeg.name, jpeg.z, jpeg.imageSize], [basename(jpegPath), Z, [64, 48]]);
        assertSameAsCli(jpeg, cli.get(basename(jpegPath))!, basename(jpegPath));
        assert.equal(pageErrors, [], `uncaught errors in the page: ${pageErrors.join("; ")}`);

        // the same image and z on one thread: the same kept indices and logits, bit for bit
        await page.goto(server.url + (query ? `${query}&` : "?") + `threads=1&z=${Z}`);
        await page.waitForFunction(() => (window as any).paprDemo?.state !== "loading", null, { timeout: WAIT_MS });
        assert.is(await page.evaluate(() => (window as any).paprDemo.engine?.threads), 1, "?threads=1");
        await page.selectOption("#example", exampleUrl);
        await page.waitForFunction(
          () => (window as any).paprDemo.results === 1 && (window as any).paprDemo.state === "ready",
          null,
          { timeout: WAIT_MS },
        );
        const single = await lastResult();
        assert.is(single.error, null);
        assert.is(single.z, Z);
        assert.equal(threaded.kept, single.kept, `kept indices on ${engine.threads} threads vs 1`);
        assert.equal(threaded.logits, single.logits, `logits on ${engine.threads} threads vs 1`);
        console.log(
          `  browser test: ${weights.kind} weights, ${engine.backend} on ${engine.threads} threads = 1 thread, ` +
            `${got.keptCount} of ${got.numPatches} patches kept, screenshot ${relative(ROOT, shot)}`,
        );

        // ?proposer=<.tflite URL>: TFLite's quantized MobileNetV2 from ../shared (served by `npm run web` too) as
        // the proposer, on its integer path: the page keeps the patches the CLI keeps with the same file
        const tflite = sharedMounts()[SHARED_WEIGHTS_URL];
        if (tflite && weights.kind === "default") {
          const tflitePath = join(tflite, SHARED_TFLITE);
          const cliTflite = cliResults([examplePath, jpegPath], weights.backbone, tflitePath, Z).get(
            basename(examplePath),
          )!;
          await page.goto(server.url + `?proposer=${SHARED_WEIGHTS_URL}${SHARED_TFLITE}&z=${Z}`);
          await page.waitForFunction(() => (window as any).paprDemo?.state !== "loading", null, { timeout: WAIT_MS });
          const state = await page.evaluate(() => (window as any).paprDemo);
          assert.is(state.state, "ready", `the .tflite proposer did not load: ${state.error}`);
          await page.selectOption("#example", exampleUrl);
          await page.waitForFunction(
            () => (window as any).paprDemo.results === 1 && (window as any).paprDemo.state === "ready",
            null,
            { timeout: WAIT_MS },
          );
          const withTflite = await lastResult();
          assert.is(withTflite.error, null);
          assertSameAsCli(withTflite, cliTflite, `${basename(examplePath)} with the .tflite proposer`);
          assert.not.equal(withTflite.kept, got.kept, "the .tflite proposer keeps other patches than the default one");
          console.log(`  browser test: ?proposer=<.tflite> kept the CLI's ${withTflite.keptCount} patches`);
        } else console.log("  browser test: .tflite proposer skipped: ../shared absent");
      } finally {
        await context.close();
        await server.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
  );
}

test.run();
