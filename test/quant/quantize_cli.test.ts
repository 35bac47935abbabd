// papr quantize on the scene proposer (weights/mobilenetv3-scenes, calibrated on 4 test scenes) loaded by
// classify as the proposer, and on the real ImageNet MobileNetV1-0.25 (../shared): convert, quantize to W8A8 (power of
// two, per-tensor squared-error exponents) from 10 shared photos, then load the quantized folder in
// eval-folder (as the classifier) and classify (as the proposer). Plus the usage errors. Skipped where
// ../shared is absent (the argument errors run everywhere).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedDir } from "../golden.ts";
import { skipUnless } from "../skip.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function papr(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `papr classify` of the bag scene at z = 0.5 with `proposer` (a quantized folder) and the default backbone: it runs
 * and keeps 99 patches (floor(198 z), the distilled backbone counting its two prefix tokens). */
function classifyBagWith(proposer: string): { out: string } {
  const run = papr("classify", "examples/web/images/scene-test-0000-bag.png", "--proposer", proposer, "--z", "0.5");
  assert.is(run.code, 0, run.err);
  assert.match(run.out, /kept 99 of 196 patches/);
  return run;
}

test("papr quantize: argument errors name the flag", () => {
  const tmp = mkdtempSync(join(tmpdir(), "papr-quant-args-"));
  const noBits = papr("quantize", "weights/mobilenetv3-scenes", "--calibration", tmp, "--out", join(tmp, "q"));
  assert.is(noBits.code, 1);
  assert.match(noBits.err, /--bits is required/);
  const badBits = papr(
    "quantize",
    "weights/mobilenetv3-scenes",
    "--bits",
    "w9a8",
    "--calibration",
    tmp,
    "--out",
    join(tmp, "q"),
  );
  assert.match(badBits.err, /--bits: bits 'w9a8': expected w<2-8>a<2-8>/);
  const family = papr(
    "quantize",
    "weights/vit-scenes",
    "--bits",
    "w8a8",
    "--calibration",
    tmp,
    "--out",
    join(tmp, "q"),
  );
  assert.match(family.err, /is a vit; quantization supports mobilenetv1 \(conv-BN-ReLU6 chains\) and mobilenetv3/);
  const split = papr(
    "quantize",
    "weights/mobilenetv3-scenes",
    "--bits",
    "w8a8",
    "--calibration",
    "scenes:val:3",
    "--out",
    join(tmp, "q"),
  );
  assert.match(split.err, /--calibration scenes:val:3: expected scenes:train:N or scenes:test:N/);
  const items = papr(
    "quantize",
    "weights/mobilenetv3-scenes",
    "--bits",
    "w8a8",
    "--calibration",
    "scenes:train:2",
    "--fashion-mnist",
    join(tmp, "nothing-here"),
    "--out",
    join(tmp, "q"),
  );
  assert.match(items.err, /cannot read the Fashion-MNIST train items from .*nothing-here/);
});

test("papr quantize: the scene proposer (MobileNetV3) to W8A8 on 4 scenes, then classify --proposer", () => {
  const tmp = mkdtempSync(join(tmpdir(), "papr-quant-v3-"));
  const quantized = join(tmp, "w8a8");
  const q = papr(
    "quantize",
    "weights/mobilenetv3-scenes",
    "--bits",
    "w8a8",
    "--method",
    "pow2-mse",
    "--calibration",
    "scenes:test:4",
    "--out",
    quantized,
  );
  assert.is(q.code, 0, q.err);
  assert.match(q.out, /\(mobilenetv3_small_100\) to W8A8 with pow2-mse on 4 calibration images/);
  const config = JSON.parse(readFileSync(join(quantized, "config.json"), "utf8"));
  assert.is(config.quantization.graph, "mobilenetv3");
  assert.is(config.quantization.convs.length, 54); // stem 1, ds 4, ir 2 x 3 + 8 x 5 (with SE), cn 1, head 2
  const proposer = classifyBagWith(quantized);
  // the float proposer: Bag 80.6%; the W8A8 proposer (calibrated on test scenes 0-3) measured Bag first too
  assert.match(proposer.out, /1\. Bag /);
});

skipUnless(sharedDir(), "../shared absent")(
  "papr quantize: MobileNetV1-0.25 to W8A8, loaded by eval-folder (classifier) and classify (proposer)",
  () => {
    const shared = sharedDir()!;
    const tmp = mkdtempSync(join(tmpdir(), "papr-quant-"));
    const float = join(tmp, "float");
    const convert = papr(
      "convert",
      join(shared, "weights/mobilenet_v1_0.25_224_tfjs/mobilenet_model.json"),
      "--arch",
      "mobilenet_v1_0.25_224",
      "--out",
      float,
      "--labels",
      join(shared, "data/imagenet-classes.txt"),
    );
    assert.is(convert.code, 0, convert.err);
    const photos = join(shared, "data/imagenet-samples");
    const calibration = join(tmp, "calibration");
    mkdirSync(calibration);
    for (const name of readdirSync(photos)
      .sort()
      .filter((_, i) => i % 50 === 0))
      symlinkSync(join(photos, name), join(calibration, name)); // 10 photos
    const quantized = join(tmp, "w8a8");
    const q = papr(
      "quantize",
      float,
      "--bits",
      "w8a8",
      "--method",
      "pow2-mse",
      "--calibration",
      calibration,
      "--out",
      quantized,
    );
    assert.is(q.code, 0, q.err);
    assert.match(q.out, /to W8A8 with pow2-mse on 10 calibration images/);
    const config = JSON.parse(readFileSync(join(quantized, "config.json"), "utf8"));
    assert.is(config.quantization.scheme, "pow2");
    assert.ok(
      config.quantization.units.every((u: { weightScale: number[] }) =>
        u.weightScale.every((s) => Number.isInteger(Math.log2(s))),
      ),
    );
    const evaluation = papr("eval-folder", photos, "--weights", quantized, "--limit", "40");
    assert.is(evaluation.code, 0, evaluation.err);
    const m = /40 images, top-1 ([\d.]+)% \(\d+\)/.exec(evaluation.out);
    assert.ok(m, evaluation.out);
    // the float model: 57% top-1 on all 500 photos; W8A8 measured 47.5% on these 40; a broken path lands near 0
    assert.ok(Number(m![1]) >= 30, `top-1 ${m![1]}%`);
    classifyBagWith(quantized);
    const again = papr(
      "quantize",
      quantized,
      "--bits",
      "w4a8",
      "--calibration",
      calibration,
      "--out",
      join(tmp, "again"),
    );
    assert.match(again.err, /is already quantized/);
  },
);

test.run();
