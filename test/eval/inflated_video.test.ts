// The inflated 2-D models of the video PaPr evaluation (src/eval/inflated_video.ts): a tiny synthetic ViT and stub
// ConvNets, so the file runs in well under a second.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { classTokenCopies, framewiseProposer, inflateVitToVideo } from "../../src/eval/inflated_video.ts";
import { createVit, vitConfig, vitSpec } from "../../src/models/vit.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { VideoPapr } from "../../src/papr/video_papr.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { relativeError } from "../golden.ts";

const config = { ...vitConfig("deit_tiny_patch16_224"), imageSize: 32, depth: 1, embedDim: 24, numClasses: 4 };
const vit2d = createVit(config, syntheticWeights(vitSpec(config), 5));
const video = inflateVitToVideo(vit2d, 4, 2); // 2 x 2 x 2 = 8 tokens
const frame = syntheticTensor("inflate.frame", [1, 3, 32, 32], 1);

/** A clip [1, 3, T, 32, 32] whose frame t is frames[t]. */
function clipOf(frames: Tensor[]): Tensor {
  const T = frames.length;
  const plane = 32 * 32;
  const out = new Float32Array(3 * T * plane);
  frames.forEach((f, t) => {
    for (let c = 0; c < 3; c++) out.set(f.data.subarray(c * plane, (c + 1) * plane), (c * T + t) * plane);
  });
  return new Tensor(out, [1, 3, T, 32, 32]);
}

test("a static clip gives the 2-D model's logits on its frame (I3D's boring-video property)", () => {
  assert.equal(video.config.tokenGrid, [2, 2, 2]);
  assert.is(video.config.numPatches, 8);
  const staticClip = clipOf([frame, frame, frame, frame]);
  const err = relativeError(video.forward(staticClip), vit2d.forward(frame));
  assert.ok(err < 1e-5, `static clip vs 2-D: ${err}`);
  // a clip whose frames differ does not
  const other = syntheticTensor("inflate.other", [1, 3, 32, 32], 1);
  assert.ok(relativeError(video.forward(clipOf([frame, frame, other, other])), vit2d.forward(frame)) > 1e-3);
  // tubelet = mean of its 2 frames: [a, b] in one tubelet equals [(a+b)/2, (a+b)/2]
  const meanFrame = new Tensor(
    frame.data.map((v, i) => (v + other.data[i]) / 2),
    frame.shape,
  );
  const a = video.forward(clipOf([frame, other, frame, other]));
  const b = video.forward(clipOf([meanFrame, meanFrame, meanFrame, meanFrame]));
  assert.ok(relativeError(a, b) < 1e-5);
  assert.ok(relativeError(b, vit2d.forward(meanFrame)) < 1e-5);
});

test("keepTokens puts round(k / P) class-token copies first; the embedding is slices copies + L rows", () => {
  const x = clipOf([frame, frame, frame, frame]);
  const tokens = video.embed(x);
  assert.equal(tokens.shape, [2 + 8, 24]); // 2 class copies (slices), 8 tokens
  assert.equal([...tokens.data.subarray(0, 24)], [...tokens.data.subarray(24, 48)]);
  const row = (t: Tensor, i: number) => [...t.data.subarray(i * 24, (i + 1) * 24)];
  const kept = video.keepTokens(tokens, Int32Array.of(5, 2, 7, 0, 1, 3, 4)); // 7 of 8: round(7 / 4) = 2 copies
  assert.is(kept.shape[0], 2 + 7);
  assert.equal(row(kept, 1), row(tokens, 0));
  assert.equal(row(kept, 2), row(tokens, 2 + 5));
  assert.is(video.keepTokens(tokens, Int32Array.of(5)).shape[0], 1 + 1);
  assert.equal([classTokenCopies(1568, 196), classTokenCopies(627, 196), classTokenCopies(50, 196)], [8, 3, 1]);
  assert.throws(() => video.keepTokens(tokens, Int32Array.of(8)), /not in \[0, 8\)/);
  // every slice carries the same 2-D positions: tokens 0 and 4 (same patch, slices 0 and 1) are equal here
  assert.equal(row(tokens, 2 + 0), row(tokens, 2 + 4));
});

test("framewiseProposer stacks the 2-D features of every frame over time; it drives VideoPapr", () => {
  // a stub ConvNet: features = the frame's channel 0 pooled to 2 x 2 and its negation (K = 2)
  const convnet = {
    features: (x: Tensor) => {
      const out = new Float32Array(8);
      for (let y = 0; y < 32; y++)
        for (let xx = 0; xx < 32; xx++) out[Math.floor(y / 16) * 2 + Math.floor(xx / 16)] += x.data[y * 32 + xx] / 256;
      for (let i = 0; i < 4; i++) out[4 + i] = -out[i] * 0.5;
      return new Tensor(out, [1, 2, 2, 2]);
    },
  };
  const other = syntheticTensor("inflate.other", [1, 3, 32, 32], 1);
  const clip = clipOf([frame, other]);
  const f = framewiseProposer(convnet).features(clip);
  assert.equal(f.shape, [1, 2, 2, 2, 2]);
  const f0 = convnet.features(frame).data;
  const f1 = convnet.features(other).data;
  for (let k = 0; k < 2; k++)
    for (let p = 0; p < 4; p++) {
      assert.is(f.data[(k * 2 + 0) * 4 + p], f0[k * 4 + p]);
      assert.is(f.data[(k * 2 + 1) * 4 + p], f1[k * 4 + p]);
    }
  const r = new VideoPapr(video, framewiseProposer(convnet), [2, 32, 32]).predict(
    clipOf([frame, frame, other, other]),
    {
      z: 0.5,
    },
  );
  assert.is(r.keptCount, 4);
  assert.equal(r.logits.shape, [4]);
});

test.run();
