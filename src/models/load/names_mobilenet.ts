// Name maps for MobileNetV3 (small/large) and MobileNetV2 checkpoints -> the canonical (timm)
// names of src/models/mobilenetv3.ts and mobilenetv2.ts.
//
// torchvision keeps every layer in `features` (a Sequential) and numbers sub-layers, so the map
// is derived from the block table: block j of the flattened timm blocks is features.<j+1>.
//   MobileNetV3 (torchvision.models.mobilenet_v3_small / _large)
//     features.0.0 / .0.1              conv_stem / bn1
//     features.<j+1>.block.<i>.0 / .1  the i-th conv+BN of block j, in order:
//                                        ds: conv_dw+bn1, conv_pw+bn2;
//                                        ir: conv_pw+bn1, conv_dw+bn2, conv_pwl+bn3
//     features.<j+1>.block.<i>.fc1/fc2 se.conv_reduce / se.conv_expand (i = after conv_dw)
//     features.<last>.0 / .1           blocks.<last>.0.conv / .bn1   (Conv-BN-Hardswish to 576/960)
//     classifier.0                     conv_head (Linear [N, K] -> 1x1 conv [N, K, 1, 1])
//     classifier.3                     classifier
//   torchvision's MobileNetV3 BatchNorm uses eps = 1e-3 where timm uses 1e-5; the map adds
//   the difference to every running_var, so that var + 1e-5 (canonical) = var + 1e-3 (torchvision).
//   MobileNetV2 (torchvision.models.mobilenet_v2)
//     features.0.0 / .0.1              conv_stem / bn1
//     features.1.conv.0.0 / .0.1 / .1 / .2        blocks.0.0.conv_dw / bn1 / conv_pw / bn2
//     features.<j+1>.conv.0.0 / .0.1 / .1.0 / .1.1 / .2 / .3
//                                      conv_pw / bn1 / conv_dw / bn2 / conv_pwl / bn3
//     features.18.0 / .18.1            conv_head / bn2
//     classifier.1                     classifier
// All maps strip a leading "module." / "model." and drop num_batches_tracked. Unknown names are
// kept unchanged, so the model factory reports them as unexpected (never silently dropped).
import type { Tensor } from "../../tensor/tensor.ts";
import type { ModelSpec } from "../model_spec.ts";
import type { BlockPlan } from "../mobilenet_blocks.ts";
import { mobilenetV2Blocks, mobilenetV2Spec, type MobileNetV2Config } from "../mobilenetv2.ts";
import { mobilenetV3Blocks, mobilenetV3Spec, type MobileNetV3Config, type MobileNetV3Variant } from "../mobilenetv3.ts";

const TORCHVISION_V3_BN_EPS = 1e-3;
const TIMM_BN_EPS = 1e-5;

type LayerKind = "conv" | "bn" | "linear" | "linear-as-conv" | "conv-as-linear";

/** One layer: its torchvision module path, its canonical module path, and what it is. */
interface Layer {
  torchvision: string;
  canonical: string;
  kind: LayerKind;
}

function convBn(layers: Layer[], tv: string, conv: string, bn: string): void {
  layers.push(
    { torchvision: `${tv}.0`, canonical: conv, kind: "conv" },
    { torchvision: `${tv}.1`, canonical: bn, kind: "bn" },
  );
}

function mobilenetV3Layers(blocks: BlockPlan[]): Layer[] {
  const layers: Layer[] = [];
  convBn(layers, "features.0", "conv_stem", "bn1");
  blocks.forEach((b, j) => {
    const tv = `features.${j + 1}`;
    if (b.kind === "cn") return convBn(layers, tv, `${b.name}.conv`, `${b.name}.bn1`);
    const steps: [string, string][] =
      b.kind === "ds"
        ? [["conv_dw", "bn1"]]
        : [
            ["conv_pw", "bn1"],
            ["conv_dw", "bn2"],
          ];
    let i = 0;
    for (const [conv, bn] of steps) convBn(layers, `${tv}.block.${i++}`, `${b.name}.${conv}`, `${b.name}.${bn}`);
    if (b.seChannels > 0) {
      layers.push({ torchvision: `${tv}.block.${i}.fc1`, canonical: `${b.name}.se.conv_reduce`, kind: "conv" });
      layers.push({ torchvision: `${tv}.block.${i++}.fc2`, canonical: `${b.name}.se.conv_expand`, kind: "conv" });
    }
    const [conv, bn] = b.kind === "ds" ? ["conv_pw", "bn2"] : ["conv_pwl", "bn3"];
    convBn(layers, `${tv}.block.${i}`, `${b.name}.${conv}`, `${b.name}.${bn}`);
  });
  layers.push({ torchvision: "classifier.0", canonical: "conv_head", kind: "linear-as-conv" });
  layers.push({ torchvision: "classifier.3", canonical: "classifier", kind: "linear" });
  return layers;
}

function mobilenetV2Layers(blocks: BlockPlan[]): Layer[] {
  const layers: Layer[] = [];
  convBn(layers, "features.0", "conv_stem", "bn1");
  blocks.forEach((b, j) => {
    const tv = `features.${j + 1}.conv`;
    const n = b.name;
    if (b.kind === "ds") {
      convBn(layers, `${tv}.0`, `${n}.conv_dw`, `${n}.bn1`);
      layers.push({ torchvision: `${tv}.1`, canonical: `${n}.conv_pw`, kind: "conv" });
      layers.push({ torchvision: `${tv}.2`, canonical: `${n}.bn2`, kind: "bn" });
    } else {
      convBn(layers, `${tv}.0`, `${n}.conv_pw`, `${n}.bn1`);
      convBn(layers, `${tv}.1`, `${n}.conv_dw`, `${n}.bn2`);
      layers.push({ torchvision: `${tv}.2`, canonical: `${n}.conv_pwl`, kind: "conv" });
      layers.push({ torchvision: `${tv}.3`, canonical: `${n}.bn3`, kind: "bn" });
    }
  });
  convBn(layers, `features.${blocks.length + 1}`, "conv_head", "bn2");
  layers.push({ torchvision: "classifier.1", canonical: "classifier", kind: "linear" });
  return layers;
}

// ---- applying a layer table -----------------------------------------------------------

/** "module.x" / "model.x" -> "x"; null for num_batches_tracked (a counter, not a parameter). */
function cleanName(name: string): string | null {
  const stripped = name.replace(/^(module\.|model\.)/, "");
  return stripped.endsWith(".num_batches_tracked") ? null : stripped;
}

/** Renames every tensor by the layer table; unknown names pass through unchanged. */
function rename(weights: Map<string, Tensor>, layers: Layer[], bnVarOffset: number): Map<string, Tensor> {
  const byModule = new Map(layers.map((l) => [l.torchvision, l]));
  const out = new Map<string, Tensor>();
  for (const [original, tensor] of weights) {
    const name = cleanName(original);
    if (name === null) continue;
    const dot = name.lastIndexOf(".");
    const layer = byModule.get(name.slice(0, dot));
    const param = name.slice(dot + 1);
    if (!layer) {
      out.set(name, tensor);
      continue;
    }
    let value = tensor;
    if (layer.kind === "linear-as-conv" && param === "weight" && value.rank === 2)
      value = value.reshape([...value.shape, 1, 1]);
    if (layer.kind === "conv-as-linear" && param === "weight" && value.rank === 4)
      value = value.reshape(value.shape.slice(0, 2));
    if (layer.kind === "bn" && param === "running_var" && bnVarOffset !== 0) {
      value = value.clone();
      for (let i = 0; i < value.size; i++) value.data[i] += bnVarOffset;
    }
    out.set(`${layer.canonical}.${param}`, value);
  }
  return out;
}

/** The torchvision names and shapes of a canonical spec (the inverse of the layer table). */
function invertSpec(spec: ModelSpec, layers: Layer[]): ModelSpec {
  const byCanonical = new Map(layers.map((l) => [l.canonical, l]));
  const out: ModelSpec = new Map();
  for (const [name, shape] of spec) {
    const dot = name.lastIndexOf(".");
    const layer = byCanonical.get(name.slice(0, dot));
    if (!layer) throw new Error(`names_mobilenet: no torchvision name for canonical '${name}'`);
    const tvShape = layer.kind === "linear-as-conv" && name.endsWith(".weight") ? shape.slice(0, 2) : shape;
    out.set(`${layer.torchvision}.${name.slice(dot + 1)}`, tvShape);
  }
  return out;
}

// ---- public maps -----------------------------------------------------------------------

/** torchvision mobilenet_v3_small / _large state dict -> canonical (timm) names. */
export function torchvisionToCanonicalMobileNetV3(
  weights: Map<string, Tensor>,
  variant: MobileNetV3Variant,
): Map<string, Tensor> {
  return rename(weights, mobilenetV3Layers(mobilenetV3Blocks({ variant })), TORCHVISION_V3_BN_EPS - TIMM_BN_EPS);
}

/**
 * Canonical (timm) names -> torchvision mobilenet_v3_small / _large: the inverse of the map above
 * (tools/train loads the shipped proposer into torchvision's model as the distillation teacher).
 */
export function canonicalToTorchvisionMobileNetV3(
  weights: Map<string, Tensor>,
  variant: MobileNetV3Variant,
): Map<string, Tensor> {
  const inverse = mobilenetV3Layers(mobilenetV3Blocks({ variant })).map((l): Layer => ({
    torchvision: l.canonical,
    canonical: l.torchvision,
    kind: l.kind === "linear-as-conv" ? "conv-as-linear" : l.kind,
  }));
  return rename(weights, inverse, TIMM_BN_EPS - TORCHVISION_V3_BN_EPS);
}

/** torchvision mobilenet_v2 state dict -> canonical (timm) names. */
export function torchvisionToCanonicalMobileNetV2(weights: Map<string, Tensor>): Map<string, Tensor> {
  return rename(weights, mobilenetV2Layers(mobilenetV2Blocks()), 0);
}

/** timm checkpoints already use the canonical names: strip "module."/"model.", drop num_batches_tracked. */
export function timmToCanonicalMobileNet(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [original, tensor] of weights) {
    const name = cleanName(original);
    if (name !== null) out.set(name, tensor);
  }
  return out;
}

/** Every parameter of torchvision's mobilenet_v3_small / _large (torchvision names) -> shape. */
export function torchvisionMobileNetV3Spec(config: MobileNetV3Config): ModelSpec {
  return invertSpec(mobilenetV3Spec(config), mobilenetV3Layers(mobilenetV3Blocks(config)));
}

/** Every parameter of torchvision's mobilenet_v2 (torchvision names) -> shape. */
export function torchvisionMobileNetV2Spec(config: MobileNetV2Config = {}): ModelSpec {
  return invertSpec(mobilenetV2Spec(config), mobilenetV2Layers(mobilenetV2Blocks(config)));
}
