// swinMacs (src/papr/swin_macs.ts): the formula against the MACs the kernels report while a (masked) Swin runs,
// and the unmasked totals against the Swin paper's Table 1 (4.5G / 8.7G / 15.4G FLOPs for T / S / B at 224,
// given there to 2-3 significant digits, hence 1%).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSwin, swinConfig, swinSpec, type SwinStageMask } from "../../src/models/swin.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { swinMacs } from "../../src/papr/swin_macs.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";

test("unmasked Swin-T / S / B: the paper's FLOPs within 1%", () => {
  for (const [name, paper] of [
    ["swin_tiny_patch4_window7_224", 4.5e9],
    ["swin_small_patch4_window7_224", 8.7e9],
    ["swin_base_patch4_window7_224", 15.4e9],
  ] as const) {
    const config = swinConfig(name);
    const { total } = swinMacs(config, [3136, 784, 196, 49]);
    assert.ok(Math.abs(total / paper - 1) < 0.01, `${name}: ${total} MACs vs the paper's ${paper}`);
    const noMlp = swinMacs(config, [0, 0, 0, 0]).total;
    const z65 = swinMacs(
      config,
      [3136, 784, 196, 49].map((n) => Math.floor(0.65 * n)),
    ).total;
    console.log(
      `  ${name}: ${(total / 1e9).toFixed(3)} GMACs, MLP share ${((total - noMlp) / total).toFixed(3)}, ` +
        `z = 0.65 in every stage: ${(z65 / 1e9).toFixed(3)} GMACs (proposer not included)`,
    );
  }
});

test("the formula = the MACs the kernels count (norms aside), unmasked and masked, per stage count", () => {
  const config = swinConfig("swin_tiny_patch4_window7_224", {
    embedDim: 8,
    depths: [2, 2, 2, 1],
    numHeads: [1, 1, 2, 2],
    mlpRatio: 2,
    numClasses: 5,
  });
  const swin = createSwin(config, syntheticWeights(swinSpec(config)));
  const x = syntheticTensor("swin.input", [1, 3, 224, 224], 1);
  const grids = swin.stageGrids();
  for (const counts of [
    [3136, 784, 196, 49],
    [2038, 509, 127, 31],
    [0, 100, 196, 1],
  ]) {
    const masks: SwinStageMask[] = grids.map(([height, width], i) => {
      const foreground = new Uint8Array(height * width);
      for (let p = 0; p < counts[i]; p++) foreground[(p * 5) % (height * width)] = 1; // spread, distinct (5 is coprime to the sizes)
      return { height, width, foreground };
    });
    const counted = countMacs(() => swin.forwardMasked(x, masks)).macs;
    const formula = swinMacs(config, counts);
    assert.is(counted, formula.total - formula.layerNorms, `counts ${counts.join(", ")}`);
  }
  assert.throws(() => swinMacs(config, [1, 2, 3]), /3 foreground counts given for 4 stages/);
  assert.throws(() => swinMacs(config, [3137, 0, 0, 0]), /stage 0 has 3136 positions/);
});

test.run();
