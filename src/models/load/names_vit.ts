// ViT / DeiT parameter names -> the canonical (timm) names of src/models/vit.ts.
//
// Hugging Face transformers (ViTForImageClassification, DeiTForImageClassificationWithTeacher; also the bare
// ViTModel / DeiTModel, whose names lack the "vit." / "deit." prefix):
//   {vit,deit}.embeddings.cls_token                         cls_token
//   deit.embeddings.distillation_token                      dist_token
//   {vit,deit}.embeddings.position_embeddings               pos_embed
//   {vit,deit}.embeddings.patch_embeddings.projection.*     patch_embed.proj.*
//   {vit,deit}.encoder.layer.i.attention.attention.{query,key,value}.*
//                                                           blocks.i.attn.qkv.* (q, k, v stacked in that order
//                                                           along the output axis: [3D, D] and [3D])
//   {vit,deit}.encoder.layer.i.attention.output.dense.*     blocks.i.attn.proj.*
//   {vit,deit}.encoder.layer.i.layernorm_before.*           blocks.i.norm1.*
//   {vit,deit}.encoder.layer.i.layernorm_after.*            blocks.i.norm2.*
//   {vit,deit}.encoder.layer.i.intermediate.dense.*         blocks.i.mlp.fc1.*
//   {vit,deit}.encoder.layer.i.output.dense.*               blocks.i.mlp.fc2.*
//   {vit,deit}.layernorm.*                                  norm.*
//   classifier.* | cls_classifier.*                         head.*
//   distillation_classifier.*                               head_dist.*
// HF's bare models may carry a pooler (pooler.dense) and MIM models a mask_token: no canonical ViT has them, so
// they are reported as unknown like any other name. Note: HF DeiTForImageClassification (no teacher) has a
// distillation token but only one classifier; it maps to dist_token + head, which createVit rejects (no head_dist).
//
// timm (and the DeiT / MAE releases, saved from timm models): the canonical names themselves, after stripping
// "module." (DataParallel) / "model." (Lightning-style wrappers) prefixes.
//
// Both maps throw ONE error listing every name they do not know (never drop a tensor silently);
// createVit then checks the result against the spec of the chosen config.
import { concat } from "../../tensor/shape.ts";
import { shapeStr, type Tensor } from "../../tensor/tensor.ts";

const HF_LAYER_RENAMES = new Map(
  Object.entries({
    "attention.output.dense": "attn.proj",
    layernorm_before: "norm1",
    layernorm_after: "norm2",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
  }),
);
const HF_TOP_RENAMES = new Map(
  Object.entries({
    "embeddings.cls_token": "cls_token",
    "embeddings.distillation_token": "dist_token",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
    "classifier.weight": "head.weight",
    "classifier.bias": "head.bias",
    "cls_classifier.weight": "head.weight",
    "cls_classifier.bias": "head.bias",
    "distillation_classifier.weight": "head_dist.weight",
    "distillation_classifier.bias": "head_dist.bias",
  }),
);
const HF_QKV = ["query", "key", "value"] as const;
const HF_LAYER = /^encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$/;
const HF_ATTENTION = /^attention\.attention\.(query|key|value)$/;

/** Hugging Face ViT / DeiT state dict -> canonical (timm) names, with q, k, v fused into qkv. */
export function hfToCanonicalVit(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  const qkvParts = new Map<string, Partial<Record<(typeof HF_QKV)[number], [string, Tensor]>>>(); // "blocks.i.attn.qkv.weight" -> parts
  const put = (canonical: string, source: string, value: Tensor) => {
    if (out.has(canonical))
      throw new Error(`hfToCanonicalVit: '${source}' and another tensor both map to '${canonical}'`);
    out.set(canonical, value);
  };
  for (const [source, value] of weights) {
    const name = source.replace(/^(vit|deit)\./, "");
    const layer = HF_LAYER.exec(name);
    if (HF_TOP_RENAMES.has(name)) {
      put(HF_TOP_RENAMES.get(name)!, source, value);
    } else if (layer) {
      const [, i, module, kind] = layer;
      const qkv = HF_ATTENTION.exec(module);
      if (qkv) {
        const key = `blocks.${i}.attn.qkv.${kind}`;
        const parts = qkvParts.get(key) ?? {};
        parts[qkv[1] as (typeof HF_QKV)[number]] = [source, value];
        qkvParts.set(key, parts);
      } else if (HF_LAYER_RENAMES.has(module)) {
        put(`blocks.${i}.${HF_LAYER_RENAMES.get(module)}.${kind}`, source, value);
      } else {
        unknown.push(`${source} ${shapeStr(value.shape)}`);
      }
    } else {
      unknown.push(`${source} ${shapeStr(value.shape)}`);
    }
  }
  const problems = unknown.length ? [`unknown names (${unknown.length}): ${unknown.join(", ")}`] : [];
  for (const [key, parts] of qkvParts) {
    const missing = HF_QKV.filter((p) => !parts[p]);
    if (missing.length) {
      problems.push(
        `${key}: ${missing.join(", ")} missing beside ${HF_QKV.filter((p) => parts[p])
          .map((p) => parts[p]![0])
          .join(", ")}`,
      );
      continue;
    }
    const [q, k, v] = HF_QKV.map((p) => parts[p]![1]);
    if (q.shape.join() !== k.shape.join() || q.shape.join() !== v.shape.join()) {
      problems.push(`${key}: query ${shapeStr(q.shape)}, key ${shapeStr(k.shape)}, value ${shapeStr(v.shape)} differ`);
      continue;
    }
    put(key, key, concat([q, k, v], 0)); // [3D, D] or [3D]
  }
  if (problems.length)
    throw new Error(`hfToCanonicalVit: cannot map ${weights.size} tensors:\n  ${problems.join("\n  ")}`);
  return out;
}

const TIMM_WRAPPERS = /^(module\.|model\.)+/;
const TIMM_NAME = new RegExp(
  "^(cls_token|dist_token|pos_embed|patch_embed\\.proj\\.(weight|bias)" +
    "|blocks\\.\\d+\\.(norm1|norm2|attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)\\.(weight|bias)" +
    "|(norm|fc_norm|head|head_dist)\\.(weight|bias))$",
);

/** timm ViT / DeiT state dict -> canonical names: wrappers stripped; every other name must be a ViT name. */
export function timmToCanonicalVit(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  for (const [source, value] of weights) {
    const name = source.replace(TIMM_WRAPPERS, "");
    if (!TIMM_NAME.test(name)) {
      unknown.push(`${source} ${shapeStr(value.shape)}`);
      continue;
    }
    if (out.has(name)) throw new Error(`timmToCanonicalVit: '${source}' and another tensor both map to '${name}'`);
    out.set(name, value);
  }
  if (unknown.length) {
    throw new Error(
      `timmToCanonicalVit: unknown names (${unknown.length}) for a ViT/DeiT (no layer scale, q/k norm, registers): ${unknown.join(", ")}`,
    );
  }
  return out;
}

// torchvision.models.vision_transformer (vit_b_16 ...):
//   class_token -> cls_token; conv_proj.* -> patch_embed.proj.*; encoder.pos_embedding -> pos_embed
//   encoder.layers.encoder_layer_i.ln_1 / ln_2 -> blocks.i.norm1 / norm2
//   encoder.layers.encoder_layer_i.self_attention.in_proj_{weight,bias} -> blocks.i.attn.qkv.* (already fused q,k,v)
//   encoder.layers.encoder_layer_i.self_attention.out_proj.* -> blocks.i.attn.proj.*
//   encoder.layers.encoder_layer_i.mlp.{0,3}.* (mlp.linear_{1,2} in older releases) -> blocks.i.mlp.fc1 / fc2
//   encoder.ln.* -> norm.*; heads.head.* -> head.*
const TV_TOP = new Map(
  Object.entries({
    class_token: "cls_token",
    "conv_proj.weight": "patch_embed.proj.weight",
    "conv_proj.bias": "patch_embed.proj.bias",
    "encoder.pos_embedding": "pos_embed",
    "encoder.ln.weight": "norm.weight",
    "encoder.ln.bias": "norm.bias",
    "heads.head.weight": "head.weight",
    "heads.head.bias": "head.bias",
  }),
);
const TV_LAYER = /^encoder\.layers\.encoder_layer_(\d+)\.(.+)$/;
const TV_LAYER_RENAMES = new Map(
  Object.entries({
    "ln_1.weight": "norm1.weight",
    "ln_1.bias": "norm1.bias",
    "ln_2.weight": "norm2.weight",
    "ln_2.bias": "norm2.bias",
    "self_attention.in_proj_weight": "attn.qkv.weight",
    "self_attention.in_proj_bias": "attn.qkv.bias",
    "self_attention.out_proj.weight": "attn.proj.weight",
    "self_attention.out_proj.bias": "attn.proj.bias",
    "mlp.0.weight": "mlp.fc1.weight",
    "mlp.0.bias": "mlp.fc1.bias",
    "mlp.3.weight": "mlp.fc2.weight",
    "mlp.3.bias": "mlp.fc2.bias",
    "mlp.linear_1.weight": "mlp.fc1.weight",
    "mlp.linear_1.bias": "mlp.fc1.bias",
    "mlp.linear_2.weight": "mlp.fc2.weight",
    "mlp.linear_2.bias": "mlp.fc2.bias",
  }),
);

/** torchvision VisionTransformer state dict -> canonical names (unknown names listed in one error). */
export function torchvisionToCanonicalVit(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  for (const [source, value] of weights) {
    const name = source.replace(TIMM_WRAPPERS, "");
    const layer = TV_LAYER.exec(name);
    const canonical =
      TV_TOP.get(name) ??
      (layer && TV_LAYER_RENAMES.has(layer[2]) ? `blocks.${layer[1]}.${TV_LAYER_RENAMES.get(layer[2])}` : null);
    if (canonical === null) unknown.push(`${source} ${shapeStr(value.shape)}`);
    else out.set(canonical, value);
  }
  if (unknown.length)
    throw new Error(`torchvisionToCanonicalVit: unknown names (${unknown.length}): ${unknown.join(", ")}`);
  return out;
}
