// Real-size DeiTs (synthetic weights) against PyTorch goldens (tools/golden/gen_vit.py). The slow part of the
// ViT suite: DeiT-Base (~17.6 GMACs) runs once, without the pruned pass.
import { test } from "uvu";
import { vitConfig } from "../../src/models/vit.ts";
import { checkVitGolden, formatErrors } from "./vit_golden.ts";

for (const [name, preset] of [
  ["deit_small", "deit_small_patch16_224"],
  ["deit_small_distilled", "deit_small_distilled_patch16_224"],
  ["deit_base", "deit_base_patch16_224"],
] as const) {
  test(`${preset}: embed, block 0, logits${name === "deit_base" ? "" : ", pruned-token logits"} match PyTorch`, () => {
    const started = Date.now();
    const errors = checkVitGolden(name, vitConfig(preset));
    console.log(`  ${name}: ${formatErrors(errors)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });
}

test.run();
