// convnextCost (fvcore conventions) against the MACs the kernels report while a masked ConvNeXt runs
// (src/tensor/mac_counter.ts counts conv and linear only: the formula's layer norms and pooling are added
// here from their element counts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { convnextSpec, convnextStageGrids, createConvNeXt } from "../../src/models/convnext.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { convnextCost } from "../../src/papr/convnext_macs.ts";
import { stageMasks } from "../../src/papr/hierarchical.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";

const config = { depths: [1, 2, 1, 1], dims: [8, 16, 24, 32], numClasses: 10 };
const model = createConvNeXt(config, syntheticWeights(convnextSpec(config)));
const S = 96;
const x = syntheticTensor("convnext_macs.input", [1, 3, S, S], 1);
const significance = syntheticTensor("convnext_macs.significance", [3, 3], 1);

for (const z of [1, 0.5, 0.3]) {
  test(`convnextCost at z = ${z}: counted conv + linear MACs plus 5 per normalised element and the pool`, () => {
    const grids = convnextStageGrids(S);
    const masks = stageMasks(significance, grids, z);
    const fg = masks.map((m, i) => (z < 1 ? m.keptIndices.length : grids[i][0] * grids[i][1]));
    const { macs: counted } = countMacs(() => model.forwardMasked(x, masks));
    const cost = convnextCost(model.config, S, z < 1 ? fg : [null, null, null, null]);
    let normalised = grids[0][0] * grids[0][1] * 8 + 32; // stem LN, head LN
    config.depths.forEach((depth, i) => {
      if (i > 0) normalised += grids[i - 1][0] * grids[i - 1][1] * config.dims[i - 1]; // downsampling LN
      normalised += depth * fg[i] * config.dims[i]; // block LNs on foreground positions
    });
    const pool = grids[3][0] * grids[3][1] * 32;
    assert.is(cost.total, counted + 5 * normalised + pool);
    assert.is(cost.total, cost.stem + cost.stages.reduce((a, b) => a + b, 0) + cost.head);
  });
}

test("convnextCost: ConvNeXt-T at 224 unmasked is the paper's 4.5 G (Liu et al. 2022, Table 1: FLOPs = MACs)", () => {
  const tiny = { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], numClasses: 1000, inChannels: 3, imageSize: 224 };
  const cost = convnextCost(tiny, 224, [null, null, null, null]);
  assert.is((cost.total / 1e9).toFixed(1), "4.5");
  const masked = convnextCost(tiny, 224, [2038, 509, 127, 31], 1e6);
  assert.ok(masked.total < cost.total && masked.proposer === 1e6);
});

test.run();
