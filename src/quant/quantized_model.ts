// A quantized model folder as the CLI loads any model (docs/quantization.md §7, §10): a MobileNetV1
// conv chain (model_file.ts) or a MobileNetV3 graph (v3_model_file.ts), run by simulated execution.
import type { LoadedModel } from "../models/registry.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { quantizedNetFrom, type QuantizedModelFile } from "./model_file.ts";
import { SimulatedNet } from "./simulated.ts";
import { V3_GRAPH, v3NetFrom, type V3QuantizationSection } from "./v3_model_file.ts";
import { SimulatedV3Net } from "./v3_simulated.ts";

/** A quantized model folder as the CLI loads any model: a ConvNet (simulated execution). */
export function buildQuantizedModel(file: QuantizedModelFile, weights: Map<string, Tensor>): LoadedModel {
  if (
    file.family === "vit" ||
    file.family === "swin" ||
    file.family === "convnext" ||
    file.family === "videomae" ||
    file.family === "x3d" ||
    file.family === "r3d"
  )
    throw new Error(`config.json: a quantized model must be a plain ConvNet, not the ${file.family} family`);
  if ((file.quantization as unknown as { graph?: string }).graph === V3_GRAPH) {
    if (file.family !== "mobilenetv3")
      throw new Error(`config.json: quantization graph '${V3_GRAPH}' needs the mobilenetv3 family, not ${file.family}`);
    const net = v3NetFrom(file.quantization as unknown as V3QuantizationSection, file.model, weights);
    return { family: file.family, file, convnet: new SimulatedV3Net(net) };
  }
  const net = quantizedNetFrom(file.quantization, weights);
  return { family: file.family, file, convnet: new SimulatedNet(net) };
}
