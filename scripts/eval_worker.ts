// Worker thread of scripts/eval.ts: evaluates the scenes it is given and posts one SceneResult per scene.
import { parentPort, workerData } from "node:worker_threads";
import { loadModelDir } from "../src/cli/files.ts";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeScene } from "../src/data/scenes.ts";
import { evaluateScene, type EvalSetting } from "../src/eval/scene_eval.ts";
import { setBackend, type BackendName } from "../src/tensor/backend.ts";

const { backboneDir, proposerDir, backend, scenes, settings, recallZs } = workerData as {
  backboneDir: string;
  proposerDir: string;
  backend: BackendName;
  scenes: number[];
  settings: EvalSetting[];
  recallZs: number[];
};
setBackend(backend);
const backbone = loadModelDir(backboneDir, "backbone");
const proposer = loadModelDir(proposerDir, "proposer");
if (backbone.family !== "vit" || proposer.family === "vit")
  throw new Error(`eval: expected a ViT in ${backboneDir} and a ConvNet in ${proposerDir}`);
const models = { vit: backbone.vit, proposer: proposer.convnet, preprocess: backbone.file.preprocess };
const items = loadFashionItems();
for (const s of scenes)
  parentPort!.postMessage(evaluateScene(models, makeScene(items, "test", s), s, settings, recallZs));
parentPort!.postMessage("done");
