// Every architecture the project can build, by preset name: its family, its config, the
// preprocessing it expects, how to build it from canonical weights, and how checkpoints in
// other naming schemes (torchvision, Hugging Face, TF.js) map onto the canonical names.
//
// A converted model directory holds `model.safetensors` (canonical names) and `config.json`
// (a ModelFile). `buildModel(file, weights)` turns the pair into a runnable model.
import { IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, type PreprocessConfig } from "../image/preprocess.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { escapeText, quote } from "../tensor/quote.ts";
import { checkWeights, type ModelSpec } from "./model_spec.ts";
import { CONVNEXT_PRESETS, convnextSpec, createConvNeXt, type ConvNeXt, type ConvNeXtConfig } from "./convnext.ts";
import { createDarknet, darknetSpec, type DarknetConfig } from "./darknet.ts";
import { darknetFromTfjs, mobilenetV1FromTfjs } from "./load/tfjs_models.ts";
import { canonicalResnetWeights } from "./load/names_resnet.ts";
import { convnextGeometry, timmToCanonicalConvnext, torchvisionToCanonicalConvnext } from "./load/names_convnext.ts";
import { hfToCanonicalVit, timmToCanonicalVit, torchvisionToCanonicalVit } from "./load/names_vit.ts";
import {
  timmToCanonicalMobileNet,
  torchvisionToCanonicalMobileNetV2,
  torchvisionToCanonicalMobileNetV3,
} from "./load/names_mobilenet.ts";
import type { TfjsLayersModel } from "./load/tfjs.ts";
import type { TfliteModel } from "./load/tflite.ts";
import { mobilenetV2FromTflite } from "./load/tflite_models.ts";
import { createMobileNetV1, mobilenetV1Spec, type MobileNetV1Config } from "./mobilenetv1.ts";
import { createMobileNetV2, mobilenetV2Spec, type MobileNetV2Config } from "./mobilenetv2.ts";
import { createMobileNetV3, mobilenetV3Spec, type MobileNetV3Config } from "./mobilenetv3.ts";
import { createMobileOne, mobileoneSpec, type MobileOneConfig } from "./mobileone.ts";
import { createResNet, resnetSpec, type ResNetConfig } from "./resnet.ts";
import { VIT_PRESETS, createVit, vitSpec, type Vit, type VitConfig } from "./vit.ts";
import { SWIN_PRESETS, createSwin, swinSpec, type Swin, type SwinConfig } from "./swin.ts";
import { canonicalSwinWeights, detectSwinNaming } from "./load/names_swin.ts";
import { VIDEO_VIT_PRESETS, createVideoVit, videoVitSpec, type VideoVit, type VideoVitConfig } from "./video_vit.ts";
import { canonicalVideoMaeWeights, detectVideoMaeNaming } from "./load/names_videomae.ts";
import { createResNet3d, resnet3dSpec, type ResNet3dConfig } from "./resnet3d.ts";
import { X3D_CLIPS, createX3d, x3dSpec, type X3dConfig, type X3dVariant } from "./x3d.ts";
import type { VideoConvNetModel } from "./model_spec.ts";

export type Family =
  | "vit"
  | "mobilenetv3"
  | "mobilenetv2"
  | "resnet"
  | "mobileone"
  | "mobilenetv1"
  | "darknet"
  | "swin"
  | "convnext"
  | "videomae"
  | "x3d"
  | "r3d";
export type Naming = "canonical" | "timm" | "torchvision" | "hf" | "tfjs";

/** config.json of a converted model directory. */
export interface ModelFile {
  format: "papr-ts/1";
  arch: string; // preset name, e.g. "deit_small_patch16_224"
  family: Family;
  model: Record<string, unknown>; // the family's config object
  preprocess: PreprocessConfig;
  labels?: string[];
  source?: string; // where the weights came from
}

/** A ConvNet as PaPr and the classifier commands use it. */
export interface ConvNet {
  readonly imageSize: number;
  features(x: Tensor): Tensor; // [1, 3, S, S] -> [1, K, h, w], last conv stage after its activation
  forward(x: Tensor): Tensor; // [1, 3, S, S] -> [1, numClasses]
}

// A Swin is a hierarchical backbone (`hierarchical`, for hierarchical PaPr: src/models/swin.ts's Swin) that also
// serves as a plain classifier (`convnet`: features = the last stage's map).
export type LoadedModel =
  | { family: "vit"; file: ModelFile; vit: Vit }
  | { family: Exclude<Family, "vit" | "swin" | "convnext" | VideoFamily>; file: ModelFile; convnet: ConvNet }
  // hierarchical backbones (src/models/hierarchical_model.ts), also usable as plain classifiers (convnet)
  | { family: "swin"; file: ModelFile; convnet: ConvNet; hierarchical: Swin }
  | { family: "convnext"; file: ModelFile; convnet: ConvNet; hierarchical: ConvNeXt };
// Video classifiers (clips [1, 3, T, S, S]) are converted like the others but are not a LoadedModel: no image
// command can run them (buildModel refuses them); buildVideoModel builds them, buildVideoProposer the 3-D ConvNets
// (X3D, R3D-18: video PaPr's proposers; issue #21).
export type VideoFamily = "videomae" | "x3d" | "r3d";
export const VIDEO_FAMILIES: readonly Family[] = ["videomae", "x3d", "r3d"];

const INCEPTION: Pick<PreprocessConfig, "mean" | "std"> = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
const IMAGENET: Pick<PreprocessConfig, "mean" | "std"> = { mean: IMAGENET_DEFAULT_MEAN, std: IMAGENET_DEFAULT_STD };
const crop = (cropPct: number, interpolation: PreprocessConfig["interpolation"] = "bicubic", size = 224) => ({
  inputSize: size,
  cropPct,
  interpolation,
});

interface Preset {
  family: Family;
  model: Record<string, unknown>;
  preprocess: PreprocessConfig;
}

function vitPreset(name: string, config: VitConfig): Preset {
  const augreg = name.startsWith("vit_");
  return {
    family: "vit",
    model: { ...config },
    preprocess: { ...crop(augreg ? 0.9 : 0.875, "bicubic", config.imageSize), ...(augreg ? INCEPTION : IMAGENET) },
  };
}

export const PRESETS: Record<string, Preset> = {
  ...Object.fromEntries(Object.entries(VIT_PRESETS).map(([name, config]) => [name, vitPreset(name, config)])),
  mobilenetv3_small_100: {
    family: "mobilenetv3",
    model: { variant: "small", width: 1 },
    preprocess: { ...crop(0.875), ...IMAGENET },
  },
  mobilenetv3_large_100: {
    family: "mobilenetv3",
    model: { variant: "large", width: 1 },
    preprocess: { ...crop(0.875), ...IMAGENET },
  },
  mobilenetv2_100: { family: "mobilenetv2", model: {}, preprocess: { ...crop(0.875), ...IMAGENET } },
  resnet18: { family: "resnet", model: { depth: 18 }, preprocess: { ...crop(0.875, "bilinear"), ...IMAGENET } },
  resnet50: { family: "resnet", model: { depth: 50 }, preprocess: { ...crop(0.875, "bilinear"), ...IMAGENET } },
  mobileone_s0: { family: "mobileone", model: {}, preprocess: { ...crop(0.875, "bilinear"), ...IMAGENET } },
  "mobilenet_v1_0.25_224": {
    family: "mobilenetv1",
    model: { widthMultiplier: 0.25 },
    preprocess: { ...crop(0.875), ...INCEPTION },
  },
  ...Object.fromEntries(
    Object.entries(SWIN_PRESETS).map(([name, config]) => [
      name,
      { family: "swin" as const, model: { ...config }, preprocess: { ...crop(0.9), ...IMAGENET } },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(CONVNEXT_PRESETS).map(([name, config]) => [
      name,
      { family: "convnext" as Family, model: { ...config }, preprocess: { ...crop(0.875), ...IMAGENET } },
    ]),
  ),
  // VideoMAE's Kinetics-400 classifiers (src/models/video_vit.ts): frames resized to 224 on the short side
  // (bilinear) and center-cropped, ImageNet mean / std, as VideoMAE evaluates
  ...Object.fromEntries(
    Object.entries(VIDEO_VIT_PRESETS).map(([name, config]) => [
      name,
      { family: "videomae" as Family, model: { ...config }, preprocess: { ...crop(1, "bilinear"), ...IMAGENET } },
    ]),
  ),
  // video PaPr's proposers (src/models/x3d.ts, resnet3d.ts): Kinetics-400 3-D ConvNets. Their preprocessing is
  // that of their own training (PyTorchVideo's X3D, torchvision's r3d_18); as PaPr proposers they see the
  // backbone's clip instead (resized to the proposer's clip: src/papr/video_papr.ts)
  ...Object.fromEntries(
    (["xs", "s", "m"] as X3dVariant[]).map((variant) => [
      `x3d_${variant}`,
      {
        family: "x3d" as Family,
        model: { variant },
        preprocess: {
          ...crop(1, "bilinear", X3D_CLIPS[variant][1]),
          mean: [0.45, 0.45, 0.45] as const,
          std: [0.225, 0.225, 0.225] as const,
        },
      },
    ]),
  ),
  r3d_18: {
    family: "r3d",
    model: {},
    preprocess: {
      ...crop(1, "bilinear", 112),
      mean: [0.43216, 0.394666, 0.37645],
      std: [0.22803, 0.22145, 0.216989],
    },
  },
  // TFLite's quantized MobileNetV2 (1001 classes, 0 = background; input (u - 128) / 128, the uint8
  // pixels themselves for the integer path): converted from the .tflite file (load/tflite_models.ts)
  "mobilenet_v2_1.0_224_quant": {
    family: "mobilenetv2",
    model: { numClasses: 1001, padding: "tf" },
    preprocess: {
      ...crop(0.875, "bilinear"),
      mean: [128 / 255, 128 / 255, 128 / 255],
      std: [128 / 255, 128 / 255, 128 / 255],
    },
  },
  darknet_tiny: {
    family: "darknet",
    model: {},
    preprocess: { ...crop(1, "bilinear"), mean: [0, 0, 0], std: [1, 1, 1] },
  },
};

export function preset(arch: string): Preset {
  const p = PRESETS[arch];
  if (!p) throw new Error(`unknown architecture '${arch}'; known: ${Object.keys(PRESETS).join(", ")}`);
  return p;
}

/** name -> shape of every canonical parameter of a family with a config. */
export function familySpec(family: Family, model: Record<string, unknown>): ModelSpec {
  switch (family) {
    case "vit":
      return vitSpec(model as unknown as VitConfig);
    case "mobilenetv3":
      return mobilenetV3Spec(model as unknown as MobileNetV3Config);
    case "mobilenetv2":
      return mobilenetV2Spec(model as MobileNetV2Config);
    case "resnet":
      return resnetSpec(model as unknown as ResNetConfig);
    case "mobileone":
      return mobileoneSpec(model as MobileOneConfig);
    case "mobilenetv1":
      return mobilenetV1Spec(model as MobileNetV1Config);
    case "darknet":
      return darknetSpec(model as DarknetConfig);
    case "swin":
      return swinSpec(model as unknown as SwinConfig);
    case "convnext":
      return convnextSpec(model as unknown as ConvNeXtConfig);
    case "videomae":
      return videoVitSpec(model as unknown as VideoVitConfig);
    case "x3d":
      return x3dSpec(model as unknown as X3dConfig);
    case "r3d":
      return resnet3dSpec(model as ResNet3dConfig);
  }
}

/**
 * Refuses NaN or infinite weights, naming the first tensor holding one: NaN in a proposer ranks no
 * patch and NaN in a backbone prints "NaN%", both without any other sign that the file is broken.
 */
export function checkFiniteWeights(what: string, weights: Map<string, Tensor>): void {
  for (const [name, t] of weights) {
    const data = t.data;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        if (bad++ === 0) first = i;
      }
    }
    if (bad > 0) {
      const kind = Number.isNaN(data[first]) ? "NaN" : data[first] > 0 ? "Infinity" : "-Infinity";
      throw new Error(
        `${escapeText(what)}: tensor ${quote(name)} has ${bad} non-finite value${bad > 1 ? "s" : ""} ` +
          `(the first, element ${first}, is ${kind}); the model would give meaningless predictions`,
      );
    }
  }
}

/** Builds a runnable model from a config file and canonical weights (names, shapes and finiteness are checked). */
export function buildModel(file: ModelFile, weights: Map<string, Tensor>): LoadedModel {
  checkFiniteWeights("weights", weights);
  const m = file.model;
  switch (file.family) {
    case "vit":
      return { family: "vit", file, vit: createVit(m as unknown as VitConfig, weights) };
    case "mobilenetv3":
      return { family: file.family, file, convnet: createMobileNetV3(m as unknown as MobileNetV3Config, weights) };
    case "mobilenetv2":
      return { family: file.family, file, convnet: createMobileNetV2(m as MobileNetV2Config, weights) };
    case "resnet":
      return { family: file.family, file, convnet: createResNet(m as unknown as ResNetConfig, weights) };
    case "mobileone":
      return { family: file.family, file, convnet: createMobileOne(m as MobileOneConfig, weights) };
    case "mobilenetv1":
      return { family: file.family, file, convnet: createMobileNetV1(m as MobileNetV1Config, weights) };
    case "darknet":
      return { family: file.family, file, convnet: createDarknet(m as DarknetConfig, weights) };
    case "swin": {
      const swin = createSwin(m as unknown as SwinConfig, weights);
      const convnet: ConvNet = {
        imageSize: swin.imageSize,
        features: (x) => swin.features(x)[swin.numStages - 1],
        forward: (x) => swin.forward(x),
      };
      return { family: "swin", file, convnet, hierarchical: swin };
    }
    case "convnext": {
      const model = createConvNeXt(m as unknown as ConvNeXtConfig, weights);
      const convnet: ConvNet = {
        imageSize: model.imageSize,
        features: (x) => model.features(x).at(-1)!,
        forward: model.forward,
      };
      return { family: "convnext", file, convnet, hierarchical: model };
    }
    case "videomae":
    case "x3d":
    case "r3d": {
      const kind = file.family === "videomae" ? "classifier" : "proposer";
      throw new Error(`config.json: ${file.arch} is a video ${kind} (clips, not images); classify-video runs it`);
    }
    default:
      throw new Error(`config.json: unknown model family '${String((file as ModelFile).family)}'`);
  }
}

/** Builds a video classifier (family videomae) from a config file and canonical weights (all checked). */
export function buildVideoModel(file: ModelFile, weights: Map<string, Tensor>): VideoVit {
  if (file.family !== "videomae") throw new Error(`config.json: ${file.arch} (${file.family}) is not a video model`);
  checkFiniteWeights("weights", weights);
  return createVideoVit(file.model as unknown as VideoVitConfig, weights);
}

/** Builds a 3-D ConvNet (family x3d or r3d: a video PaPr proposer) from a config file and canonical weights. */
export function buildVideoProposer(file: ModelFile, weights: Map<string, Tensor>): VideoConvNetModel<unknown> {
  checkFiniteWeights("weights", weights);
  if (file.family === "x3d") return createX3d(file.model as unknown as X3dConfig, weights);
  if (file.family === "r3d") return createResNet3d(file.model as ResNet3dConfig, weights);
  throw new Error(`config.json: ${file.arch} (${file.family}) is not a 3-D ConvNet (x3d or r3d)`);
}

/** Guesses the naming scheme of a state dict from its keys. */
export function detectNaming(family: Family, names: string[]): Naming {
  const has = (re: RegExp) => names.some((n) => re.test(n));
  if (family === "vit") {
    if (has(/^(module\.|model\.)*(conv_proj\.|encoder\.layers\.encoder_layer_)/)) return "torchvision";
    return has(/^(vit\.|deit\.)?(embeddings\.|encoder\.layer\.)/) ? "hf" : "timm";
  }
  if (family === "mobilenetv3" || family === "mobilenetv2")
    return has(/^(module\.|model\.)*features\.\d/) ? "torchvision" : "timm";
  if (family === "resnet") return "torchvision";
  if (family === "swin") return detectSwinNaming(names);
  if (family === "videomae") return detectVideoMaeNaming(names) === "hf" ? "hf" : "timm";
  if (family === "convnext") return has(/^(module\.|model\.)*(features|classifier)\.\d/) ? "torchvision" : "timm";
  return "timm";
}

export interface ConvertInput {
  tensors: Map<string, Tensor>;
  tfjs?: TfjsLayersModel; // for TF.js layers models
  tflite?: TfliteModel; // for TFLite models
  source: string; // file name, for messages
}

/**
 * Maps a checkpoint onto an architecture's canonical names and checks every tensor against the
 * spec: one error lists every missing, unexpected and mis-shaped tensor.
 */
export interface ConvertOptions {
  naming?: Naming; // default: detected from the names
  numHeads?: number; // ViT: heads cannot be read from the weights; default = the preset's
  labels?: string[];
}

export function convertCheckpoint(
  input: ConvertInput,
  arch: string,
  options: ConvertOptions = {},
): { file: ModelFile; weights: Map<string, Tensor> } {
  const p = preset(arch);
  const model: Record<string, unknown> = { ...p.model };
  let weights: Map<string, Tensor>;
  if (arch === "mobilenet_v2_1.0_224_quant" || input.tflite) {
    if (!input.tflite || arch !== "mobilenet_v2_1.0_224_quant")
      throw new Error(
        `convert ${input.source}: a .tflite file converts as mobilenet_v2_1.0_224_quant (and only from a .tflite)`,
      );
    const converted = mobilenetV2FromTflite(input.tflite);
    Object.assign(model, converted.config);
    weights = converted.weights;
  } else if (p.family === "mobilenetv1" || p.family === "darknet") {
    if (!input.tfjs)
      throw new Error(`convert ${input.source}: ${arch} is converted from a TF.js layers model (model.json)`);
    const converted =
      p.family === "mobilenetv1"
        ? mobilenetV1FromTfjs(input.tfjs, input.source)
        : darknetFromTfjs(input.tfjs, input.source);
    Object.assign(model, converted.config);
    weights = converted.weights;
  } else {
    const naming = options.naming ?? detectNaming(p.family, [...input.tensors.keys()]);
    weights = toCanonical(p.family, naming, input.tensors, model);
  }
  const numClasses = inferNumClasses(p.family, weights);
  if (numClasses !== undefined) model.numClasses = numClasses;
  if (p.family === "convnext") Object.assign(model, convnextGeometry(weights));
  if (p.family === "vit")
    Object.assign(model, inferVitGeometry(weights), options.numHeads ? { numHeads: options.numHeads } : {});
  if (p.family === "swin") Object.assign(model, inferSwinGeometry(weights));
  if (p.family === "videomae")
    Object.assign(model, inferVideoVitGeometry(weights), options.numHeads ? { numHeads: options.numHeads } : {});
  const spec = familySpec(p.family, model);
  checkWeights(`convert ${input.source} as ${arch}`, spec, weights);
  checkFiniteWeights(`convert ${input.source}`, weights);
  const file: ModelFile = {
    format: "papr-ts/1",
    arch,
    family: p.family,
    model,
    preprocess: p.preprocess,
    source: input.source,
  };
  if (options.labels) file.labels = options.labels;
  return { file, weights };
}

function toCanonical(
  family: Family,
  naming: Naming,
  tensors: Map<string, Tensor>,
  model: Record<string, unknown>,
): Map<string, Tensor> {
  const stripped = () =>
    new Map([...tensors].map(([name, t]) => [name.replace(/^(module\.|model\.)+/, ""), t] as [string, Tensor]));
  switch (family) {
    case "vit":
      return naming === "hf"
        ? hfToCanonicalVit(tensors)
        : naming === "torchvision"
          ? torchvisionToCanonicalVit(tensors)
          : timmToCanonicalVit(tensors);
    case "mobilenetv3":
      return naming === "torchvision"
        ? torchvisionToCanonicalMobileNetV3(tensors, model.variant as "small" | "large")
        : timmToCanonicalMobileNet(tensors);
    case "mobilenetv2":
      return naming === "torchvision" ? torchvisionToCanonicalMobileNetV2(tensors) : timmToCanonicalMobileNet(tensors);
    case "resnet":
      return canonicalResnetWeights(tensors);
    case "swin":
      if (naming !== "timm" && naming !== "torchvision" && naming !== "canonical")
        throw new Error(`a Swin checkpoint is named as timm or torchvision, not ${naming}`);
      return canonicalSwinWeights(tensors, naming === "torchvision" ? "torchvision" : "timm");
    case "convnext":
      return naming === "torchvision" ? torchvisionToCanonicalConvnext(tensors) : timmToCanonicalConvnext(tensors);
    case "videomae":
      // the original release's names are the canonical ones but for q_bias / v_bias ("timm" = "canonical" here)
      if (naming !== "hf" && naming !== "timm" && naming !== "canonical")
        throw new Error(`a VideoMAE checkpoint is named as the original release (timm) or hf, not ${naming}`);
      return canonicalVideoMaeWeights(tensors, naming === "hf" ? "hf" : "original");
    default:
      return stripped();
  }
}

/**
 * A ViT's geometry read from its weights (width, depth, patch and image size, MLP ratio, prefix tokens),
 * so checkpoints of any size convert under their family's preset; only the head count comes from the preset.
 */
function inferVitGeometry(weights: Map<string, Tensor>): Partial<VitConfig> {
  const proj = weights.get("patch_embed.proj.weight");
  const pos = weights.get("pos_embed");
  const fc1 = weights.get("blocks.0.mlp.fc1.weight");
  if (!proj || !pos || !fc1) return {}; // checkWeights reports what is missing
  const embedDim = proj.shape[0];
  const patchSize = proj.shape[2];
  const prefix = (weights.has("cls_token") ? 1 : 0) + (weights.has("dist_token") ? 1 : 0);
  const grid = Math.round(Math.sqrt(pos.shape[1] - prefix));
  let depth = 0;
  while (weights.has(`blocks.${depth}.norm1.weight`)) depth++;
  return {
    embedDim,
    patchSize,
    depth,
    imageSize: grid * patchSize,
    inChannels: proj.shape[1],
    mlpRatio: fc1.shape[0] / embedDim,
    qkvBias: weights.has("blocks.0.attn.qkv.bias"),
    classToken: weights.has("cls_token"),
    distillToken: weights.has("dist_token"),
    fcNorm: weights.has("fc_norm.weight"),
    globalPool: weights.has("fc_norm.weight") || !weights.has("cls_token") ? "avg" : "token",
  };
}

/**
 * A VideoMAE classifier's geometry read from its weights (width, depth, tubelet and patch size, MLP ratio);
 * the clip size (frames, image size) and the head count come from the preset (no position table is stored).
 */
function inferVideoVitGeometry(weights: Map<string, Tensor>): Partial<VideoVitConfig> {
  const proj = weights.get("patch_embed.proj.weight"); // [D, C, t, p, p]
  const fc1 = weights.get("blocks.0.mlp.fc1.weight");
  if (!proj || proj.rank !== 5 || !fc1) return {}; // checkWeights reports what is missing or mis-shaped
  let depth = 0;
  while (weights.has(`blocks.${depth}.norm1.weight`)) depth++;
  return {
    embedDim: proj.shape[0],
    inChannels: proj.shape[1],
    tubeletSize: proj.shape[2],
    patchSize: proj.shape[3],
    depth,
    mlpRatio: fc1.shape[0] / proj.shape[0],
  };
}

/**
 * A Swin's geometry read from its weights (width, stage depths, heads from the bias tables, window, MLP ratio,
 * qkv bias), so checkpoints of any size convert under the family's preset; the image size comes from the preset.
 */
function inferSwinGeometry(weights: Map<string, Tensor>): Partial<SwinConfig> {
  const proj = weights.get("patch_embed.proj.weight");
  const fc1 = weights.get("layers.0.blocks.0.mlp.fc1.weight");
  if (!proj || !fc1) return {}; // checkWeights reports what is missing
  const depths: number[] = [];
  const numHeads: number[] = [];
  for (let i = 0; weights.has(`layers.${i}.blocks.0.norm1.weight`); i++) {
    let depth = 0;
    while (weights.has(`layers.${i}.blocks.${depth}.norm1.weight`)) depth++;
    depths.push(depth);
    numHeads.push(weights.get(`layers.${i}.blocks.0.attn.relative_position_bias_table`)?.shape[1] ?? 1);
  }
  const table = weights.get("layers.0.blocks.0.attn.relative_position_bias_table");
  return {
    embedDim: proj.shape[0],
    patchSize: proj.shape[2],
    inChannels: proj.shape[1],
    depths,
    numHeads,
    ...(table ? { windowSize: (Math.round(Math.sqrt(table.shape[0])) + 1) / 2 } : {}),
    mlpRatio: fc1.shape[0] / proj.shape[0],
    qkvBias: weights.has("layers.0.blocks.0.attn.qkv.bias"),
  };
}

/** The classifier's output size, read from the head weight, so fine-tuned heads (10 classes...) convert too. */
function inferNumClasses(family: Family, weights: Map<string, Tensor>): number | undefined {
  const head = {
    vit: "head.weight",
    mobilenetv3: "classifier.weight",
    mobilenetv2: "classifier.weight",
    resnet: "fc.weight",
    mobileone: "head.fc.weight",
    mobilenetv1: "conv_preds.weight",
    darknet: "head.weight",
    swin: "head.fc.weight",
    convnext: "head.fc.weight",
    videomae: "head.weight",
    x3d: "blocks.5.proj.weight",
    r3d: "fc.weight",
  }[family];
  return weights.get(head)?.shape[0];
}
