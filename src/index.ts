// papr-ts public API. Everything here is platform-neutral: no Node built-ins, so the same code runs in
// Node and, bundled by scripts/build-web.mjs (dist/papr.js), in a web page or Web Worker. File and
// process I/O live in Node-only adapters outside this API (src/cli/files.ts, src/models/load/node.ts).
//
//   const { tensors } = readSafetensors(bytes);                    // bytes: Uint8Array (fetch, fs, ...)
//   const backbone = buildModel(configJson, tensors);                // a ModelFile + canonical weights
//   const x = preprocess(decodeImage(imageBytes), backbone.file.preprocess);
//   const result = new Papr(backbone.vit, proposer.convnet).predict(x, { z: 0.5 });

// the engine: Tensor, kernels, safetensors, seeded random numbers, MAC counting
export * from "./tensor/index.ts";
export { availableThreads, threadCount } from "./tensor/parallel.ts";
// kernels on "js" (reference) or "wasm" (WebAssembly SIMD, the default where it validates)
export {
  availableBackends,
  backendName,
  backendThreads,
  setBackend,
  setThreads,
  stopThreads,
  threadsUnavailableReason,
  type BackendName,
} from "./tensor/backend.ts";

// images: PNG/JPEG/BMP decoding, PIL-exact resize, timm eval transform, PNG encoding
export * from "./image/index.ts";

// models: the registry (presets, model files, buildModel, checkpoint conversion) and every architecture
export * from "./models/registry.ts";
export { fetchModelDir } from "./models/fetch_model.ts";
export { syntheticParameter, syntheticWeights } from "./models/synthetic.ts";
export {
  VIT_PRESETS,
  createVit,
  gridSize,
  numPrefixTokens,
  vitConfig,
  vitSpec,
  type Vit,
  type VitConfig,
} from "./models/vit.ts";
export { createMobileNetV3, mobilenetV3Spec, type MobileNetV3, type MobileNetV3Config } from "./models/mobilenetv3.ts";
export { createMobileNetV2, mobilenetV2Spec, type MobileNetV2, type MobileNetV2Config } from "./models/mobilenetv2.ts";
export { createMobileNetV1, mobilenetV1Spec, type MobileNetV1, type MobileNetV1Config } from "./models/mobilenetv1.ts";
export { createResNet, resnetSpec, type ResNet, type ResNetConfig } from "./models/resnet.ts";
export { createResNet3d, resnet3dSpec, type ResNet3d, type ResNet3dConfig } from "./models/resnet3d.ts";
export { createX3d, x3dSpec, X3D_CLIPS, type X3d, type X3dConfig, type X3dVariant } from "./models/x3d.ts";
export { createMobileOne, mobileoneSpec, type MobileOne, type MobileOneConfig } from "./models/mobileone.ts";
export { createDarknet, darknetSpec, type Darknet, type DarknetConfig } from "./models/darknet.ts";
export {
  SWIN_PRESETS,
  createSwin,
  swinConfig,
  swinSpec,
  swinStageGrids,
  type Swin,
  type SwinConfig,
  type SwinStageMask,
} from "./models/swin.ts";
export {
  CONVNEXT_PRESETS,
  convnextSpec,
  convnextStageGrids,
  createConvNeXt,
  type ConvNeXt,
  type ConvNeXtConfig,
} from "./models/convnext.ts";
export type { HierarchicalModel, MaskedForward, SpatialMask } from "./models/hierarchical_model.ts";
// video: VideoMAE's classifier ViT (clips [1, 3, T, S, S]; docs/video-vit.md)
export {
  VIDEO_VIT_PRESETS,
  createVideoVit,
  sinusoidPositionTable,
  videoVitConfig,
  videoVitSpec,
  type VideoVit,
  type VideoVitConfig,
} from "./models/video_vit.ts";
// checkpoint readers over bytes (.pth zip archives, TF.js layers models)
export { readPth, readPthCheckpoint, PthError, type PthCheckpoint } from "./models/load/pth.ts";
export { readTfjsLayersModel, TfjsError, type TfjsLayersModel } from "./models/load/tfjs.ts";
export { readTflite, TfliteError, type TfliteModel } from "./models/load/tflite.ts";
export { prepareIntegerModel, integerConvNet, type IntegerModel } from "./models/tflite_int.ts";
export { tfliteIntegerModel } from "./models/tflite_file.ts";

// PaPr: proposal map -> significance -> ranking -> keep count -> gather, MAC counting, explain picture
export * from "./papr/papr.ts";
export * from "./papr/proposal.ts";
export * from "./papr/significance.ts";
export * from "./papr/ranking.ts";
export * from "./papr/prune.ts";
export * from "./papr/macs.ts";
export { swinMacs, type SwinCostBreakdown } from "./papr/swin_macs.ts";
export { tubeletEmbedMacs, videoVitCost, videoVitCostKept } from "./papr/video_macs.ts";
export * from "./papr/explain.ts";
export * from "./papr/adaptive_pruning.ts";

// post-training quantization (docs/quantization.md): power-of-two (RAPQ) and uniform, simulated and integer execution
export { mobilenetV1Chain, type ConvChain } from "./quant/conv_chain.ts";
export { quantizeChain, parseBits, METHODS as QUANT_METHODS, type Method as QuantMethod } from "./quant/ptq.ts";
export { SimulatedNet } from "./quant/simulated.ts";
export { integerForward, type IntegerResult } from "./quant/integer.ts";
export type { QuantizedNet } from "./quant/quantized_net.ts";
export { quantizedModelFile, quantizedNetFrom } from "./quant/model_file.ts";
export { buildQuantizedModel } from "./quant/quantized_model.ts";
export { mobilenetV3Graph, type V3Graph } from "./quant/v3_graph.ts";
export { quantizeV3, calibrateV3 } from "./quant/v3_ptq.ts";
export type { QuantV3Net } from "./quant/v3_net.ts";
export { SimulatedV3Net } from "./quant/v3_simulated.ts";
export { integerV3Forward, type IntegerV3Result } from "./quant/v3_integer.ts";
export { quantizedV3ModelFile, v3NetFrom } from "./quant/v3_model_file.ts";
export * from "./papr/hierarchical.ts";
export * from "./papr/convnext_macs.ts";
// video PaPr (PAPR-SPEC.md section 6; docs/video_papr.md)
export * from "./papr/video_papr.ts";
