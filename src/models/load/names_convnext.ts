// ConvNeXt parameter names -> the canonical (timm) names of src/models/convnext.ts.
//
// torchvision (torchvision.models.convnext_tiny / _small / _base / _large):
//   features.0.0.*                          stem.0.*            4x4 stride-4 conv
//   features.0.1.*                          stem.1.*            LayerNorm2d
//   features.{2i}.0.* / .1.*   (i = 1..3)   stages.{i}.downsample.0.* / .1.*   LayerNorm2d, 2x2 stride-2 conv
//   features.{2i+1}.{j}.layer_scale [C,1,1] stages.{i}.blocks.{j}.gamma [C]
//   features.{2i+1}.{j}.block.0.*           stages.{i}.blocks.{j}.conv_dw.*    7x7 depthwise conv
//   features.{2i+1}.{j}.block.2.*           stages.{i}.blocks.{j}.norm.*       LayerNorm (block.1 / .4 / .6 are
//   features.{2i+1}.{j}.block.3.*           stages.{i}.blocks.{j}.mlp.fc1.*    a permute, the GELU and a permute:
//   features.{2i+1}.{j}.block.5.*           stages.{i}.blocks.{j}.mlp.fc2.*    no parameters)
//   classifier.0.* / classifier.2.*         head.norm.* / head.fc.*
// timm (and the original facebookresearch/ConvNeXt release as timm re-saves it): the canonical names, after
// stripping "module." / "model." wrapper prefixes.
//
// Both maps throw ONE error listing every name they do not know (never drop a tensor silently);
// createConvNeXt then checks the result against the spec.
import { listSome } from "../../tensor/quote.ts";
import { shapeStr, type Tensor } from "../../tensor/tensor.ts";

const WRAPPERS = /^(module\.|model\.)+/;
const TV_BLOCK_PARTS: Record<string, string> = { "0": "conv_dw", "2": "norm", "3": "mlp.fc1", "5": "mlp.fc2" };

/** The canonical name of one torchvision ConvNeXt tensor, or null when the name is not torchvision's. */
export function torchvisionConvnextName(name: string): string | null {
  const n = name.replace(WRAPPERS, "");
  let m = /^features\.0\.([01])\.(weight|bias)$/.exec(n);
  if (m) return `stem.${m[1]}.${m[2]}`;
  m = /^classifier\.([02])\.(weight|bias)$/.exec(n);
  if (m) return `head.${m[1] === "0" ? "norm" : "fc"}.${m[2]}`;
  m = /^features\.(\d+)\.(\d+)\.(.+)$/.exec(n);
  if (!m) return null;
  const feature = Number(m[1]);
  const stage = Math.floor(feature / 2);
  if (feature % 2 === 0) {
    // downsampling between stages: features.{2i}.0 (LayerNorm2d), .1 (conv)
    return /^(weight|bias)$/.test(m[3]) && (m[2] === "0" || m[2] === "1")
      ? `stages.${stage}.downsample.${m[2]}.${m[3]}`
      : null;
  }
  const prefix = `stages.${stage}.blocks.${m[2]}`;
  if (m[3] === "layer_scale") return `${prefix}.gamma`;
  const part = /^block\.(\d+)\.(weight|bias)$/.exec(m[3]);
  if (!part || !(part[1] in TV_BLOCK_PARTS)) return null;
  return `${prefix}.${TV_BLOCK_PARTS[part[1]]}.${part[2]}`;
}

function renameAll(
  what: string,
  tensors: Map<string, Tensor>,
  rename: (name: string) => string | null,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const unknown: string[] = [];
  for (const [name, t] of tensors) {
    const canonical = rename(name);
    if (canonical === null) {
      unknown.push(`${name} ${shapeStr(t.shape)}`);
      continue;
    }
    if (out.has(canonical)) throw new Error(`${what}: '${name}' and another tensor both map to '${canonical}'`);
    // torchvision keeps the layer scale as [C, 1, 1]; timm as [C]
    out.set(canonical, canonical.endsWith(".gamma") && t.rank === 3 ? t.reshape([t.shape[0]]) : t);
  }
  if (unknown.length)
    throw new Error(`${what}: ${unknown.length} tensor names are not ConvNeXt's: ${listSome(unknown, 12)}`);
  return out;
}

/** A torchvision ConvNeXt state dict under the canonical names (layer_scale [C,1,1] -> gamma [C]). */
export function torchvisionToCanonicalConvnext(tensors: Map<string, Tensor>): Map<string, Tensor> {
  return renameAll("torchvision ConvNeXt names", tensors, torchvisionConvnextName);
}

/** A timm ConvNeXt state dict: wrapper prefixes stripped; every name must be one timm's ConvNeXt has. */
export function timmToCanonicalConvnext(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const TIMM =
    /^(stem\.[01]\.(weight|bias)|stages\.\d+\.(downsample\.[01]\.(weight|bias)|blocks\.\d+\.(gamma|(conv_dw|norm|mlp\.fc[12])\.(weight|bias)))|head\.(norm|fc)\.(weight|bias))$/;
  return renameAll("timm ConvNeXt names", tensors, (name) => {
    const n = name.replace(WRAPPERS, "");
    return TIMM.test(n) ? n : null;
  });
}

/** depths and dims read from canonical weights (so any ConvNeXt size converts under one preset). */
export function convnextGeometry(weights: Map<string, Tensor>): { depths: number[]; dims: number[] } | null {
  const depths: number[] = [];
  const dims: number[] = [];
  for (let i = 0; weights.has(`stages.${i}.blocks.0.gamma`); i++) {
    let j = 0;
    while (weights.has(`stages.${i}.blocks.${j}.gamma`)) j++;
    depths.push(j);
    dims.push(weights.get(`stages.${i}.blocks.0.gamma`)!.shape[0]);
  }
  return depths.length ? { depths, dims } : null;
}
