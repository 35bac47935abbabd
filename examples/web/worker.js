// The demo's inference worker (a module Web Worker): loads the two model directories over fetch and
// runs PaPr with the library's browser bundle, off the page's main thread so the page stays responsive.
// Same steps as `papr classify` (src/cli/main.ts): decodeImage -> preprocess -> Papr.predict.
//
// It starts the engine's worker threads (its own nested workers) before loading the models: every core
// (navigator.hardwareConcurrency), or `threads` when the page asks; they are ready before the first job.
// The pool blocks (Atomics.wait) only here, in this worker, never on the page's main thread.
//
// page -> worker: { type: "load", backbone: URL, proposer: URL, threads?: number }
//                 { type: "classify", job, name, z, bytes?: ArrayBuffer }   (no bytes: the last image again)
// worker -> page: { type: "loaded", backbone, proposer, engine } | { type: "result", job, ... }
//                 engine: { backend, threads, crossOriginIsolated, note: why fewer threads, or null }
//                 { type: "error", job?, stage, message }
import {
  Papr,
  backendName,
  backendThreads,
  setThreads,
  threadsUnavailableReason,
  checkKeepRatio,
  decodeImage,
  explainPicture,
  fetchModelDir,
  preprocess,
  softmax,
  tensorToRgb,
  topk,
} from "../../dist/papr.js";

let models = null; // { backbone, proposer, papr }
let engine = null; // { backend, threads, crossOriginIsolated, note }

/** Starts the worker threads once: `requested` of them (more than the cores allowed), else every core. */
async function startEngine(requested) {
  const cores = navigator.hardwareConcurrency ?? 1;
  const want = requested ?? cores;
  await setThreads(want, { force: requested !== undefined });
  const threads = backendThreads();
  const note = threads < want ? threadsUnavailableReason() : null;
  return { backend: backendName(), threads, cores, crossOriginIsolated: self.crossOriginIsolated === true, note };
}
let image = null; // { name, x, width, height, decodeMs }

async function load({ backbone: backboneUrl, proposer: proposerUrl, threads }) {
  models = null;
  engine ??= await startEngine(threads);
  const [backbone, proposer] = await Promise.all([
    fetchModelDir(backboneUrl, "backbone"),
    fetchModelDir(proposerUrl, "proposer"),
  ]);
  if (backbone.family !== "vit") throw new Error(`backbone ${backboneUrl}: a ${backbone.family} is not a ViT backbone`);
  if (proposer.family === "vit")
    throw new Error(`proposer ${proposerUrl}: a ViT cannot be the proposer; give a ConvNet`);
  const [a, b] = [backbone.file.preprocess.inputSize, proposer.file.preprocess.inputSize];
  if (a !== b)
    throw new Error(`proposer input size ${b} differs from backbone input size ${a}: both must see the same tensor`);
  models = { backbone, proposer, papr: new Papr(backbone.vit, proposer.convnet) };
  image = null; // preprocessing depends on the backbone
  const describe = (m, url) => ({
    url,
    arch: m.file.arch,
    source: m.file.source ?? null,
    classes: m.file.labels?.length ?? null,
  });
  return {
    type: "loaded",
    backbone: describe(backbone, backboneUrl),
    proposer: describe(proposer, proposerUrl),
    engine,
  };
}

function classify({ job, name, z, bytes }) {
  if (!models) throw new Error("the models are not loaded");
  const { backbone, papr } = models;
  checkKeepRatio(z);
  if (bytes) {
    const start = performance.now();
    image = null;
    const rgb = decodeImage(new Uint8Array(bytes), name);
    image = { name, x: preprocess(rgb, backbone.file.preprocess), width: rgb.width, height: rgb.height, decodeMs: 0 };
    image.decodeMs = performance.now() - start;
  }
  if (!image) throw new Error("no image yet: choose or drop one");
  const result = papr.predict(image.x, { z, trace: true });
  const labels = backbone.file.labels;
  const best = topk(softmax(result.logits), Math.min(5, result.logits.size));
  const { mean, std } = backbone.file.preprocess;
  const picture = explainPicture(tensorToRgb(image.x, mean, std), result.trace.significance, result.trace.mask);
  const rgba = new Uint8ClampedArray(picture.width * picture.height * 4);
  for (let i = 0, j = 0; i < picture.data.length; i += 3, j += 4) {
    rgba[j] = picture.data[i];
    rgba[j + 1] = picture.data[i + 1];
    rgba[j + 2] = picture.data[i + 2];
    rgba[j + 3] = 255;
  }
  const logits = Float32Array.from(result.logits.data);
  const message = {
    type: "result",
    job,
    name: image.name,
    z,
    imageSize: [image.width, image.height],
    decodeMs: bytes ? image.decodeMs : 0,
    top5: [...best.indices].map((cls, i) => ({
      class: cls,
      label: labels?.[cls] ?? `class ${cls}`,
      probability: best.values[i],
    })),
    kept: Array.from(result.kept),
    keptCount: result.keptCount,
    numPatches: result.numPatches,
    tokensPerBlock: result.tokensPerBlock,
    grid: result.trace.significance.shape,
    logits,
    macs: result.macs,
    unprunedMacs: result.unprunedMacs,
    timeMs: result.timeMs,
    picture: { width: picture.width, height: picture.height, rgba },
  };
  return [message, [logits.buffer, rgba.buffer]];
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "load") self.postMessage(await load(data));
    else if (data.type === "classify") self.postMessage(...classify(data));
    else throw new Error(`unknown message '${data.type}'`);
  } catch (e) {
    self.postMessage({ type: "error", job: data.job, stage: data.type, message: e?.message ?? String(e) });
  }
};
