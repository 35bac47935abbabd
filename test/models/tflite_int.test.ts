// The integer path (src/models/tflite_int.ts) on the quantized MobileNetV2 in ../shared against
// tools/golden/tflite_int_ref.py (numpy, written from the same specification, its own .tflite reader):
// the uint8 logits must be equal to the last integer, and every operator's output checksum too (so a
// mismatch names the first operator that differs). Inputs: the center 224x224 pixels of three BMP photos
// in ../shared/data/coral-photos (BMP decodes to the same bytes in PIL and src/image; no resizing) and
// a formula pattern. Skipped when ../shared is absent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { test } from "uvu";
import { readTflite } from "../../src/models/load/tflite.ts";
import { prepareIntegerModel, type IntegerModel } from "../../src/models/tflite_int.ts";
import { fixture, sharedDir } from "../golden.ts";
import { skipUnless } from "../skip.ts";
import { centerCrop224 } from "./tflite_inputs.ts";

const shared = sharedDir();
const MODEL = "weights/mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite";
const PHOTOS = ["cat", "grace_hopper", "dragonfly"];
let cached: IntegerModel | null = null;
const model = () =>
  (cached ??= prepareIntegerModel(readTflite(new Uint8Array(readFileSync(join(shared!, MODEL))), MODEL)));
const golden = fixture("tflite_int");

/** Each operator's output summed mod 65521, as gen_tflite_int.py computes them. */
function checksums(m: IntegerModel, tensors: Map<number, Int32Array>): number[] {
  return m.model.operators.map((op) => {
    const values = tensors.get(op.outputs[0]);
    if (!values) return 0;
    let sum = 0;
    for (const v of values) sum = (sum + v) % 65521;
    return sum;
  });
}

function firstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

const withShared = skipUnless(shared, "../shared absent");

for (const name of PHOTOS) {
  withShared(`tflite integer path: ${name}.bmp, every operator and the uint8 logits equal the numpy reference`, () => {
    const m = model();
    const run = m.run(centerCrop224(name));
    const sums = checksums(m, run.tensors);
    const op = firstDifference(sums, golden.get(`checksums_${name}`).data);
    assert.is(op, -1, `operator ${op} (${m.model.operators[op]?.opcode}) output differs from the reference`);
    const at = firstDifference(run.logits, golden.get(`logits_${name}`).data);
    assert.is(at, -1, `logit ${at}: ${run.logits[at]} vs reference ${golden.get(`logits_${name}`).data[at]}`);
  });
}

withShared("tflite integer path: the pattern input's logits equal the reference, and one pixel changes them", () => {
  const m = model();
  const input = new Int32Array(224 * 224 * 3);
  for (let y = 0; y < 224; y++)
    for (let x = 0; x < 224; x++)
      for (let c = 0; c < 3; c++) input[(y * 224 + x) * 3 + c] = (x * 7 + y * 13 + c * 50) % 256;
  const expected = golden.get("logits_pattern").data;
  assert.is(firstDifference(m.run(input).logits, expected), -1);
  // the golden can fail: a slightly different input gives different logits
  input.fill(255, 0, 3 * 224 * 8);
  assert.is.not(firstDifference(m.run(input).logits, expected), -1);
});

withShared("tflite integer path: model summary (ops, MACs, tensors PaPr reads)", () => {
  const m = model();
  assert.is(m.macs, 300_775_552); // the published 300 M multiply-adds of MobileNetV2 1.0 at 224
  assert.equal(m.features.shape, [1, 7, 7, 1280]);
  assert.equal(m.logits.shape, [1, 1001]);
  assert.equal(m.input.shape, [1, 224, 224, 3]);
});

test.run();
