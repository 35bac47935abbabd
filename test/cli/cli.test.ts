// The `papr` CLI end to end, as a user runs it: synthetic-weight model directories in a temp
// folder, real image files, and every bad input the CLI must refuse with a clear message.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { saveModelDir } from "../../src/cli/files.ts";
import { PRESETS, familySpec, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { readSafetensors, writeSafetensors } from "../../src/tensor/safetensors.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { availableBackends } from "../../src/tensor/backend.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const IMAGES = join(ROOT, "test/fixtures/images");
const dir = mkdtempSync(join(tmpdir(), "papr-cli-"));

function modelDir(
  name: string,
  arch: string,
  overrides: Partial<ModelFile> = {},
  model: Record<string, unknown> = {},
): string {
  const p = PRESETS[arch];
  const file: ModelFile = {
    format: "papr-ts/1",
    arch,
    family: p.family,
    model: { ...p.model, ...model },
    preprocess: p.preprocess,
    ...overrides,
  };
  const out = join(dir, name);
  saveModelDir(out, file, syntheticWeights(familySpec(file.family, file.model)));
  return out;
}

const vit = modelDir(
  "vit",
  "deit_tiny_patch16_224",
  { labels: Array.from({ length: 10 }, (_, i) => `label ${i}`) },
  { depth: 2, numClasses: 10 },
);
const proposer = modelDir("proposer", "mobilenetv3_small_100", {}, { numClasses: 10 });
const proposer256 = modelDir(
  "proposer256",
  "mobilenetv3_small_100",
  { preprocess: { ...PRESETS.mobilenetv3_small_100.preprocess, inputSize: 256 } },
  { numClasses: 10 },
);

function papr(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const classify = (...args: string[]) => papr("classify", "--weights", vit, "--proposer", proposer, ...args);

function fails(result: ReturnType<typeof papr>, message: RegExp) {
  assert.ok(result.code !== 0, `exit code ${result.code}, stdout: ${result.out}`);
  assert.match(result.err, message);
  assert.not.match(result.err, /    at /, "no stack trace for a user error");
}

test("classify prints top-k, tokens kept, MACs and time; writes the explain picture and the trace", () => {
  const explain = join(dir, "explain.png");
  const trace = join(dir, "trace.json");
  const r = classify(
    join(IMAGES, "rgb8_300x200.png"),
    "--z",
    "0.5",
    "--topk",
    "3",
    "--explain",
    explain,
    "--trace",
    trace,
  );
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /z = 0\.5: kept 98 of 196 patches \(99 tokens per block\)/);
  assert.match(r.out, / 1\. label \d +\d+\.\d\d%/);
  assert.match(
    r.out,
    /MACs: [\d.]+ G \(proposer [\d.]+ \+ patch embed [\d.]+ \+ blocks [\d.]+ \+ head [\d.]+\) vs [\d.]+ G unpruned = [\d.]+%/,
  );
  assert.match(r.out, /time: [\d.]+ ms/);
  const png = readFileSync(explain);
  assert.equal([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  const json = JSON.parse(readFileSync(trace, "utf8"));
  assert.is(json.keptCount, 98);
  assert.equal(json.tokensPerBlock, [99, 99]);
  assert.is(json.kept.length, 98);
  assert.is(
    json.mask
      .join("")
      .split("")
      .filter((c: string) => c === "1").length,
    98,
  );
  const tensors = readSafetensors(readFileSync(join(dir, "trace.safetensors"))).tensors;
  assert.equal(tensors.get("features")!.shape, [1, 576, 7, 7]);
  assert.equal(tensors.get("significance")!.shape, [14, 14]);
  assert.equal(tensors.get("input")!.shape, [1, 3, 224, 224]);
});

test("classify --tome / --attention-keep: tokens per block, the per-block trace, the merged-groups picture", () => {
  const explain = join(dir, "tome.png");
  const trace = join(dir, "tome.json");
  // depth 2: with z < 1 ToMe merges in the second half, block 1 only
  const r = classify(
    join(IMAGES, "rgb8_300x200.png"),
    "--z",
    "0.5",
    "--tome",
    "8",
    "--explain",
    explain,
    "--trace",
    trace,
  );
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /kept 98 of 196 patches, then tome\(r=8 from block 1\): tokens per block 99 99 -> 91/);
  const json = JSON.parse(readFileSync(trace, "utf8"));
  assert.equal(
    json.blocks.map((b: { tokensOut: number }) => b.tokensOut),
    [99, 91],
  );
  assert.is(json.blocks[1].merges.src.length, 8);
  const png = readFileSync(explain);
  const plainWidth = readFileSync(join(dir, "explain.png")).readUInt32BE(16); // from the test above
  assert.ok(png.readUInt32BE(16) > plainWidth, "the explain picture gains the merged-groups panel");
  const a = classify(join(IMAGES, "rgb8_300x200.png"), "--z", "1", "--attention-keep", "0.25");
  assert.is(a.code, 0, a.err);
  assert.match(
    a.out,
    /kept 196 of 196 patches, then attention-pruning\(0: keep 0\.25\): tokens per block 197 50 -> 50/,
  );
  const image = join(IMAGES, "rgb8_64x48.png");
  fails(
    classify(image, "--tome", "4", "--attention-keep", "0.5"),
    /give at most one of --tome, --attention-keep and --adaptive/,
  );
  fails(classify(image, "--tome", "2.5"), /r must be an integer >= 0, got 2\.5/);
  fails(classify(image, "--attention-keep", "1.5"), /keepRate must be in \(0, 1\], got 1\.5/);
});

test("classify piped into a reader that stops early (| head -1) ends quietly", () => {
  const command =
    `"${process.execPath}" --import tsx src/cli/main.ts classify --weights "${vit}" --proposer "${proposer}" ` +
    `"${join(IMAGES, "rgb8_64x48.png")}" "${join(IMAGES, "rgb8_300x200.png")}" | head -1`;
  const r = spawnSync("sh", ["-c", command], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.stdout.trim(), join(IMAGES, "rgb8_64x48.png"));
  assert.not.match(r.stderr, /EPIPE|    at /);
});

test("classify: JPEG input and the patch-only convention", () => {
  const r = classify(join(IMAGES, "baseline420_64x48.jpg"), "--z", "0.3", "--convention", "patches");
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /kept 58 of 196 patches \(59 tokens per block\)/);
});

test("classify --backend js | wasm: the same top-5 and kept tokens; an unknown backend is refused", () => {
  const image = join(IMAGES, "rgb8_300x200.png");
  const lines = (out: string) => out.split("\n").filter((l) => /^\s+\d\. |kept \d+ of/.test(l));
  const js = classify(image, "--backend", "js", "--threads", "1");
  assert.is(js.code, 0, js.err);
  if (availableBackends().includes("wasm")) {
    const wasm = classify(image, "--backend", "wasm");
    assert.is(wasm.code, 0, wasm.err);
    assert.equal(lines(wasm.out), lines(js.out));
  }
  fails(classify(image, "--backend", "gpu"), /--backend: 'gpu' is not one of js, wasm/);
});

test("classify refuses bad input with a clear message and a non-zero exit", () => {
  fails(classify(join(dir, "missing.png")), /missing\.png: no such file/);
  const text = join(dir, "notes.txt");
  writeFileSync(text, "hello, not an image");
  fails(classify(text), /notes\.txt: not a PNG, JPEG or BMP image/);
  const png = readFileSync(join(IMAGES, "rgb8_64x48.png"));
  const truncatedPng = join(dir, "truncated.png");
  writeFileSync(truncatedPng, png.subarray(0, png.length - 40));
  fails(classify(truncatedPng), /truncated\.png: .*(truncated|corrupt)/i);
  const jpg = readFileSync(join(IMAGES, "baseline444_64x48.jpg"));
  const truncatedJpg = join(dir, "truncated.jpg");
  writeFileSync(truncatedJpg, jpg.subarray(0, Math.floor(jpg.length / 2)));
  fails(classify(truncatedJpg), /truncated\.jpg: .*(truncated|corrupt)/i);
  const image = join(IMAGES, "rgb8_64x48.png");
  for (const z of ["0", "1.5", "-0.2"])
    fails(classify(image, `--z=${z}`), /--z: keep ratio z must be a number in \(0, 1\]/);
  fails(classify(image, "--z", "half"), /--z: 'half' is not a number/);
});

test("classify refuses missing, wrong-architecture and mismatched weights", () => {
  const image = join(IMAGES, "rgb8_64x48.png");
  fails(
    papr("classify", image, "--weights", join(dir, "nowhere"), "--proposer", proposer),
    /backbone \(--weights\) directory '.*nowhere' does not exist/,
  );
  fails(
    papr("classify", image, "--weights", proposer, "--proposer", proposer),
    /a mobilenetv3 is not a ViT or hierarchical backbone/,
  );
  fails(papr("classify", image, "--weights", vit, "--proposer", vit), /a ViT cannot be the proposer/);
  fails(
    papr("classify", image, "--weights", vit, "--proposer", proposer256),
    /proposer input size 256 .* differs from backbone input size 224/,
  );
  // a weights file whose tensors do not fit its config.json
  const broken = modelDir("broken", "deit_tiny_patch16_224", {}, { depth: 2, numClasses: 10 });
  const weights = readSafetensors(readFileSync(join(broken, "model.safetensors"))).tensors;
  weights.delete("blocks.1.mlp.fc2.weight");
  weights.set("pos_embed", syntheticTensor("x", [1, 50, 192], 1));
  writeFileSync(join(broken, "model.safetensors"), writeSafetensors(weights));
  fails(
    papr("classify", image, "--weights", broken, "--proposer", proposer),
    /missing \(1\): blocks\.1\.mlp\.fc2\.weight \[192, 768\][\s\S]*pos_embed: expected \[1, 197, 192\], got \[1, 50, 192\]/,
  );
});

test("convert: a torchvision-named checkpoint converts; bad checkpoints give clear errors", () => {
  const out = join(dir, "converted");
  fails(
    papr("convert", join(ROOT, "test/fixtures/checkpoints/basic.pth"), "--arch", "resnet18", "--out", out),
    /missing \(\d+\): conv1\.weight/,
  );
  fails(
    papr("convert", join(ROOT, "test/fixtures/checkpoints/basic.pth"), "--arch", "nonsense", "--out", out),
    /unknown --arch 'nonsense'/,
  );
  fails(
    papr(
      "convert",
      join(ROOT, "test/fixtures/checkpoints/forbidden_os_system.pth"),
      "--arch",
      "resnet18",
      "--out",
      out,
    ),
    /refusing global 'os\.system'/,
  );
  const pth = readFileSync(join(ROOT, "test/fixtures/checkpoints/basic.pth"));
  const truncated = join(dir, "truncated.pth");
  writeFileSync(truncated, pth.subarray(0, pth.length - 100));
  fails(papr("convert", truncated, "--arch", "resnet18", "--out", out), /truncated\.pth/);
  assert.not.ok(existsSync(out), "nothing written on failure");
  fails(papr("convert", join(dir, "none.pth"), "--arch", "resnet18", "--out", out), /none\.pth/);
  fails(papr("convert"), /give exactly one checkpoint/);
  fails(papr("frobnicate"), /unknown command 'frobnicate'/);
});

test.run();
