// scripts/build-web.mjs: the browser bundle (dist/papr.js) builds for platform=browser, a Node built-in or
// a static import of a Node-only adapter fails the build loudly, and the bundle computes exactly what the
// source does (same PaPr logits, bit for bit, on a small synthetic DeiT + MobileNetV3 and a real image).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as source from "../../src/index.ts";
import { buildWeb } from "../../scripts/build-web.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "papr-bundle-"));

async function buildFails(name: string, entrySource: string): Promise<string> {
  const entry = join(out, `${name}.ts`);
  writeFileSync(entry, entrySource);
  try {
    await buildWeb({ entry, name, outdir: join(out, "fail"), quiet: true });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`the build of ${name}.ts did not fail`);
}

test("dist bundle: src/index.ts and the pool's module worker build for the browser", async () => {
  const files: string[] = await buildWeb({ outdir: join(out, "dist"), quiet: true });
  assert.equal(files.map((f) => f.slice(join(out, "dist").length + 1)).sort(), ["papr.js", "worker_browser.js"]);
  const bundle = readFileSync(join(out, "dist/papr.js"), "utf8");
  assert.not.match(bundle, /from\s*["']node:|require\(["']node:/);
  assert.match(bundle, /new URL\("\.\/worker_browser\.js", import\.meta\.url\)/); // the worker URL points at the built worker
});

test("dist bundle: a Node built-in or a static import of a Node adapter fails the build", async () => {
  assert.match(
    await buildFails("leak_builtin", 'import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n'),
    /Could not resolve "node:fs"/,
  );
  const adapter = join(ROOT, "src/models/load/node.ts").replaceAll("\\", "/");
  assert.match(
    await buildFails("leak_adapter", `export { readCheckpointFile } from "${adapter}";\n`),
    /leak_adapter\.ts imports the Node-only adapter '.*src\/models\/load\/node\.ts'/,
  );
});

test("dist bundle: PaPr logits from the bundle equal the source's bit for bit", async () => {
  const bundle: typeof source = await import(pathToFileURL(join(out, "dist/papr.js")).href);
  const predict = (lib: typeof source) => {
    const vitFile = {
      ...lib.PRESETS.deit_tiny_patch16_224,
      model: { ...lib.PRESETS.deit_tiny_patch16_224.model, depth: 2, numClasses: 10 },
    };
    const mnvFile = { ...lib.PRESETS.mobilenetv3_small_100, model: { variant: "small", width: 1, numClasses: 10 } };
    const model = (
      arch: string,
      p: { family: source.Family; model: Record<string, unknown>; preprocess: source.PreprocessConfig },
    ) => lib.buildModel({ format: "papr-ts/1", arch, ...p }, lib.syntheticWeights(lib.familySpec(p.family, p.model)));
    const vit = model("deit_tiny_patch16_224", vitFile);
    const mnv = model("mobilenetv3_small_100", mnvFile);
    if (vit.family !== "vit" || mnv.family === "vit") throw new Error("wrong families");
    const image = lib.decodeImage(
      readFileSync(join(ROOT, "test/fixtures/images/rgb8_300x200.png")),
      "rgb8_300x200.png",
    );
    const x = lib.preprocess(image, vit.file.preprocess);
    return new lib.Papr(vit.vit, mnv.convnet).predict(x, { z: 0.4 });
  };
  // the bundle holds its own copy of the backend choice: compare on each backend, both set alike
  const before = source.backendName();
  try {
    for (const backend of source.availableBackends()) {
      source.setBackend(backend);
      bundle.setBackend(backend);
      const fromSource = predict(source);
      const fromBundle = predict(bundle);
      assert.is(fromBundle.keptCount, fromSource.keptCount, backend);
      assert.equal([...fromBundle.kept], [...fromSource.kept], backend);
      assert.equal([...fromBundle.logits.data], [...fromSource.logits.data], backend);
    }
  } finally {
    source.setBackend(before);
  }
});

test.after(() => rmSync(out, { recursive: true, force: true }));

test.run();
