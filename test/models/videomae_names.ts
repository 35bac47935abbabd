// Test helper: VideoMAE weights in the original release's names rewritten under Hugging Face's, written
// independently of src/models/load/names_videomae.ts (which maps the other way).
import { gatherRows } from "../../src/tensor/shape.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";

/** The same weights under Hugging Face names: qkv.weight split in thirds, q_bias / v_bias moved, renames. */
export function toHfNames(original: Map<string, Tensor>, D: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const layerRenames: Record<string, string> = {
    "attn.proj": "attention.output.dense",
    norm1: "layernorm_before",
    norm2: "layernorm_after",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
  };
  for (const [name, t] of original) {
    const block = /^blocks\.(\d+)\.(.+)$/.exec(name);
    const layer = block ? `videomae.encoder.layer.${block[1]}.` : "";
    if (name.startsWith("patch_embed.proj."))
      out.set(name.replace("patch_embed.proj.", "videomae.embeddings.patch_embeddings.projection."), t);
    else if (name.startsWith("head.")) out.set(name.replace("head.", "classifier."), t);
    else if (name.startsWith("fc_norm.")) out.set(name, t);
    else if (block && block[2] === "attn.qkv.weight") {
      ["query", "key", "value"].forEach((part, i) =>
        out.set(
          `${layer}attention.attention.${part}.weight`,
          gatherRows(
            t,
            Array.from({ length: D }, (_, r) => i * D + r),
          ),
        ),
      );
    } else if (block && /^attn\.[qv]_bias$/.test(block[2]))
      out.set(`${layer}attention.attention.${block[2].slice(5)}`, t);
    else if (block) {
      const [, module, kind] = /^(.+)\.(weight|bias)$/.exec(block[2])!;
      out.set(`${layer}${layerRenames[module]}.${kind}`, t);
    } else throw new Error(`toHfNames: ${name}`);
  }
  return out;
}
