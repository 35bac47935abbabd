// src/quant: the quantizers, the two execution paths (simulated and integer, bit-identical on both
// kernel backends, at every bit width and method), and the quantized model file (round trip, and a
// clear error for each kind of damage). Synthetic MobileNetV1-0.25 (shared generator, He gain) at 32x32.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertSimulatedEqualsInteger } from "./same_paths.ts";
import { mobilenetV1Spec } from "../../src/models/mobilenetv1.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { calibrate } from "../../src/quant/calibration.ts";
import { chainFeatures, chainHead, mobilenetV1Chain } from "../../src/quant/conv_chain.ts";
import { integerForward, requantize } from "../../src/quant/integer.ts";
import { quantizedModelFile, quantizedNetFrom } from "../../src/quant/model_file.ts";
import { parseBits, quantizeChain, type Method } from "../../src/quant/ptq.ts";
import {
  ceilExponent,
  mseExponent,
  quantizeValue,
  roundHalfUp,
  signedRange,
  unsignedRange,
} from "../../src/quant/quantizer.ts";
import { SimulatedNet } from "../../src/quant/simulated.ts";
import type { ModelFile } from "../../src/models/registry.ts";
import { availableBackends, backendName, setBackend } from "../../src/tensor/backend.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { withHeGain } from "../models/he_gain.ts";

const SIZE = 32;
const chain = mobilenetV1Chain({}, withHeGain(syntheticWeights(mobilenetV1Spec())));
const images = [0, 1, 2, 3].map((i) => syntheticTensor(`quant.calibration.${i}`, [1, 3, SIZE, SIZE], 1));
const probe = syntheticTensor("quant.probe", [1, 3, SIZE, SIZE], 1);
const stats = calibrate(chain, images);

test("quantizer: ranges, round half up, grid and clamping", () => {
  assert.equal(signedRange(4), { lo: -8, hi: 7 });
  assert.equal(unsignedRange(2), { lo: 0, hi: 3 });
  assert.throws(() => signedRange(1), /bits must be 2..8/);
  assert.equal([-2.5, -1.5, -0.5, 0.5, 1.5].map(roundHalfUp), [-2, -1, 0, 1, 2]);
  assert.is(quantizeValue(0.3, 0.25, signedRange(4)), 1);
  assert.is(quantizeValue(100, 0.25, signedRange(4)), 7);
  assert.is(quantizeValue(-100, 0.25, signedRange(4)), -8);
  // min-max power of two: the smallest 2^e with max <= 2^e * hi
  assert.is(ceilExponent(1, signedRange(8)), -6); // 127 * 2^-7 < 1 <= 127 * 2^-6
  assert.is(ceilExponent(0.99, signedRange(8)), -7);
});

test("quantizer: the squared-error exponent clips an outlier that min-max keeps", () => {
  const values = new Float32Array(1000).map((_, i) => ((i % 100) - 50) / 100);
  values[0] = 8; // one outlier
  const r = signedRange(4);
  const top = ceilExponent(8, r);
  assert.is(top, 1);
  assert.ok(mseExponent(values, r) < top, "a smaller scale: less rounding error on the 999 others");
  assert.is(
    mseExponent(new Float32Array([0.5, -0.5, 0.25]), r),
    ceilExponent(0.5, r),
    "nothing to gain: keeps min-max",
  );
});

test("requantize: a right shift with half-step offset is floor(sum 2^-n + 1/2), saturated; left shifts too", () => {
  const sums = [-70000, -129, -128, -127, -65, -64, -1, 0, 1, 63, 64, 65, 127, 128, 191, 192, 100000, 16777215];
  for (const n of [-3, -1, 0, 1, 2, 6, 7, 8, 20, 31, 40]) {
    for (const s of sums) {
      const expected = Math.min(255, Math.max(0, Math.floor(s * 2 ** -n + 0.5)));
      assert.is(requantize(s, n, 255), expected, `sum ${s}, n ${n}`);
    }
  }
});

test("parseBits", () => {
  assert.equal(parseBits("w4a8"), { weightBits: 4, activationBits: 8 });
  assert.equal(parseBits("W2A4"), { weightBits: 2, activationBits: 4 });
  assert.throws(() => parseBits("w1a8"), /expected w<2-8>a<2-8>/);
  assert.throws(() => parseBits("4/8"), /expected/);
});

const argmax = (a: Float32Array) => a.indexOf(Math.max(...a));
const BITS = ["w8a8", "w4a8", "w4a4", "w2a4"];
const POW2: Method[] = ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"];

test("integer path = simulated path, bit for bit: every power-of-two method, every bit width, both backends", () => {
  const before = backendName();
  try {
    for (const bits of BITS) {
      for (const method of POW2) {
        const { net } = quantizeChain(chain, images, { method, ...parseBits(bits) }, stats);
        const integer = integerForward(net, probe);
        for (const backend of availableBackends()) {
          setBackend(backend);
          const sim = new SimulatedNet(net);
          const scale = net.units[net.units.length - 1].outputScale;
          const what = `${bits} ${method} on ${backend}`;
          const { channels, height, width } = integer.features;
          assert.equal(sim.features(probe).shape, [1, channels, height, width]);
          assertSimulatedEqualsInteger(sim, integer, scale, probe, what);
        }
        // not a degenerate network: the features use more than one level
        assert.ok(new Set(integer.features.data).size > 1, `${bits} ${method}: constant features`);
      }
    }
  } finally {
    setBackend(before);
  }
});

// (not rapq here: the synthetic BatchNorm statistics describe no data, so pulling towards them is no test)
test("W8A8 stays close to the float network; the uniform baseline has float scales and no integer path", () => {
  const float = chainHead(chain, chainFeatures(chain, probe)).data;
  for (const method of ["uniform", "pow2-adjusted"] as Method[]) {
    const { net } = quantizeChain(chain, images, { method, weightBits: 8, activationBits: 8 }, stats);
    const q = new SimulatedNet(net).forward(probe).data;
    let err = 0;
    let ref = 0;
    q.forEach((v, k) => ((err = Math.max(err, Math.abs(v - float[k]))), (ref = Math.max(ref, Math.abs(float[k])))));
    assert.ok(err / ref < 0.1, `${method}: W8A8 relative logit error ${err / ref}`);
    assert.is(argmax(q), argmax(float), `${method}: W8A8 top-1 differs from float`);
    if (method === "uniform") assert.throws(() => integerForward(net, probe), /needs power-of-two scales/);
  }
});

test("scale adjustment never raises the calibration loss; BN reconstruction moves the moments to their targets", () => {
  const result = quantizeChain(chain, images, { method: "rapq", weightBits: 4, activationBits: 4 }, stats);
  assert.ok(result.adjust!.lossAfter <= result.adjust!.lossBefore);
  const r = result.reconstruction!;
  assert.ok(r.meanShiftAfter < r.meanShiftBefore, `mean shift ${r.meanShiftBefore} -> ${r.meanShiftAfter}`);
  assert.ok(r.stdRatioAfter < r.stdRatioBefore, `std ratio ${r.stdRatioBefore} -> ${r.stdRatioAfter}`);
});

const BASE: ModelFile = {
  format: "papr-ts/1",
  arch: "mobilenet_v1_0.25_224",
  family: "mobilenetv1",
  model: { widthMultiplier: 0.25, numClasses: 1000 },
  preprocess: { inputSize: SIZE, cropPct: 1, interpolation: "bicubic", mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

test("model file: round trip gives the same net; damage is refused naming the field or tensor", () => {
  const { net } = quantizeChain(chain, images, { method: "pow2-mse", weightBits: 4, activationBits: 8 }, stats);
  const { file, weights } = quantizedModelFile(BASE, net, "pow2-mse", { images: 4, source: "synthetic" });
  const json = () => JSON.parse(JSON.stringify(file.quantization));
  const back = quantizedNetFrom(json(), weights);
  assert.equal([...integerForward(back, probe).logits], [...integerForward(net, probe).logits]);

  const damaged = (edit: (q: any, w: Map<string, Tensor>) => void) => {
    const q = json();
    const w = new Map(weights);
    edit(q, w);
    return () => quantizedNetFrom(q, w);
  };
  assert.throws(
    damaged((q) => (q.format = "x")),
    /format "x" is not 'papr-ts-quant\/1'/,
  );
  assert.throws(
    damaged((q) => (q.units[3].weightScale[0] = 0.3)),
    /units\[3\]: scale 0.3 is not a power of two/,
  );
  assert.throws(
    damaged((q) => (q.units[4].weightScale[1] = 2 ** -200)),
    /units\[4\]: scale .* is outside \[2\^-40, 2\^20\]/,
  );
  assert.throws(
    damaged((q) => (q.units[2].inputScale *= 2)),
    /units\[2\].*inputScale .* differs/,
  );
  assert.throws(
    damaged((q) => (q.units[5].outputMax = 999)),
    /units\[5\]: outputMax 999/,
  );
  assert.throws(
    damaged((_, w) => w.delete("conv_pw_2.qweight")),
    /no tensor 'conv_pw_2.qweight'/,
  );
  assert.throws(
    damaged((_, w) => w.set("conv_dw_1.qbias", new Tensor(new Float32Array(8).fill(0.5), [8]))),
    /'conv_dw_1.qbias' element 0 is 0.5, not an integer/,
  );
  assert.throws(
    damaged((_, w) => {
      const t = w.get("conv_pw_1.qweight")!;
      const data = t.data.slice();
      data[3] = 9;
      w.set("conv_pw_1.qweight", new Tensor(data, t.shape));
    }),
    /'conv_pw_1.qweight' element 3 is 9, not an integer in \[-8, 7\]/,
  );
  assert.throws(
    damaged((_, w) => w.set("conv_preds.qweight", new Tensor(new Float32Array(10), [10, 1, 1, 1]))),
    /'conv_preds.qweight' has shape \[10,1,1,1\]/,
  );
});

test.run();
