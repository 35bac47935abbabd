// The quantized MobileNetV3 graph (src/quant/v3_*.ts) against the PyTorch / float64 reference
// tools/golden/gen_quant_v3.py (written from docs/quantization.md §10), on the small MobileNetV3-like net of
// v3_fixture.ts (SE blocks, hardswish, a residual): for every bit width and power-of-two method (the layerwise
// rules, the whole-network scale adjustment on the graph's units, and RAPQ = adjustment + BN reconstruction),
// the exponents, integer biases, |integer weight| sums, and the probe's last-block integers and logits are
// EXACT on the integer path, and the simulated path equals the integer one bit for bit. (Exact is possible
// because after the scale choice everything is integer arithmetic; the float calibration pass differs from
// the reference only in last bits, which would move a scale choice only at a near tie.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBits, type Method } from "../../src/quant/ptq.ts";
import { floatFeatures, floatHead } from "../../src/quant/v3_graph.ts";
import { integerV3Forward } from "../../src/quant/v3_integer.ts";
import { netConvs } from "../../src/quant/v3_net.ts";
import { calibrateV3, gridTensors, quantizeV3 } from "../../src/quant/v3_ptq.ts";
import { SimulatedV3Net } from "../../src/quant/v3_simulated.ts";
import { fixture } from "../golden.ts";
import { assertConvsMatchGolden } from "./golden_convs.ts";
import { v3Graph, v3Images, v3Probe } from "./v3_fixture.ts";

const golden = fixture("quant_mobilenetv3");
const graph = v3Graph();
const cal = calibrateV3(graph, v3Images);
const list = (a: ArrayLike<number>) => Array.from(a);

test("probe rebuilt from the shared generator; float logits as the reference (1e-5)", () => {
  assert.equal(list(v3Probe.data.subarray(0, 64)), list(golden.get("probe_head").data));
  const logits = floatHead(graph, floatFeatures(graph, v3Probe)).data;
  const want = golden.get("float_logits").data;
  logits.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `float logit ${i}: ${v} vs ${want[i]}`));
});

for (const bits of ["w8a8", "w4a8", "w4a4", "w2a4"]) {
  for (const method of ["pow2-minmax", "pow2-mse", "pow2-adjusted", "rapq"] as Method[]) {
    test(`${bits} ${method}: exponents, integer weights and biases, integers and logits equal PyTorch's exactly`, () => {
      const { net, plan } = quantizeV3(graph, v3Images, { method, ...parseBits(bits) }, cal);
      const key = `${bits}.${method}`;
      const convs = netConvs(net);
      assert.equal(
        gridTensors(graph).map((t) => Math.log2(plan.actScales[t.name])),
        list(golden.get(`${key}.act_exponents`).data),
        "activation exponents",
      );
      assertConvsMatchGolden(convs, golden, key);
      const result = integerV3Forward(net, v3Probe);
      assert.equal(list(result.features.data), list(golden.get(`${key}.features`).data), "last block's integers");
      assert.equal(list(result.logits), list(golden.get(`${key}.logits`).data), "logits (integer path)");
      assert.equal(list(new SimulatedV3Net(net).forward(v3Probe).data), list(result.logits), "simulated = integer");
    });
  }
}

test.run();
