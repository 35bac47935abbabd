// Hostile command lines (issue #14), run in-process through the commands' own functions (one
// spawned process checks what the terminal finally shows): thread counts, non-finite forwards,
// convert's atomic folder and its option checks, outputs that would replace inputs, and
// eval-folder's options, class count and unreadable images. Every case ends in a clear one-line
// UserError naming the file or flag, or in the right result.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { classify } from "../../src/cli/classify.ts";
import { convert } from "../../src/cli/convert.ts";
import { evalFolder } from "../../src/cli/eval_folder.ts";
import { UserError, saveModelDir } from "../../src/cli/files.ts";
import { encodePng } from "../../src/image/encode.ts";
import { PRESETS, buildModel, familySpec, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { NonFiniteError, Papr } from "../../src/papr/papr.ts";
import { tome } from "../../src/papr/tome.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import type { Vit } from "../../src/models/vit.ts";
import { setThreads, stopThreads } from "../../src/tensor/backend.ts";
import { threadCount } from "../../src/tensor/parallel.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "papr-fuzz-cli-"));
const IMAGE = join(ROOT, "test/fixtures/images/rgb8_64x48.png");
const CHECKPOINT = join(ROOT, "test/fixtures/convert/vit_timm.safetensors"); // deit_tiny, 2 heads

// A float32 weight so large that the forward overflows to infinity (a loader accepts it: it is finite).
const OVERFLOW = 3e38;

function modelFile(arch: string, model: Record<string, unknown>, labels?: string[]): ModelFile {
  const p = PRESETS[arch];
  return {
    format: "papr-ts/1",
    arch,
    family: p.family,
    model: { ...p.model, ...model },
    preprocess: p.preprocess,
    labels,
  };
}

function weightsFor(file: ModelFile, overflow?: string): Map<string, Tensor> {
  const weights = syntheticWeights(familySpec(file.family, file.model));
  if (overflow) weights.get(overflow)!.data.fill(OVERFLOW);
  return weights;
}

function modelDir(name: string, file: ModelFile, overflow?: string): string {
  const out = join(dir, name);
  saveModelDir(out, file, weightsFor(file, overflow));
  return out;
}

const vitFile = modelFile("deit_tiny_patch16_224", { depth: 2, numClasses: 10 });
const convFile = modelFile("mobilenetv3_small_100", { numClasses: 10 });
const vit = modelDir("vit", vitFile);
const proposer = modelDir("proposer", convFile);

/** Runs a command in-process; returns what it printed, or the error it threw. */
async function run(
  command: (argv: string[]) => unknown,
  ...argv: string[]
): Promise<{ out: string; err: string; error?: Error }> {
  let out = "";
  let err = "";
  const log = console.log;
  const write = process.stderr.write;
  console.log = (...parts: unknown[]) => void (out += parts.join(" ") + "\n");
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    await command(argv);
    return { out, err };
  } catch (e) {
    return { out, err, error: e as Error };
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}

/** Asserts a one-line UserError matching `pattern`. */
function refused(result: { error?: Error }, pattern: RegExp): void {
  assert.ok(result.error, `expected an error matching ${pattern}`);
  assert.instance(result.error, UserError, `${result.error!.name}: ${result.error!.message}`);
  assert.match(result.error!.message, pattern);
  assert.not.ok(result.error!.message.includes("\n"), `more than one line: ${result.error!.message}`);
}

// ---- threads -------------------------------------------------------------------------------

test("--threads above the cores is refused before a worker starts; the library refuses it unless forced", async () => {
  stopThreads();
  refused(
    await run(classify, IMAGE, "--weights", vit, "--proposer", proposer, "--threads", "1000"),
    /^--threads: 1000 is more than the \d+ available cores \(add --force-threads to start them anyway\)$/,
  );
  assert.is(threadCount(), 1, "no worker started");
  refused(
    await run(classify, IMAGE, "--threads", "1000", "--force-threads"),
    /--threads: 1000 is more than the limit of 256/,
  );
  refused(await run(classify, IMAGE, "--threads", "2.5"), /--threads: '2\.5' is not a positive integer/);
  try {
    await setThreads(1000);
    assert.unreachable("setThreads(1000) should throw");
  } catch (e) {
    assert.match((e as Error).message, /setThreads: 1000 threads is more than the \d+ available cores/);
  }
  assert.is(threadCount(), 1);
});

// ---- non-finite forward ---------------------------------------------------------------------

test("a proposer or backbone that computes NaN / infinity stops the forward naming the step", () => {
  const x = syntheticTensor("fuzz.x", [1, 3, 224, 224], 1);
  const good = buildModel(vitFile, weightsFor(vitFile));
  const goodProposer = buildModel(convFile, weightsFor(convFile));
  const badProposer = buildModel(convFile, weightsFor(convFile, "conv_stem.weight"));
  const badBackbone = buildModel(vitFile, weightsFor(vitFile, "patch_embed.proj.weight"));
  // a head that computes NaN (blocks fine): the guard on the logits is the one that must fire
  const nanHead = (vit: Vit): Vit => ({ ...vit, head: () => new Tensor(new Float32Array(10).fill(NaN), [10]) });
  if (
    good.family !== "vit" ||
    badBackbone.family !== "vit" ||
    goodProposer.family === "vit" ||
    badProposer.family === "vit"
  )
    throw new Error("families");
  const cases: [Papr, object, RegExp][] = [
    [
      new Papr(good.vit, badProposer.convnet),
      {},
      /^PaPr: proposer features \(step 2\) has \d+ non-finite values \(NaN or infinity\) of \d+/,
    ],
    [
      new Papr(good.vit, badProposer.convnet),
      { reducer: tome({ schedule: [0, 2] }) },
      /^PaPr: proposer features \(step 2\)/,
    ],
    [
      new Papr(nanHead(good.vit), goodProposer.convnet),
      {},
      /^PaPr: logits \(step 8, backbone head\) has 10 non-finite values/,
    ],
    [new Papr(nanHead(good.vit), goodProposer.convnet), { z: 1 }, /^PaPr: logits \(step 8, backbone head\)/],
    [
      new Papr(badBackbone.vit, goodProposer.convnet),
      {},
      /^PaPr: patch embedding \(step 7\) has \d+ non-finite values/,
    ],
    [
      new Papr(badBackbone.vit, goodProposer.convnet),
      { reducer: tome({ schedule: [0, 2] }) },
      /^PaPr: patch embedding \(step 7\) has \d+ non-finite values/,
    ],
  ];
  for (const [papr, options, pattern] of cases) {
    try {
      papr.predict(x, { z: 0.5, ...options });
      assert.unreachable(`expected ${pattern}`);
    } catch (e) {
      assert.instance(e, NonFiniteError, String(e));
      assert.match((e as Error).message, pattern);
    }
  }
});

test("classify and eval-folder report a non-finite forward as a one-line error naming the image or the model", async () => {
  const badProposer = modelDir("bad-proposer", convFile, "conv_stem.weight");
  refused(
    await run(classify, IMAGE, "--weights", vit, "--proposer", badProposer),
    /rgb8_64x48\.png: PaPr: proposer features \(step 2\) has \d+ non-finite values/,
  );
  const badClassifier = modelDir("bad-classifier", convFile, "conv_stem.weight");
  const { folder, classes } = imageFolder("nan-folder", 2, 10);
  refused(
    await run(evalFolder, folder, "--weights", badClassifier, "--classes", classes),
    /--weights .*bad-classifier: PaPr: logits \(classifier head\) has 10 non-finite values/,
  );
});

// ---- convert --------------------------------------------------------------------------------

const convertArgs = (out: string, ...more: string[]) => [
  CHECKPOINT,
  "--arch",
  "deit_tiny_patch16_224",
  "--heads",
  "2",
  "--out",
  out,
  ...more,
];

test("convert validates --preprocess before writing anything", async () => {
  const out = join(dir, "converted-bad");
  refused(
    await run(convert, ...convertArgs(out, "--preprocess", '{"cropPct":0}')),
    /^--preprocess: cropPct must be a number in \[0\.25, 2\], got 0$/,
  );
  refused(
    await run(convert, ...convertArgs(out, "--preprocess", '{"inputSize":256}')),
    /--preprocess: inputSize 256 differs from the model's image size 224/,
  );
  refused(
    await run(convert, ...convertArgs(out, "--preprocess", '{"cropPt":1}')),
    /--preprocess: unknown field 'cropPt'/,
  );
  refused(await run(convert, ...convertArgs(out, "--preprocess", "[1]")), /--preprocess: must be a JSON object/);
  refused(
    await run(convert, ...convertArgs(out, "--preprocess", '{"mean":[0.5,0.5]}')),
    /--preprocess: mean and std must have 3 finite numbers/,
  );
  refused(await run(convert, ...convertArgs(out, "--heads=-2")), /--heads: '-2' is not a positive integer/);
  assert.not.ok(existsSync(out), "nothing written");
  const ok = await run(convert, ...convertArgs(out, "--preprocess", '{"cropPct":1}'));
  assert.is(ok.error, undefined, String(ok.error));
  assert.is(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).preprocess.cropPct, 1);
});

test("convert refuses a non-empty --out without --force; with --force replaces it whole; never an --out holding its input", async () => {
  const out = join(dir, "converted-existing");
  mkdirSync(out);
  writeFileSync(join(out, "stale.txt"), "old");
  refused(
    await run(convert, ...convertArgs(out)),
    /--out .*converted-existing: folder exists and is not empty \(add --force to replace it\)/,
  );
  assert.equal(readdirSync(out), ["stale.txt"]);
  const forced = await run(convert, ...convertArgs(out, "--force"));
  assert.is(forced.error, undefined, String(forced.error));
  assert.equal(readdirSync(out).sort(), ["config.json", "model.safetensors"]);
  assert.equal(
    readdirSync(dir).filter((f) => f.startsWith(".")),
    [],
    "no temporary folder left",
  );
  refused(
    await run(convert, ...convertArgs(join(ROOT, "test/fixtures/convert"), "--force")),
    /--out .*convert: contains the input .*vit_timm\.safetensors/,
  );
});

test("a model folder write that fails half-way leaves the old folder as it was", () => {
  const out = modelDir("half-way", vitFile);
  const before = readFileSync(join(out, "model.safetensors"));
  const broken = { ...convFile, source: 1n } as unknown as ModelFile; // JSON.stringify throws on a BigInt
  assert.throws(
    () => saveModelDir(out, broken, weightsFor(convFile), { force: true }),
    /cannot write model folder .*half-way: Do not know how to serialize a BigInt/,
  );
  assert.equal(readFileSync(join(out, "model.safetensors")), before, "old weights untouched");
  assert.equal(
    readdirSync(dir).filter((f) => f.startsWith(".")),
    [],
    "no temporary folder left",
  );
});

// ---- classify outputs -----------------------------------------------------------------------

test("--trace / --explain never write over an input image or a model file", async () => {
  const weightsBefore = readFileSync(join(vit, "model.safetensors"));
  refused(
    await run(classify, IMAGE, "--weights", vit, "--proposer", proposer, "--trace", join(vit, "model.json")),
    /^--trace: would write .*vit\/model\.safetensors, which is an input \(.*vit\/model\.safetensors\); choose another path$/,
  );
  refused(
    await run(classify, IMAGE, "--weights", vit, "--proposer", proposer, "--trace", join(proposer, "config.json")),
    /--trace: would write .*proposer\/config\.json, which is an input/,
  );
  const copy = join(dir, "input.png");
  writeFileSync(copy, readFileSync(IMAGE));
  refused(
    await run(classify, copy, "--weights", vit, "--proposer", proposer, "--explain", join(dir, ".", "input.png")),
    /--explain: would write .*input\.png, which is an input/,
  );
  assert.equal(readFileSync(join(vit, "model.safetensors")), weightsBefore);
  refused(
    await run(classify, IMAGE, "--weights", vit, "--proposer", proposer, "--topk", "0"),
    /--topk: '0' is not a positive integer/,
  );
  stopThreads();
});

// ---- eval-folder ----------------------------------------------------------------------------

const WNIDS = Array.from({ length: 1000 }, (_, i) => `n${String(10000000 + i).padStart(8, "0")}`);

/** A folder of `count` PNGs named by the first wnids, and a classes file listing `classes` wnids. */
function imageFolder(
  name: string,
  count: number,
  classes: number,
): { folder: string; classes: string; files: string[] } {
  const folder = join(dir, name);
  mkdirSync(folder);
  const files = Array.from({ length: count }, (_, i) => {
    const file = join(folder, `${WNIDS[i]}_${i}.png`);
    const pixels = syntheticTensor(`fuzz.image.${i}`, [40 * 30 * 3], 1).data.map((v) => Math.round((v + 1) * 127));
    writeFileSync(file, encodePng(Uint8Array.from(pixels), 40, 30));
    return file;
  });
  const classesPath = join(dir, `${name}-classes.txt`);
  writeFileSync(
    classesPath,
    WNIDS.slice(0, classes)
      .map((w, i) => `${i} ${w} class ${i}`)
      .join("\n") + "\n",
  );
  return { folder, classes: classesPath, files };
}

const classifier10 = modelDir("classifier10", convFile);

test("eval-folder: --limit a positive integer, --z only with --proposer, the class count matches the labels", async () => {
  const { folder, classes } = imageFolder("options", 3, 10);
  const args = [folder, "--weights", classifier10, "--classes", classes];
  refused(await run(evalFolder, ...args, "--limit=-1"), /^--limit: '-1' is not a positive integer$/);
  refused(await run(evalFolder, ...args, "--limit", "1.5"), /--limit: '1\.5' is not a positive integer/);
  refused(await run(evalFolder, ...args, "--limit", "0"), /--limit: '0' is not a positive integer/);
  refused(await run(evalFolder, ...args, "--z", "0.5"), /eval-folder: --z needs --proposer/);
  const imagenet = imageFolder("imagenet", 1, 1000);
  refused(
    await run(evalFolder, imagenet.folder, "--weights", classifier10, "--classes", imagenet.classes),
    /classifier10: the classifier has 10 classes, .*imagenet-classes\.txt lists 1000 \(give --classes with the model's own labels\)/,
  );
  const two = await run(evalFolder, ...args, "--limit", "2");
  assert.is(two.error, undefined, String(two.error));
  assert.match(two.out, /: 2 images, top-1/);
});

test("eval-folder: a corrupt image is reported with its full path, skipped, counted and listed; the rest is scored", async () => {
  const { folder, classes, files } = imageFolder("corrupt", 3, 10);
  const png = readFileSync(files[1]);
  png[60] ^= 0x40; // inside IDAT: fails its CRC
  writeFileSync(files[1], png);
  writeFileSync(files[2], png.subarray(0, 30)); // truncated
  const r = await run(evalFolder, folder, "--weights", classifier10, "--classes", classes);
  assert.is(r.error, undefined, String(r.error));
  assert.match(r.out, /: 1 images, top-1/);
  assert.ok(r.err.includes(`skipped ${files[1]}: corrupt PNG: chunk IDAT at byte 33 fails its CRC`), r.err);
  assert.ok(r.err.includes(`skipped ${files[2]}: truncated PNG`), r.err);
  assert.match(r.out, new RegExp(`skipped 2 unreadable images \\(not counted\\):\\n  ${files[1]}\\n  ${files[2]}`));
});

// ---- what the terminal shows -----------------------------------------------------------------

test("the papr command prints one line with control bytes escaped, exit 1 (one spawned process)", () => {
  const hostile = join(dir, "evil\x1b[2J.png");
  const png = readFileSync(IMAGE);
  png[20] ^= 0x07; // IHDR's height: its CRC fails before the field is read
  writeFileSync(hostile, png);
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "classify",
      hostile,
      "--weights",
      vit,
      "--proposer",
      proposer,
      "--threads",
      "1",
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.is(r.status, 1, r.stderr);
  assert.not.match(r.stderr, /[\x00-\x09\x0b-\x1f\x7f]/, "raw control bytes on stderr");
  assert.match(
    r.stderr,
    /^papr: .*evil\\x1b\[2J\.png: corrupt PNG: chunk IHDR at byte 8 fails its CRC \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\n$/,
  );
});

test.run();
