// A small seeded MobileNetV3-like net for the quantization tests (mirrored by tools/golden/gen_quant_v3.py):
// stem 3x3/2 to 8 channels + hardswish; a ds block (3x3/2 depthwise, ReLU, SE); an ir block (expand 2,
// 3x3 depthwise, hardswish, SE, residual); a cn block (1x1 to 16, hardswish); conv_head 16 -> 32
// (hardswish); classifier 32 -> 5. Shared synthetic weights with He gain; 16x16 images.
import { bnSpec } from "../../src/models/conv_bn.ts";
import type { ModelSpec } from "../../src/models/model_spec.ts";
import { blockSpec, planBlocks, table } from "../../src/models/mobilenet_blocks.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { v3GraphFromBlocks } from "../../src/quant/v3_graph.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { withHeGain } from "../models/he_gain.ts";

export const V3_SIZE = 16;
export const V3_BLOCKS = planBlocks(
  table([
    [["ds", 1, 3, 2, 1, 8, true, "relu"]],
    [["ir", 1, 3, 1, 2, 8, true, "hardswish"]],
    [["cn", 1, 1, 1, 1, 16, false, "hardswish"]],
  ]),
  8,
  1,
);

export function v3Spec(): ModelSpec {
  const spec: ModelSpec = new Map();
  spec.set("conv_stem.weight", [8, 3, 3, 3]);
  bnSpec(spec, "bn1", 8);
  for (const b of V3_BLOCKS) blockSpec(spec, b);
  spec.set("conv_head.weight", [32, 16, 1, 1]);
  spec.set("conv_head.bias", [32]);
  spec.set("classifier.weight", [5, 32]);
  spec.set("classifier.bias", [5]);
  return spec;
}

export const v3Graph = () => v3GraphFromBlocks(V3_BLOCKS, withHeGain(syntheticWeights(v3Spec())), V3_SIZE);
export const v3Images = [0, 1, 2, 3].map((i) =>
  syntheticTensor(`quant_v3.calibration.${i}`, [1, 3, V3_SIZE, V3_SIZE], 1),
);
export const v3Probe = syntheticTensor("quant_v3.probe", [1, 3, V3_SIZE, V3_SIZE], 1);
