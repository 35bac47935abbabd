// `papr classify-video` (src/cli/classify_video.ts) on small synthetic model folders: a 4-frame 32 px VideoMAE
// (2 x 2 x 2 = 8 tokens) and a real-size X3D-XS proposer run on a 2 x 64 x 64 proposer clip (a few M MACs), with a
// short APNG clip and a frame folder. Most runs call classifyVideo in this process (fast); one runs the real binary.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { classify } from "../../src/cli/classify.ts";
import { classifyVideo } from "../../src/cli/classify_video.ts";
import { saveModelDir } from "../../src/cli/files.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { encodeApng, encodePng } from "../../src/image/encode.ts";
import type { RgbClip } from "../../src/image/clip.ts";
import { PRESETS, convertCheckpoint, familySpec, type ModelFile } from "../../src/models/registry.ts";
import { x3dSpec } from "../../src/models/x3d.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { Mulberry32 } from "../../src/tensor/random.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "papr-classify-video-"));
const LABELS = ["walk", "run", "jump", "swim", "sit"];

function modelDir(name: string, arch: string, model: Record<string, unknown>, file: Partial<ModelFile> = {}): string {
  const p = PRESETS[arch];
  const config: ModelFile = {
    format: "papr-ts/1",
    arch,
    family: p.family,
    model: { ...p.model, ...model },
    preprocess: p.preprocess,
    ...file,
  };
  const out = join(dir, name);
  saveModelDir(out, config, syntheticWeights(familySpec(config.family, config.model), 3));
  return out;
}

const vit = modelDir(
  "videomae",
  "videomae_small",
  { numFrames: 4, imageSize: 32, embedDim: 16, numHeads: 2, depth: 1, numClasses: 5 },
  { preprocess: { ...PRESETS.videomae_small.preprocess, inputSize: 32 }, labels: LABELS },
);
const x3d = modelDir("x3d", "x3d_xs", { numClasses: 5 });
const image = modelDir("mnv3", "mobilenetv3_small_100", { numClasses: 5 });

/** A clip of `frames` frames of a bright square moving right over noise. */
function movingSquare(frames: number, width: number, height: number): RgbClip {
  const rng = new Mulberry32(7);
  const data = new Uint8Array(frames * width * height * 3);
  for (let t = 0; t < frames; t++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const inside = x >= 4 + 4 * t && x < 16 + 4 * t && y >= 8 && y < 20;
        for (let c = 0; c < 3; c++)
          data[((t * height + y) * width + x) * 3 + c] = inside ? 240 : 40 + rng.uniform() * 40;
      }
  return { frames, width, height, data };
}

const apng = join(dir, "clip.png");
writeFileSync(apng, encodeApng(movingSquare(6, 40, 30)));
const folder = join(dir, "frames");
mkdirSync(folder);
const still = movingSquare(3, 40, 30);
for (let t = 0; t < 3; t++) {
  const bytes = 40 * 30 * 3;
  writeFileSync(join(folder, `f${t + 1}.png`), encodePng(still.data.subarray(t * bytes, (t + 1) * bytes), 40, 30));
}

/** Runs classifyVideo in this process: { out: printed lines, error: the thrown message or null }. */
async function run(...args: string[]): Promise<{ out: string; error: string | null }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(" "));
  try {
    await classifyVideo([...args, "--threads", "1"]);
    return { out: lines.join("\n"), error: null };
  } catch (e) {
    return { out: lines.join("\n"), error: (e as Error).message };
  } finally {
    console.log = log;
  }
}

const withProposer = (...args: string[]) =>
  run("--weights", vit, "--proposer", x3d, "--proposer-clip", "2x64x64", ...args);

test("classify-video prints top-5, tokens kept and MACs with the proposer; writes the explain strip and the trace", async () => {
  const explain = join(dir, "out", "strip.png");
  const trace = join(dir, "out", "trace.json");
  const r = await withProposer(apng, "--z", "0.5", "--explain", explain, "--trace", trace);
  assert.is(r.error, null);
  assert.match(r.out, /clip\.png \(4 of 6 frames, 40x30\)/);
  assert.match(r.out, /z = 0\.5: kept 4 of 8 tokens \(grid 2 x 2 x 2\), proposer x3d_xs on 2x64x64/);
  for (const label of LABELS) assert.match(r.out, new RegExp(`\\d\\. ${label}\\s+\\d+\\.\\d\\d%`));
  const macs =
    /MACs: ([\d.]+) G \(proposer ([\d.]+) \+ patch embed [\d.]+ \+ blocks [\d.]+ \+ head [\d.]+\) vs ([\d.]+) G unpruned/.exec(
      r.out,
    );
  assert.ok(macs, r.out);
  assert.ok(Number(macs![2]) > 0, "the proposer's MACs are counted");
  // the strip: 2 panels of 32 x 32 (the frames as the backbone saw them) and a label row
  const strip = decodeImage(readFileSync(explain), explain);
  assert.is(strip.width, 2 * 32 + 6);
  assert.ok(strip.height > 32);
  const json = JSON.parse(readFileSync(trace, "utf8"));
  assert.is(json.keptCount, 4);
  assert.equal(json.tokenGrid, [2, 2, 2]);
  assert.equal(json.proposerClip, [2, 64, 64]);
  assert.is(json.proposer, "x3d_xs");
  assert.is(json.mask.flat().join("").replaceAll("0", "").length, 4);
  assert.is(json.significance.length, 2);
  assert.ok(json.macs.proposer > 0 && json.macs.total < json.unprunedMacs.total + json.macs.proposer);
  const tensors = readSafetensors(readFileSync(join(dir, "out", "trace.safetensors"))).tensors;
  assert.equal(tensors.get("features")!.shape.slice(0, 3), [1, 432, 2]);
  assert.equal(tensors.get("proposer_input")!.shape, [1, 3, 2, 64, 64]);
  assert.equal(tensors.get("significance")!.shape, [2, 2, 2]);
  // the kept tokens are the four most significant
  const significance = [...tensors.get("significance")!.data];
  const top4 = significance
    .map((v, i) => [v, i])
    .sort((a, b) => b[0] - a[0])
    .slice(0, 4)
    .map(([, i]) => i);
  assert.equal(json.kept, top4);
});

test("classify-video on a frame folder (3 frames sampled up to 4); z = 1 needs no proposer", async () => {
  const r = await run("--weights", vit, "--z", "1", folder);
  assert.is(r.error, null);
  assert.match(r.out, /frames \(4 of 3 frames, 40x30\)/);
  assert.match(r.out, /kept 8 of 8 tokens/);
  assert.match(r.out, /MACs: ([\d.]+) G \(proposer 0\.000 .* = 100\.0%/);
});

test("classify-video refuses bad input with a clear message", async () => {
  const cases: [string[], RegExp][] = [
    [["--weights", vit, apng, "--z", "0.5"], /--proposer DIR .* is needed/],
    [["--weights", image, "--z", "1", apng], /mobilenetv3 .* is an image model, not a video model/],
    [["--weights", x3d, "--z", "1", apng], /a x3d is not a video ViT/],
    [["--weights", vit, "--proposer", vit, apng], /a video ViT cannot be the proposer/],
    [["--weights", vit, "--z", "1", "--frames", "8", apng], /--frames 8: the backbone .* takes clips of 4 frames/],
    [["--weights", vit, "--proposer", x3d, "--proposer-clip", "8x160", apng], /--proposer-clip: '8x160' is not TxHxW/],
    [["--weights", vit, "--z", "1.5", apng], /--z: keep ratio z must be a number in \(0, 1\]/],
    [["--weights", vit, "--z", "1", "--explain", apng, apng], /--explain: would write .*clip\.png, which is an input/],
    [["--weights", vit, "--z", "1", "--explain", join(folder, "x.png"), folder], /inside the frame folder/],
    [["--weights", vit, "--z", "1", join(dir, "missing.png")], /missing\.png/],
    [["--weights", vit, "--z", "1"], /give one clip/],
    [["--z", "1", apng], /--weights DIR .* is required/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    assert.ok(r.error !== null, `${args.join(" ")}: no error`);
    assert.match(r.error!, message, args.join(" "));
  }
  assert.not.ok(existsSync(join(folder, "x.png")));
});

test("the papr binary dispatches classify-video; image commands refuse a video folder", async () => {
  const ok = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "classify-video",
      apng,
      "--weights",
      vit,
      "--z",
      "1",
      "--threads",
      "1",
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /kept 8 of 8 tokens/);
  const picture = join(ROOT, "test/fixtures/images/rgb8_300x200.png");
  try {
    await classify([picture, "--weights", vit, "--proposer", image, "--threads", "1"]);
    assert.unreachable("classify ran a video folder");
  } catch (e) {
    assert.match(
      (e as Error).message,
      /videomae_small is a video classifier \(clips, not images\); classify-video runs it/,
    );
  }
});

test("convert maps a PyTorchVideo-named X3D checkpoint to an x3d folder config (classes read from the head)", () => {
  const tensors = syntheticWeights(x3dSpec({ variant: "s", numClasses: 7 }));
  const { file, weights } = convertCheckpoint({ tensors, source: "x3d_s.pyth" }, "x3d_s");
  assert.is(file.family, "x3d");
  assert.equal(file.model, { variant: "s", numClasses: 7 });
  assert.is(weights.size, tensors.size);
  assert.throws(() => convertCheckpoint({ tensors, source: "x3d_s.pyth" }, "r3d_18"), /r3d_18/);
});

test.run();
