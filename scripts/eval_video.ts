// npm run eval:video [-- --clips 20 --seeds 2 --out docs/eval]   (defaults: 20 clips, 2 random seeds)
// Video PaPr (PAPR-SPEC.md section 6) vs random token pruning on moving-object clips (src/data/moving_scenes.ts,
// test split, 16 frames of 224 px: 8 x 14 x 14 = 1568 tokens), with models obtained WITHOUT training
// (src/eval/inflated_video.ts): weights/vit-scenes inflated I3D-style into a tubelet ViT (kernel / 2 over 2 frames,
// its learned 2-D positions per temporal slice, its class token and head), weights/mobilenetv3-scenes run per frame
// on the proposer's clip (--proposer-clip, default 8 x 224 x 224: the spec's 8 frames at the 2-D proposer's size).
// Per z: top-1 of PaPr and of random pruning (--seeds draws), and object-token recall: the share of the tokens that
// hold the moving item (per-frame boxes -> token grid, src/data/object_tokens.ts) which the kept set contains.
// GMACs per clip (fvcore conventions, src/papr/video_macs.ts, + the class token's copies in every block); PaPr's
// include the proposer's, counted as it runs. Also the 2-D model on the clip's middle frame, for reference.
// One thread, clips in order. Writes <out>/video.md, video.json and video-strip.png (clip 0's mask at z = 0.4).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelDir, writeOutputFile } from "../src/cli/files.ts";
import { loadFashionItems } from "../src/data/fashion_mnist_node.ts";
import { makeMovingScene } from "../src/data/moving_scenes.ts";
import { VIDEOMAE_GRID, keptObjectTokens, objectTokenMask } from "../src/data/object_tokens.ts";
import { classTokenCopies, framewiseProposer, inflateVitToVideo } from "../src/eval/inflated_video.ts";
import { clipToTensor } from "../src/image/clip.ts";
import { encodePng } from "../src/image/encode.ts";
import { keepCount, keepMask, keptPatches } from "../src/papr/ranking.ts";
import { VideoPapr, randomTokens, type Clip3 } from "../src/papr/video_papr.ts";
import { videoVitCostKept } from "../src/papr/video_macs.ts";
import { drawMaskStrip } from "../src/plot/mask_strip.ts";
import { Tensor } from "../src/tensor/tensor.ts";

const { values } = parseArgs({
  options: {
    clips: { type: "string", default: "20" },
    z: { type: "string", default: "0.8,0.6,0.4,0.2" },
    seeds: { type: "string", default: "2" },
    backbone: { type: "string", default: "weights/vit-scenes" },
    proposer: { type: "string", default: "weights/mobilenetv3-scenes" },
    "proposer-clip": { type: "string", default: "8x224x224" },
    out: { type: "string", default: "docs/eval" },
  },
});
const numClips = Number(values.clips);
const zs = values.z.split(",").map(Number);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i);
const proposerClip = values["proposer-clip"].split("x").map(Number) as unknown as Clip3;
if (!(Number.isInteger(numClips) && numClips > 0) || !zs.every((z) => z > 0 && z < 1) || seeds.length < 1)
  throw new Error("eval:video: --clips and --seeds must be positive integers and --z values in (0, 1)");

const backbone = loadModelDir(values.backbone, "backbone");
const proposer = loadModelDir(values.proposer, "proposer");
if (backbone.family !== "vit" || proposer.family === "vit")
  throw new Error(`eval:video: expected a ViT in ${values.backbone} and a ConvNet in ${values.proposer}`);
const vit2d = backbone.vit;
const vit = inflateVitToVideo(vit2d, 16, 2);
const papr = new VideoPapr(vit, framewiseProposer(proposer.convnet), proposerClip);
const L = vit.config.numPatches;
const { mean, std, interpolation } = backbone.file.preprocess;
const transform = { size: vit.config.imageSize, mode: "resize" as const, mean, std, interpolation };
const items = loadFashionItems();

const argmax = (t: Tensor) => {
  let best = 0;
  for (let i = 1; i < t.size; i++) if (t.data[i] > t.data[best]) best = i;
  return best;
};
/** Frame f of x [1, C, T, S, S] as an image [1, C, S, S]. */
function frameOf(x: Tensor, f: number): Tensor {
  const [, C, T, H, W] = x.shape;
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) out.set(x.data.subarray((c * T + f) * H * W, (c * T + f + 1) * H * W), c * H * W);
  return new Tensor(out, [1, C, H, W]);
}

const tally = () => ({ correct: 0, recall: 0 });
let unpruned = 0;
let middleFrame = 0;
const paprRows = zs.map(tally);
const randomRows = zs.map(() => seeds.map(tally));
let proposerMacs = 0;
let objectTokens = 0;
const start = performance.now();

for (let i = 0; i < numClips; i++) {
  const scene = makeMovingScene(items, "test", i);
  const x = clipToTensor(scene.clip, transform);
  const object = objectTokenMask(scene.boxes, VIDEOMAE_GRID);
  objectTokens += object.reduce((a, b) => a + b, 0) / L;
  const full = papr.predict(x, { z: 1, trace: true }); // unpruned logits, the ranking and the proposer's MACs at once
  proposerMacs += full.macs.proposer;
  if (argmax(full.logits) === scene.label) unpruned++;
  if (argmax(vit2d.forward(frameOf(x, 8))) === scene.label) middleFrame++;
  const ranking = full.trace!.ranking;
  zs.forEach((z, j) => {
    const kept = keptPatches(ranking, keepCount(z, L, 0));
    if (argmax(vit.forward(x, kept)) === scene.label) paprRows[j].correct++;
    paprRows[j].recall += keptObjectTokens(keepMask(kept, L), object).fraction;
    seeds.forEach((seed, s) => {
      const random = randomTokens(L, z, seed * 100003 + i);
      if (argmax(vit.forward(x, random)) === scene.label) randomRows[j][s].correct++;
      randomRows[j][s].recall += keptObjectTokens(keepMask(random, L), object).fraction;
    });
    if (i === 0 && z === 0.4) {
      const mask = keepMask(kept, L);
      const slices = Array.from({ length: 8 }, (_, s) => mask.subarray(s * 196, (s + 1) * 196));
      const strip = drawMaskStrip(scene.clip, slices, { grid: [14, 14], boxes: scene.boxes });
      writeOutputFile(join(values.out, "video-strip.png"), encodePng(strip.data, strip.width, strip.height));
    }
  });
  console.log(`clip ${i + 1}/${numClips}: label ${scene.label}, ${((performance.now() - start) / 1000).toFixed(0)} s`);
}

const n = numClips;
const pct = (v: number) => (100 * v) / n;
const g = (macs: number) => macs / 1e9;
const backboneGmacs = (k: number) => g(videoVitCostKept(vit.config, k + classTokenCopies(k, 196)).total); // + class copies
const rows = zs.map((z, j) => {
  const k = keepCount(z, L, 0);
  const r = randomRows[j];
  return {
    z,
    tokens: k,
    paprTop1: pct(paprRows[j].correct),
    paprRecall: pct(paprRows[j].recall),
    paprGmacs: backboneGmacs(k) + g(proposerMacs / n),
    randomTop1: r.reduce((a, t) => a + pct(t.correct), 0) / r.length,
    randomTop1Range: [Math.min(...r.map((t) => pct(t.correct))), Math.max(...r.map((t) => pct(t.correct)))],
    randomRecall: r.reduce((a, t) => a + pct(t.recall), 0) / r.length,
    randomGmacs: backboneGmacs(k),
  };
});
const minutes = (performance.now() - start) / 60000;
const f1 = (v: number) => v.toFixed(1);
const lines = [
  `# Video PaPr on moving-object clips (inflated 2-D models, no training)`,
  ``,
  `\`npm run eval:video -- --clips ${n}\`: ${values.backbone} inflated to 16 frames (tubelets 2 x 16 x 16, 1568 tokens),`,
  `${values.proposer} per frame on a ${proposerClip.join(" x ")} proposer clip, test-split moving scenes 0..${n - 1}`,
  `(${n} clips, ${minutes.toFixed(1)} min on one thread). Random: the same number of tokens drawn uniformly`,
  `(${seeds.length} seeds; mean, min..max). Object-token recall: share of the moving item's tokens kept`,
  `(${f1(pct(objectTokens))}% of the 1568 tokens are object tokens on average). GMACs per clip, fvcore conventions;`,
  `PaPr's include the per-frame proposer (${g(proposerMacs / n).toFixed(3)} G).`,
  ``,
  `| z | tokens | PaPr top-1 % | PaPr object recall % | PaPr GMACs | random top-1 % (min..max) | random object recall % | random GMACs |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|`,
  `| 1 | ${L} | ${f1(pct(unpruned))} | 100 | ${backboneGmacs(L).toFixed(3)} | ${f1(pct(unpruned))} | 100 | ${backboneGmacs(L).toFixed(3)} |`,
  ...rows.map(
    (r) =>
      `| ${r.z} | ${r.tokens} | ${f1(r.paprTop1)} | ${f1(r.paprRecall)} | ${r.paprGmacs.toFixed(3)} | ` +
      `${f1(r.randomTop1)} (${f1(r.randomTop1Range[0])}..${f1(r.randomTop1Range[1])}) | ${f1(r.randomRecall)} | ${r.randomGmacs.toFixed(3)} |`,
  ),
  ``,
  `The 2-D model on each clip's middle frame (frame 8): ${f1(pct(middleFrame))}% top-1.`,
  ``,
];
writeOutputFile(join(values.out, "video.md"), lines.join("\n"));
writeOutputFile(
  join(values.out, "video.json"),
  JSON.stringify(
    {
      clips: n,
      proposerClip,
      unprunedTop1: pct(unpruned),
      middleFrameTop1: pct(middleFrame),
      objectTokenShare: pct(objectTokens),
      proposerGmacs: g(proposerMacs / n),
      rows,
    },
    null,
    1,
  ) + "\n",
);
console.log(lines.join("\n"));
