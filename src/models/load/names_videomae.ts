// VideoMAE classifier parameter names -> the canonical names of src/models/video_vit.ts.
//
// The original VideoMAE release (modeling_finetune.py's VisionTransformer; the canonical names, except the bias):
//   patch_embed.proj.{weight, bias}                   patch_embed.proj.*   (Conv3d weight [D, 3, 2, 16, 16])
//   blocks.i.{norm1, attn.proj, norm2, mlp.fc1, mlp.fc2}.*, blocks.i.attn.qkv.weight     the same names
//   blocks.i.attn.q_bias [D], blocks.i.attn.v_bias [D]   blocks.i.attn.qkv.bias = [q_bias, 0 (no key bias), v_bias]
//   fc_norm.*, head.*                                  the same names
// Hugging Face transformers (VideoMAEForVideoClassification; the bare VideoMAEModel lacks "videomae."):
//   videomae.embeddings.patch_embeddings.projection.*          patch_embed.proj.*
//   videomae.encoder.layer.i.attention.attention.{query,key,value}.weight
//                                                              blocks.i.attn.qkv.weight (q, k, v stacked: [3D, D])
//   videomae.encoder.layer.i.attention.attention.{q_bias,v_bias}   blocks.i.attn.qkv.bias = [q_bias, 0, v_bias]
//   videomae.encoder.layer.i.attention.output.dense.*          blocks.i.attn.proj.*
//   videomae.encoder.layer.i.{layernorm_before, layernorm_after}.*   blocks.i.norm1 / norm2
//   videomae.encoder.layer.i.{intermediate.dense, output.dense}.*    blocks.i.mlp.fc1 / fc2
//   fc_norm.*, classifier.*                                    fc_norm.*, head.*
// Neither release stores the position table (a fixed sinusoid, computed by video_vit.ts). A checkpoint that does
// carry one (pos_embed, videomae.embeddings.position_embeddings) is accepted only if it IS that table: learned
// positions would silently give other outputs. Names of other variants (a final `norm` instead of fc_norm,
// layer scale gamma_1/2, the pre-training decoder) are unknown: ONE error lists every such name; createVideoVit
// then checks the canonical result against the spec of the chosen config.
import { concat } from "../../tensor/shape.ts";
import { shapeStr, zeros, type Tensor } from "../../tensor/tensor.ts";
import { sinusoidPositionTable } from "../video_vit.ts";

export type VideoMaeNaming = "original" | "hf";

const WRAPPERS = /^(module\.|model\.)+/;
/** Names kept as they are (original release = canonical except q_bias / v_bias). */
const ORIGINAL_NAME = new RegExp(
  "^(patch_embed\\.proj\\.(weight|bias)" +
    "|blocks\\.\\d+\\.(norm1|norm2|attn\\.proj|mlp\\.fc1|mlp\\.fc2)\\.(weight|bias)" +
    "|blocks\\.\\d+\\.attn\\.qkv\\.weight" +
    "|(fc_norm|head)\\.(weight|bias))$",
);
const HF_TOP = new Map(
  Object.entries({
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "fc_norm.weight": "fc_norm.weight",
    "fc_norm.bias": "fc_norm.bias",
    "classifier.weight": "head.weight",
    "classifier.bias": "head.bias",
  }),
);
const HF_LAYER_RENAMES = new Map(
  Object.entries({
    "attention.output.dense": "attn.proj",
    layernorm_before: "norm1",
    layernorm_after: "norm2",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
  }),
);
const HF_LAYER = /^encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$/;
const HF_QKV = /^encoder\.layer\.(\d+)\.attention\.attention\.(query\.weight|key\.weight|value\.weight|q_bias|v_bias)$/;
const ORIGINAL_QV_BIAS = /^blocks\.(\d+)\.attn\.(q_bias|v_bias)$/;
const POSITIONS = /^(pos_embed|embeddings\.position_embeddings)$/;

type AttentionPart = "q" | "k" | "v" | "q_bias" | "v_bias";
const HF_PART: Record<string, AttentionPart> = {
  "query.weight": "q",
  "key.weight": "k",
  "value.weight": "v",
  q_bias: "q_bias",
  v_bias: "v_bias",
};

/** Hugging Face names have embeddings. / encoder.layer. (after an optional videomae. prefix); else original. */
export function detectVideoMaeNaming(names: string[]): VideoMaeNaming {
  return names.some((n) => /^(videomae\.)?(embeddings\.|encoder\.layer\.)/.test(n.replace(WRAPPERS, "")))
    ? "hf"
    : "original";
}

/** A VideoMAE state dict (original release or Hugging Face) -> canonical names, q/k/v and their biases fused. */
export function canonicalVideoMaeWeights(weights: Map<string, Tensor>, naming: VideoMaeNaming): Map<string, Tensor> {
  const op = naming === "hf" ? "hfToCanonicalVideoMae" : "originalToCanonicalVideoMae";
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  const problems: string[] = [];
  const attention = new Map<string, Map<AttentionPart, [string, Tensor]>>(); // block index -> parts
  const put = (canonical: string, source: string, value: Tensor) => {
    if (out.has(canonical)) throw new Error(`${op}: '${source}' and another tensor both map to '${canonical}'`);
    out.set(canonical, value);
  };
  const part = (block: string, which: AttentionPart, source: string, value: Tensor) => {
    const parts = attention.get(block) ?? new Map<AttentionPart, [string, Tensor]>();
    parts.set(which, [source, value]);
    attention.set(block, parts);
  };
  let positions: [string, Tensor] | null = null;
  for (const [source, value] of weights) {
    const stripped = source.replace(WRAPPERS, "");
    const name = naming === "hf" ? stripped.replace(/^videomae\./, "") : stripped;
    if (POSITIONS.test(name)) {
      positions = [source, value];
      continue;
    }
    if (naming === "original") {
      const qv = ORIGINAL_QV_BIAS.exec(name);
      if (qv) part(qv[1], qv[2] as AttentionPart, source, value);
      else if (ORIGINAL_NAME.test(name)) put(name, source, value);
      else unknown.push(`${source} ${shapeStr(value.shape)}`);
      continue;
    }
    const qkv = HF_QKV.exec(name);
    const layer = HF_LAYER.exec(name);
    if (HF_TOP.has(name)) put(HF_TOP.get(name)!, source, value);
    else if (qkv) part(qkv[1], HF_PART[qkv[2]], source, value);
    else if (layer && HF_LAYER_RENAMES.has(layer[2]))
      put(`blocks.${layer[1]}.${HF_LAYER_RENAMES.get(layer[2])}.${layer[3]}`, source, value);
    else unknown.push(`${source} ${shapeStr(value.shape)}`);
  }
  if (unknown.length)
    problems.push(`unknown names (${unknown.length}) for a VideoMAE classifier: ${unknown.join(", ")}`);
  for (const [block, parts] of attention) {
    const fused = fuseAttention(block, parts, naming);
    if (typeof fused === "string") problems.push(fused);
    else for (const [name, value] of fused) put(name, name, value);
  }
  if (positions) {
    const problem = checkPositionTable(positions[0], positions[1], out.get("patch_embed.proj.weight"));
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new Error(`${op}: cannot map ${weights.size} tensors:\n  ${problems.join("\n  ")}`);
  return out;
}

/** blocks.i.attn.qkv.weight (HF: q, k, v stacked) and .bias = [q_bias, 0, v_bias]; or a message naming the problem. */
function fuseAttention(
  block: string,
  parts: Map<AttentionPart, [string, Tensor]>,
  naming: VideoMaeNaming,
): [string, Tensor][] | string {
  const prefix = `blocks.${block}.attn.qkv`;
  const needed: AttentionPart[] = naming === "hf" ? ["q", "k", "v", "q_bias", "v_bias"] : ["q_bias", "v_bias"];
  const missing = needed.filter((p) => !parts.has(p));
  if (missing.length) {
    const present = [...parts.values()].map(([source]) => source).join(", ");
    return `${prefix}: ${missing.join(", ")} missing beside ${present}`;
  }
  const [qBias, vBias] = [parts.get("q_bias")![1], parts.get("v_bias")![1]];
  if (qBias.rank !== 1 || qBias.shape.join() !== vBias.shape.join())
    return `${prefix}.bias: q_bias ${shapeStr(qBias.shape)} and v_bias ${shapeStr(vBias.shape)} must be the same [D]`;
  const out: [string, Tensor][] = [[`${prefix}.bias`, concat([qBias, zeros(qBias.shape), vBias], 0)]];
  if (naming === "hf") {
    const [q, k, v] = (["q", "k", "v"] as const).map((p) => parts.get(p)![1]);
    if (q.shape.join() !== k.shape.join() || q.shape.join() !== v.shape.join())
      return `${prefix}.weight: query ${shapeStr(q.shape)}, key ${shapeStr(k.shape)}, value ${shapeStr(v.shape)} differ`;
    out.push([`${prefix}.weight`, concat([q, k, v], 0)]);
  }
  return out;
}

/** A stored position table must be the fixed sinusoid video_vit.ts computes (to float32 rounding); else a message. */
function checkPositionTable(source: string, table: Tensor, patchWeight: Tensor | undefined): string | null {
  const D = table.shape.at(-1) ?? 0;
  const rows = D > 0 ? table.size / D : 0;
  if (!Number.isInteger(rows) || rows < 1 || (patchWeight && patchWeight.shape[0] !== D))
    return `${source} ${shapeStr(table.shape)}: not a position table [1, L, D] for this model`;
  const expected = sinusoidPositionTable(rows, D);
  let worst = 0;
  for (let i = 0; i < table.size; i++) worst = Math.max(worst, Math.abs(table.data[i] - expected.data[i]));
  if (!(worst <= 1e-5)) {
    return (
      `${source} ${shapeStr(table.shape)} is not the fixed sinusoidal table (max difference ${worst.toExponential(2)}): ` +
      "learned position embeddings are not supported"
    );
  }
  return null;
}
