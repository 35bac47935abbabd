// papr classify with a hierarchical backbone (a ConvNeXt or Swin folder, PAPR-SPEC.md section 5): per image the top-k,
// the foreground positions of every stage, MACs per stage and time; the explain picture shows one mask per
// stage, the trace holds every stage's mask and significance.
import { basename } from "node:path";
import { decodeImage } from "../image/decode.ts";
import type { ImageLimits } from "../image/image.ts";
import { printable } from "../image/image.ts";
import { encodePng } from "../image/encode.ts";
import { preprocess, tensorToRgb } from "../image/preprocess.ts";
import type { LoadedModel } from "../models/registry.ts";
import { convnextCost, type StageCost } from "../papr/convnext_macs.ts";
import { swinMacs } from "../papr/swin_macs.ts";
import { explainStagesPicture } from "../papr/explain.ts";
import { HierarchicalPapr, type HierarchicalResult } from "../papr/hierarchical.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { softmax } from "../tensor/softmax.ts";
import { topk } from "../tensor/sort.ts";
import { Tensor } from "../tensor/tensor.ts";
import { readImageFile, writeOutputFile } from "./files.ts";

export interface HierarchicalOutputs {
  explain?: string;
  trace?: { json: string; tensors: string };
}

/** Hierarchical PaPr on a ConvNeXt or Swin backbone with its fvcore-style cost (convnext_macs.ts, swin_macs.ts). */
export function hierarchicalPapr(
  backbone: LoadedModel & { family: "convnext" | "swin" },
  proposer: { features(x: Tensor): Tensor } | null,
): HierarchicalPapr<StageCost> {
  if (backbone.family === "swin") {
    const swin = backbone.hierarchical;
    const positions = swin.stageGrids().map(([h, w]) => h * w);
    return new HierarchicalPapr(swin, proposer, (fg, proposerMacs) => {
      const m = swinMacs(
        swin.config,
        fg.map((n, i) => n ?? positions[i]),
        proposerMacs,
      );
      return { proposer: m.proposer, stem: m.patchEmbed, stages: m.stages, head: m.head, total: m.total };
    });
  }
  const model = backbone.hierarchical;
  const size = backbone.file.preprocess.inputSize;
  return new HierarchicalPapr(model, proposer, (fg, proposerMacs) =>
    convnextCost(model.config, size, fg, proposerMacs),
  );
}

export function classifyHierarchical(
  images: string[],
  backbone: LoadedModel & { family: "convnext" | "swin" },
  proposer: LoadedModel & { convnet: { features(x: Tensor): Tensor } },
  options: { z: number; k: number; limits: ImageLimits; outputs: HierarchicalOutputs[] },
): void {
  const papr = hierarchicalPapr(backbone, proposer.convnet);
  const labels = backbone.file.labels;
  for (const [i, path] of images.entries()) {
    const x = preprocess(decodeImage(readImageFile(path), path, options.limits), backbone.file.preprocess);
    const result = papr.predict(x, { z: options.z });
    printHierarchical(path, result, labels, Math.min(options.k, result.logits.size));
    const { explain, trace } = options.outputs[i];
    if (explain) {
      const image = tensorToRgb(x, backbone.file.preprocess.mean, backbone.file.preprocess.std);
      const picture = explainStagesPicture(image, result.masks!);
      writeOutputFile(explain, encodePng(picture.data, picture.width, picture.height));
      console.log(`  explain picture: ${explain}`);
    }
    if (trace) {
      writeHierarchicalTrace(trace.json, trace.tensors, path, backbone.file.arch, x, result, labels);
      console.log(`  trace: ${trace.json} (+ ${trace.tensors})`);
    }
  }
}

function printHierarchical(
  path: string,
  r: HierarchicalResult<StageCost>,
  labels: string[] | undefined,
  k: number,
): void {
  const best = topk(softmax(r.logits.reshape([r.logits.size])), k);
  console.log(printable(path));
  const counts = r.foreground.map((n, i) => `${n}/${r.positions[i]}`).join(" ");
  console.log(`  z = ${r.z[0]}: foreground positions per stage ${counts}`);
  best.indices.forEach((cls, i) => {
    const name = labels?.[cls] ?? `class ${cls}`;
    console.log(`  ${String(i + 1).padStart(2)}. ${name.padEnd(28)} ${(100 * best.values[i]).toFixed(2).padStart(6)}%`);
  });
  const g = (macs: number) => (macs / 1e9).toFixed(3);
  const m = r.macs;
  console.log(
    `  MACs: ${g(m.total)} G (proposer ${g(m.proposer)} + stem ${g(m.stem)} + stages ${m.stages.map(g).join(" ")} + head ${g(m.head)})` +
      ` vs ${g(r.unmaskedMacs.total)} G unmasked = ${((100 * m.total) / r.unmaskedMacs.total).toFixed(1)}%`,
  );
  const t = r.timeMs;
  console.log(
    `  time: ${t.total.toFixed(1)} ms (proposer ${t.proposer.toFixed(1)}, masks ${t.masks.toFixed(1)}, backbone ${t.backbone.toFixed(1)})`,
  );
}

function writeHierarchicalTrace(
  out: string,
  tensorsPath: string,
  image: string,
  arch: string,
  x: Tensor,
  r: HierarchicalResult<StageCost>,
  labels?: string[],
): void {
  const masks = r.masks!;
  const tensors: Record<string, Tensor> = { input: x, logits: r.logits };
  if (r.features) tensors.features = r.features;
  if (r.proposal) tensors.proposal = r.proposal;
  masks.forEach((m, i) => {
    tensors[`stage${i}_significance`] = m.significance;
    tensors[`stage${i}_mask`] = new Tensor(Float32Array.from(m.foreground), [m.height, m.width]);
    tensors[`stage${i}_kept`] = new Tensor(Float32Array.from(m.keptIndices), [m.keptIndices.length]);
  });
  writeOutputFile(tensorsPath, writeSafetensors(tensors));
  const best = topk(softmax(r.logits.reshape([r.logits.size])), Math.min(5, r.logits.size));
  const rows = (data: ArrayLike<number>, h: number, w: number, f: (v: number) => string | number) =>
    Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, xx) => f(data[y * w + xx])));
  const trace = {
    image,
    backbone: arch,
    z: r.z,
    stages: masks.map((m, i) => ({
      grid: [m.height, m.width],
      positions: r.positions[i],
      foreground: r.foreground[i],
      macs: r.macs.stages[i],
      mask: rows(m.foreground, m.height, m.width, (v) => String(v)).map((row) => row.join("")),
      significance: rows(m.significance.data, m.height, m.width, (v) => +v.toPrecision(5)),
    })),
    top5: [...best.indices].map((cls, i) => ({ class: cls, label: labels?.[cls], probability: best.values[i] })),
    macs: r.macs,
    unmaskedMacs: r.unmaskedMacs,
    timeMs: r.timeMs,
    tensors: basename(tensorsPath),
  };
  writeOutputFile(out, JSON.stringify(trace, null, 1) + "\n");
}
