// Swin Transformer parameter names -> the canonical (timm >= 0.9) names of src/models/swin.ts.
//
// timm >= 0.9 (canonical): patch_embed.{proj, norm}; layers.i.downsample.{norm, reduction} for stages i >= 1
//   (patch merging at the START of a stage); layers.i.blocks.j.{norm1, attn.qkv, attn.proj,
//   attn.relative_position_bias_table, norm2, mlp.fc1, mlp.fc2}; norm; head.fc.
// timm < 0.9 (and the original Swin release): the same, except that patch merging sits at the END of the stage
//   before (layers.i.downsample for i = 0 .. stages-2, i.e. canonical layers.{i+1}.downsample) and the classifier
//   is head.* (canonical head.fc.*). Told apart by layers.0.downsample, which only the old layout has. Both
//   lay the 2x2 neighbours out in the same order, so the reduction weight is taken as it is.
// torchvision.models.swin_t / swin_s / swin_b (0.14):
//   features.0.0 (conv), features.0.2 (LayerNorm)        patch_embed.proj, patch_embed.norm
//   features.{2i+1}.j.{norm1, attn.*, norm2}              layers.i.blocks.j.{same}
//   features.{2i+1}.j.mlp.{0, 3}                          layers.i.blocks.j.mlp.{fc1, fc2}
//   features.{2i}.{reduction, norm} (i >= 1)              layers.i.downsample.{reduction, norm} (same 2x2 order)
//   norm, head                                            norm, head.fc
// Derived buffers some checkpoints carry are dropped: attn_mask (shifted-window mask) and
// relative_position_index, the latter only after checking that it is the index swin.ts computes (a
// checkpoint with another index would silently give other outputs).
// Every map throws ONE error listing every name it does not know (never drops a tensor silently);
// createSwin then checks the result against the spec of the chosen config.
import { shapeStr, type Tensor } from "../../tensor/tensor.ts";
import { relativePositionIndex } from "../swin.ts";

const WRAPPERS = /^(module\.|model\.)+/;
const BLOCK_PART =
  "(norm1|norm2|attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)\\.(weight|bias)|attn\\.relative_position_bias_table";
const CANONICAL = new RegExp(
  "^(patch_embed\\.(proj|norm)\\.(weight|bias)" +
    `|layers\\.\\d+\\.blocks\\.\\d+\\.(${BLOCK_PART})` +
    "|layers\\.\\d+\\.downsample\\.(norm\\.(weight|bias)|reduction\\.weight)" +
    "|(norm|head\\.fc)\\.(weight|bias))$",
);
const DERIVED = /(^|\.)(relative_position_index|attn_mask)$/;

export type SwinNaming = "timm" | "torchvision";

/**
 * The canonical name of one (wrapper-stripped) checkpoint name, null for a derived buffer (dropped), or
 * undefined for a name this scheme does not know. `oldTimm`: timm < 0.9's layout (see the file comment).
 */
export function canonicalSwinName(name: string, naming: SwinNaming, oldTimm = false): string | null | undefined {
  if (DERIVED.test(name)) return null;
  if (naming === "torchvision") return torchvisionName(name);
  let canonical = name;
  if (oldTimm) {
    const merge = /^layers\.(\d+)\.downsample\.(.+)$/.exec(name);
    if (merge) canonical = `layers.${Number(merge[1]) + 1}.downsample.${merge[2]}`;
    if (name === "head.weight" || name === "head.bias") canonical = `head.fc.${name.slice(5)}`;
  }
  return CANONICAL.test(canonical) ? canonical : undefined;
}

const TV_BLOCK_RENAMES: Record<string, string> = { "mlp.0": "mlp.fc1", "mlp.3": "mlp.fc2" };

function torchvisionName(name: string): string | undefined {
  const top: Record<string, string> = {
    "features.0.0.weight": "patch_embed.proj.weight",
    "features.0.0.bias": "patch_embed.proj.bias",
    "features.0.2.weight": "patch_embed.norm.weight",
    "features.0.2.bias": "patch_embed.norm.bias",
    "norm.weight": "norm.weight",
    "norm.bias": "norm.bias",
    "head.weight": "head.fc.weight",
    "head.bias": "head.fc.bias",
  };
  if (name in top) return top[name];
  const block = /^features\.(\d+)\.(\d+)\.(.+)$/.exec(name);
  if (block && Number(block[1]) % 2 === 1) {
    const stage = (Number(block[1]) - 1) / 2;
    const part = block[3].replace(/^(mlp\.[03])\./, (_, m: string) => `${TV_BLOCK_RENAMES[m]}.`);
    const canonical = `layers.${stage}.blocks.${block[2]}.${part}`;
    return CANONICAL.test(canonical) ? canonical : undefined;
  }
  const merge = /^features\.(\d+)\.(reduction\.weight|norm\.weight|norm\.bias)$/.exec(name);
  if (merge && Number(merge[1]) % 2 === 0 && Number(merge[1]) >= 2) {
    return `layers.${Number(merge[1]) / 2}.downsample.${merge[2]}`;
  }
  return undefined;
}

/** Guesses the scheme of a Swin state dict: torchvision has features.N.*, everything else is timm. */
export function detectSwinNaming(names: string[]): SwinNaming {
  return names.some((n) => /^features\.\d/.test(n.replace(WRAPPERS, ""))) ? "torchvision" : "timm";
}

/** A Swin state dict (timm of any version, or torchvision) -> canonical names. */
export function canonicalSwinWeights(weights: Map<string, Tensor>, naming: SwinNaming): Map<string, Tensor> {
  const op = naming === "torchvision" ? "torchvisionToCanonicalSwin" : "timmToCanonicalSwin";
  const stripped = [...weights.keys()].map((n) => n.replace(WRAPPERS, ""));
  const oldTimm = naming === "timm" && stripped.some((n) => n.startsWith("layers.0.downsample."));
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  for (const [source, value] of weights) {
    const canonical = canonicalSwinName(source.replace(WRAPPERS, ""), naming, oldTimm);
    if (canonical === undefined) {
      unknown.push(`${source} ${shapeStr(value.shape)}`);
    } else if (canonical === null) {
      if (source.endsWith("relative_position_index")) checkRelativePositionIndex(op, source, value);
    } else {
      if (out.has(canonical)) throw new Error(`${op}: '${source}' and another tensor both map to '${canonical}'`);
      out.set(canonical, value);
    }
  }
  if (unknown.length)
    throw new Error(`${op}: unknown names (${unknown.length}) for a Swin Transformer (v1): ${unknown.join(", ")}`);
  return out;
}

/** A stored relative_position_index must be the one swin.ts computes for its window (N^2 entries, N = w^2). */
function checkRelativePositionIndex(op: string, source: string, index: Tensor): void {
  const window = Math.round(Math.sqrt(Math.sqrt(index.size)));
  const expected = relativePositionIndex(window);
  const same = index.size === expected.length && expected.every((v, i) => index.data[i] === v);
  if (!same) {
    throw new Error(
      `${op}: '${source}' ${shapeStr(index.shape)} is not the relative position index of a ${window}x${window} window ` +
        `that this implementation computes; the checkpoint's attention would differ`,
    );
  }
}
