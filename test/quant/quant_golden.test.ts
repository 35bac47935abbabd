// src/quant against the PyTorch / float64 reference tools/golden/gen_quant.py (written from the RAPQ paper
// in this project's form): MobileNetV1-0.25, shared synthetic weights + He gain, 32x32, four calibration
// images. For every bit width and power-of-two method: the chosen exponents, the integer biases, the
// |integer weight| sums, and the probe's last-unit integers and logits (integer path) are all EXACT.
// (Exact is possible because everything after the scale choice is integer arithmetic; the float steps
// before it, the calibration pass, differ in the last bits only, which moves a choice only at a near tie.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mobilenetV1Spec } from "../../src/models/mobilenetv1.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { calibrate } from "../../src/quant/calibration.ts";
import { mobilenetV1Chain } from "../../src/quant/conv_chain.ts";
import { integerForward } from "../../src/quant/integer.ts";
import { parseBits, quantizeChain, type Method } from "../../src/quant/ptq.ts";
import { SimulatedNet } from "../../src/quant/simulated.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { fixture } from "../golden.ts";
import { assertConvsMatchGolden } from "./golden_convs.ts";
import { withHeGain } from "../models/he_gain.ts";

const golden = fixture("quant_mobilenetv1");
const SIZE = Number(golden.metadata!.size);
const chain = mobilenetV1Chain({}, withHeGain(syntheticWeights(mobilenetV1Spec())));
const images = [0, 1, 2, 3].map((i) => syntheticTensor(`quant.calibration.${i}`, [1, 3, SIZE, SIZE], 1));
const probe = syntheticTensor("quant.probe", [1, 3, SIZE, SIZE], 1);
const stats = calibrate(chain, images);
const list = (a: ArrayLike<number>) => Array.from(a);

test("probe rebuilt from the shared generator", () => {
  assert.equal(list(probe.data.subarray(0, 64)), list(golden.get("probe_head").data));
});

for (const bits of ["w8a8", "w4a8", "w4a4", "w2a4"]) {
  for (const method of ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"] as Method[]) {
    test(`${bits} ${method}: exponents, integer biases and weights, integers and logits equal PyTorch's exactly`, () => {
      const { net } = quantizeChain(chain, images, { method, ...parseBits(bits) }, stats);
      const key = `${bits}.${method}`;
      const convs = [...net.units, net.head];
      const actExponents = [net.units[0].inputScale, ...net.units.map((u) => u.outputScale)].map(Math.log2);
      assert.equal(actExponents, list(golden.get(`${key}.act_exponents`).data), "activation exponents");
      assertConvsMatchGolden(convs, golden, key);
      const result = integerForward(net, probe);
      assert.equal(list(result.features.data), list(golden.get(`${key}.features`).data), "last unit's integers");
      assert.equal(list(result.logits), list(golden.get(`${key}.logits`).data), "logits (integer path)");
      assert.equal(list(new SimulatedNet(net).forward(probe).data), list(result.logits), "simulated = integer");
    });
  }
}

test.run();
