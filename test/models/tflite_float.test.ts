// The float path of the TFLite MobileNetV2 (load/tflite_models.ts -> mobilenetv2.ts with TF SAME
// padding) and the integer model as a ConvNet (tflite_int.ts integerConvNet), on the 224x224 inputs of
// gen_tflite_int.py (center pixels of three BMP photos). Skipped when ../shared is absent.
//
// Tolerance: the float path runs the dequantized weights in float32 and never rounds activations to
// uint8, so its logits differ from the integer path's by the activations' quantization noise: on
// these inputs at most 0.36, i.e. 3.6 steps of the logits' scale 0.0989; 0.6 (6 steps) is allowed,
// and the same top-1 class. Timm's symmetric padding instead (windows of every stride-2 conv
// shifted by a pixel) must break the check.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { test } from "uvu";
import { normalizeToTensor } from "../../src/image/index.ts";
import { readCheckpointFile } from "../../src/models/load/node.ts";
import { readTflite } from "../../src/models/load/tflite.ts";
import { mobilenetV2FromTflite } from "../../src/models/load/tflite_models.ts";
import { createMobileNetV2 } from "../../src/models/mobilenetv2.ts";
import { PRESETS, buildModel, convertCheckpoint } from "../../src/models/registry.ts";
import { integerConvNet, prepareIntegerModel } from "../../src/models/tflite_int.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { fixture, sharedDir } from "../golden.ts";
import { centerCrop224 } from "./tflite_inputs.ts";
import { skipUnless } from "../skip.ts";

const shared = sharedDir();
const MODEL = "weights/mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite";
const PHOTOS = ["cat", "grace_hopper", "dragonfly"];
const TOLERANCE = 0.6;
const withShared = skipUnless(shared, "../shared absent");

const load = () => readTflite(new Uint8Array(readFileSync(join(shared!, MODEL))), MODEL);
const { mean, std } = PRESETS["mobilenet_v2_1.0_224_quant"].preprocess;

/** The input as an RgbImage (uint8 HWC). */
function crop(name: string) {
  return { width: 224, height: 224, data: Uint8Array.from(centerCrop224(name)) };
}

const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

withShared("tflite float path: logits within 6 quantization steps of the integer path, same top-1", () => {
  const model = load();
  const { config, weights } = mobilenetV2FromTflite(model);
  assert.equal(config, { width: 1, numClasses: 1001, padding: "tf" });
  const tf = createMobileNetV2(config, weights);
  const symmetric = createMobileNetV2({ ...config, padding: "symmetric" }, weights);
  // the integer path's logits: the goldens of tflite_int.test.ts (equal to the integer path's), dequantized
  const q = model.tensors[model.operators[model.operators.length - 1].inputs[0]].quantization!;
  let symmetricWorst = 0;
  for (const name of PHOTOS) {
    const x = normalizeToTensor(crop(name), mean, std);
    const expected = fixture("tflite_int")
      .get(`logits_${name}`)
      .data.map((v) => q.scale[0] * (v - q.zeroPoint[0]));
    const logits = tf.forward(x).data;
    assert.ok(maxDiff(logits, expected) <= TOLERANCE, `${name}: max |float - integer| ${maxDiff(logits, expected)}`);
    assert.is(argmax(logits), argmax(expected), name);
    symmetricWorst = Math.max(symmetricWorst, maxDiff(symmetric.forward(x).data, expected));
  }
  assert.ok(symmetricWorst > TOLERANCE, `symmetric padding should fail the check (${symmetricWorst})`);
});

withShared("tflite integer ConvNet: quantizing the preprocessed tensor gives back the pixels; MACs counted", () => {
  const m = prepareIntegerModel(load());
  const net = integerConvNet(m);
  const image = crop("cat");
  const x = normalizeToTensor(image, mean, std);
  const { result, macs } = countMacs(() => net.forward(x));
  assert.equal([...result.data], [...m.run(Int32Array.from(image.data)).dequantized]);
  assert.is(macs, m.macs);
  const features = countMacs(() => net.features(x));
  assert.equal(features.result.shape, [1, 1280, 7, 7]);
  assert.is(features.macs, m.macs - 1280 * 1001); // the classifier is not run for the features
});

withShared("tflite: readCheckpointFile + convertCheckpoint + buildModel (what 'papr convert' does)", () => {
  const checkpoint = readCheckpointFile(join(shared!, MODEL));
  assert.is(checkpoint.format, "tflite");
  const { file, weights } = convertCheckpoint(
    { tensors: checkpoint.tensors, tflite: checkpoint.tflite, source: "m.tflite" },
    "mobilenet_v2_1.0_224_quant",
  );
  assert.equal(file.model, { numClasses: 1001, padding: "tf", width: 1 });
  const built = buildModel(file, weights);
  assert.is(built.family, "mobilenetv2");
  assert.throws(
    () =>
      convertCheckpoint(
        { tensors: checkpoint.tensors, tflite: checkpoint.tflite, source: "m.tflite" },
        "mobilenetv2_100",
      ),
    /a \.tflite file converts as mobilenet_v2_1\.0_224_quant/,
  );
});

test.run();
