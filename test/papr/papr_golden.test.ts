// PaPr end to end against the PyTorch reference of tools/golden/gen_papr.py (written from the spec):
// same synthetic weights on both sides, kept patch indices exact, logits to 1e-4 relative.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Papr, type Proposer } from "../../src/papr/papr.ts";
import { createMobileNetV3 } from "../../src/models/mobilenetv3.ts";
import {
  torchvisionMobileNetV3Spec,
  torchvisionToCanonicalMobileNetV3,
} from "../../src/models/load/names_mobilenet.ts";
import { createResNet, resnetSpec } from "../../src/models/resnet.ts";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";

const MODEL_TOL = 1e-4; // whole-network float32 tolerance (ARCHITECTURE.md); observed errors are ~1e-6

interface Pair {
  fixture: string;
  vit: string;
  proposer: () => Proposer;
  input: () => ReturnType<typeof syntheticTensor>;
}

const pairs: Pair[] = [
  {
    fixture: "papr_deit_small_mnv3",
    vit: "deit_small_patch16_224",
    proposer: () => {
      const config = { variant: "large" as const, width: 1 };
      return createMobileNetV3(
        config,
        torchvisionToCanonicalMobileNetV3(syntheticWeights(torchvisionMobileNetV3Spec(config)), "large"),
      );
    },
    input: () => syntheticTensor("papr.input_mnv3", [1, 3, 224, 224], 100),
  },
  {
    fixture: "papr_deit_tiny_r18",
    vit: "deit_tiny_patch16_224",
    proposer: () => createResNet({ depth: 18 }, syntheticWeights(resnetSpec({ depth: 18 }))),
    input: () => syntheticTensor("papr.input_r18", [1, 3, 224, 224], 1),
  },
];

for (const pair of pairs) {
  test(`${pair.fixture}: maps, kept indices and logits match the reference for every z`, () => {
    const golden = fixture(pair.fixture);
    const config = vitConfig(pair.vit);
    const vit = createVit(config, syntheticWeights(vitSpec(config)));
    const papr = new Papr(vit, pair.proposer());
    const x = pair.input();

    const full = vit.forward(x);
    assertClose(full, golden.get("logits_full"), MODEL_TOL, "unpruned logits");

    for (const z of golden.metadata.zs.split(",").map(Number)) {
      const result = papr.predict(x, { z, trace: true });
      const zKey = Number.isInteger(z) ? z.toFixed(1) : String(z);
      assertClose(result.trace!.proposal, golden.get("proposal"), 1e-5, "proposal map");
      assertClose(result.trace!.significance, golden.get("significance"), 1e-5, "significance map");
      assert.equal([...result.kept], [...golden.get(`kept_${zKey}`).data], `kept patches at z=${z}`);
      assertClose(result.logits, golden.get(`logits_${zKey}`), MODEL_TOL, `logits at z=${z}`);
      assert.is(result.tokensPerBlock[0], 1 + result.keptCount);
      if (z === 1) {
        // z = 1 runs the unpruned backbone: bit for bit the same logits
        assert.equal([...result.logits.data], [...full.data], "z = 1 equals the unpruned backbone bit for bit");
      }
    }

    // Kept tokens in grid order give the same logits (attention is permutation-equivariant once
    // positions are added): compared with the reference and with significance order.
    const spatial = papr.predict(x, { z: 0.5, order: "spatial" });
    const ranked = papr.predict(x, { z: 0.5 });
    assertClose(spatial.logits, golden.get("logits_spatial_0.5"), MODEL_TOL, "spatial-order logits");
    assert.ok(relativeError(spatial.logits, ranked.logits) <= MODEL_TOL, "spatial order = significance order");
    assert.not.equal([...spatial.kept], [...ranked.kept], "the two orders really differ");
  });
}

test("pruning with a different significance changes the answer (the golden can fail)", () => {
  const golden = fixture("papr_deit_tiny_r18");
  const config = vitConfig("deit_tiny_patch16_224");
  const vit = createVit(config, syntheticWeights(vitSpec(config)));
  // A proposer whose map is the reverse of ResNet-18's keeps the least significant patches.
  const resnet = pairs[1].proposer();
  const reversed: Proposer = {
    features: (x) => {
      const f = resnet.features(x);
      for (let i = 0; i < f.size; i++) f.data[i] = -f.data[i];
      return f;
    },
  };
  const result = new Papr(vit, reversed).predict(pairs[1].input(), { z: 0.3 });
  assert.ok(relativeError(result.logits, golden.get("logits_0.3")) > 10 * MODEL_TOL);
});

test.run();
