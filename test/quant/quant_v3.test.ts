// The quantized MobileNetV3 graph (src/quant/v3_*.ts): the requantizations' integer and float forms agree
// on every sum and exponent tried; the simulated path equals the integer one bit for bit for every
// power-of-two method and bit width on both kernel backends (small net of v3_fixture.ts: SE, hardswish,
// residual); W8A8 stays near float; the scale adjustment never raises its loss; the reconstruction moves
// the BN convs' means to their targets; the model folder round trip (a real MobileNetV3-small layout at
// width 0.25, synthetic weights) and its refusals.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertSimulatedEqualsInteger } from "./same_paths.ts";
import { mobilenetV3Spec, type MobileNetV3Config } from "../../src/models/mobilenetv3.ts";
import type { ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { parseBits, type Method } from "../../src/quant/ptq.ts";
import { activationRange, intActivation, simActivation } from "../../src/quant/v3_activations.ts";
import type { V3Activation } from "../../src/quant/v3_graph.ts";
import { floatFeatures, floatHead, mobilenetV3Graph } from "../../src/quant/v3_graph.ts";
import { integerV3Forward } from "../../src/quant/v3_integer.ts";
import { quantizedV3ModelFile, v3NetFrom, type V3QuantizationSection } from "../../src/quant/v3_model_file.ts";
import { calibrateV3, quantizeV3 } from "../../src/quant/v3_ptq.ts";
import { SimulatedV3Net } from "../../src/quant/v3_simulated.ts";
import { availableBackends, backendName, setBackend } from "../../src/tensor/backend.ts";
import { Mulberry32, syntheticTensor } from "../../src/tensor/random.ts";
import { withHeGain } from "../models/he_gain.ts";
import { v3Graph, v3Images, v3Probe } from "./v3_fixture.ts";

const graph = v3Graph();
const cal = calibrateV3(graph, v3Images);
const BITS = ["w8a8", "w4a8", "w4a4", "w2a4"];
const POW2: Method[] = ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"];

test("requantization: integer form = float form for every activation, over sums, exponents and grids", () => {
  const rng = new Mulberry32(7);
  let checked = 0;
  for (const act of ["none", "relu", "hardswish", "hardsigmoid"] as V3Activation[]) {
    for (const bits of [2, 4, 8]) {
      const range = activationRange(act, bits);
      for (let trial = 0; trial < 3000; trial++) {
        const a = Math.floor(rng.uniform() * 30) - 26; // the sum's grid 2^a, -26 .. 3
        const e = act === "hardsigmoid" ? -bits : Math.floor(rng.uniform() * 16) - 10;
        const magnitude = 2 ** Math.floor(rng.uniform() * 24);
        const t = Math.floor((2 * rng.uniform() - 1) * magnitude); // |t| < 2^24
        const q = intActivation(t, a, e, act, range);
        const v = simActivation(t * 2 ** a, 2 ** e, act, range);
        assert.ok(Number.isInteger(q) && q >= range.lo && q <= range.hi, `${act}: ${q} outside the range`);
        assert.ok(Object.is(v, q * 2 ** e), `${act} bits ${bits}, t ${t}, a ${a}, e ${e}: int ${q}, sim ${v}`);
        checked++;
      }
    }
  }
  assert.is(checked, 36000);
  // hardswish and the gate at known points: hswish(-3) = 0, hswish(3) = 3, gate(3) = 1, gate(-3) = 0, gate(0) = 1/2
  assert.is(intActivation(-3 * 16, -4, -4, "hardswish", activationRange("hardswish", 8)), 0);
  assert.is(intActivation(3 * 16, -4, -4, "hardswish", activationRange("hardswish", 8)), 48);
  assert.is(intActivation(3 * 16, -4, -8, "hardsigmoid", activationRange("hardsigmoid", 8)), 256);
  assert.is(intActivation(-3 * 16, -4, -8, "hardsigmoid", activationRange("hardsigmoid", 8)), 0);
  assert.is(intActivation(0, -4, -8, "hardsigmoid", activationRange("hardsigmoid", 8)), 128);
});

test("integer path = simulated path, bit for bit: every power-of-two method, every bit width, both backends", () => {
  const before = backendName();
  try {
    for (const bits of BITS) {
      for (const method of POW2) {
        const { net } = quantizeV3(graph, v3Images, { method, ...parseBits(bits) }, cal);
        const integer = integerV3Forward(net, v3Probe);
        const scale = net.blocks[net.blocks.length - 1].project.outputScale;
        for (const backend of availableBackends()) {
          setBackend(backend);
          const what = `${bits} ${method} on ${backend}`;
          assertSimulatedEqualsInteger(new SimulatedV3Net(net), integer, scale, v3Probe, what);
        }
        assert.ok(new Set(integer.features.data).size > 1, `${bits} ${method}: constant features`);
      }
    }
  } finally {
    setBackend(before);
  }
});

test("uniform (float scales) runs simulated only; W8A8 stays near float", () => {
  const float = floatHead(graph, floatFeatures(graph, v3Probe)).data;
  for (const method of ["uniform", "pow2-mse"] as Method[]) {
    const { net } = quantizeV3(graph, v3Images, { method, ...parseBits("w8a8") }, cal);
    const logits = new SimulatedV3Net(net).forward(v3Probe).data;
    // measured: largest |difference| 0.013 (uniform) and 0.030 (pow2-mse) on logits of size ~0.1-0.7
    logits.forEach((v, k) => assert.ok(Math.abs(v - float[k]) < 0.06, `${method} logit ${k}: ${v} vs ${float[k]}`));
    if (method === "uniform") assert.throws(() => integerV3Forward(net, v3Probe), /power-of-two scales/);
  }
});

test("the scale adjustment never raises its loss; the reconstruction moves the BN means to their targets", () => {
  for (const bits of BITS) {
    const r = quantizeV3(graph, v3Images, { method: "rapq", ...parseBits(bits) }, cal);
    assert.ok(r.adjust!.lossAfter <= r.adjust!.lossBefore, `${bits}: adjustment loss rose`);
    assert.ok(r.adjust!.trials > 50, `${bits}: ${r.adjust!.trials} trials`);
    const rec = r.reconstruction!;
    assert.is(rec.convs, 7); // stem, ds: dw + pw, ir: pw + dw + pwl, cn
    assert.ok(rec.meanShiftAfter < rec.meanShiftBefore / 2, `${bits}: ${rec.meanShiftBefore} -> ${rec.meanShiftAfter}`);
  }
});

// ---- the model folder ---------------------------------------------------------------------------------

const CONFIG: MobileNetV3Config = { variant: "small", width: 0.25, numClasses: 5 };
const realGraph = mobilenetV3Graph(CONFIG, withHeGain(syntheticWeights(mobilenetV3Spec(CONFIG))));
const SIZE = 32;
const realImages = [0, 1].map((i) => syntheticTensor(`quant_v3.file.${i}`, [1, 3, SIZE, SIZE], 1));
const base = {
  format: "papr-ts/1",
  arch: "mobilenetv3_small_025",
  family: "mobilenetv3",
  model: CONFIG,
} as unknown as ModelFile;

function saved(bits = "w4a8") {
  const { net } = quantizeV3(realGraph, realImages, { method: "pow2-mse", ...parseBits(bits) });
  const { file, weights } = quantizedV3ModelFile(base, net, "pow2-mse", { images: 2, source: "test" });
  return { net, q: JSON.parse(JSON.stringify(file.quantization)) as V3QuantizationSection, weights };
}

test("model folder: the loaded net gives the same logits and features, integer path included", () => {
  const { net, q, weights } = saved();
  const loaded = v3NetFrom(q, CONFIG, weights);
  const x = syntheticTensor("quant_v3.file.probe", [1, 3, SIZE, SIZE], 1);
  const a = new SimulatedV3Net(net);
  const b = new SimulatedV3Net(loaded);
  assert.equal(Array.from(b.forward(x).data), Array.from(a.forward(x).data));
  assert.equal(Array.from(b.features(x).data), Array.from(a.features(x).data));
  assert.equal(Array.from(integerV3Forward(loaded, x).logits), Array.from(a.forward(x).data));
  assert.is(b.features(x).shape[1], realGraph.blocks[realGraph.blocks.length - 1].plan.outChannels);
});

test("model folder: each kind of damage is refused with the field or tensor named", () => {
  const cases: [string, (s: ReturnType<typeof saved>) => void, RegExp][] = [
    [
      "missing conv",
      (s) => (s.q.convs = s.q.convs.filter((c) => c.name !== "blocks.1.0.conv_dw")),
      /no conv 'blocks.1.0.conv_dw'/,
    ],
    [
      "extra conv",
      (s) => s.q.convs.push({ ...s.q.convs[1], name: "blocks.9.0.conv" }),
      /'blocks.9.0.conv' is not in the model config's layout/,
    ],
    [
      "activation",
      (s) => (s.q.convs[0].act = "relu"),
      /conv 'conv_stem': activation "relu", the layout needs 'hardswish'/,
    ],
    ["shape", (s) => (s.q.convs[2].shape = [1, 2, 3, 4]), /shape \[1,2,3,4\], the layout needs/],
    ["input grid", (s) => (s.q.convs[3].inputScale *= 2), /inputScale .* differs from the grid it reads/],
    ["not a power of two", (s) => (s.q.grids[Object.keys(s.q.grids)[0]] = 0.3), /is not a power of two/],
    [
      "weight out of range",
      (s) => s.weights.get("conv_head.qweight")!.data.fill(300),
      /'conv_head.qweight' element 0 is 300/,
    ],
    ["missing tensor", (s) => s.weights.delete("classifier.qbias"), /no tensor 'classifier.qbias'/],
  ];
  for (const [what, damage, message] of cases) {
    const s = saved();
    damage(s);
    assert.throws(() => v3NetFrom(s.q, CONFIG, s.weights), message, what);
  }
});

test.run();
