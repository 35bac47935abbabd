// Video PaPr (src/papr/video_papr.ts) against the plain-PyTorch reference of tools/golden/gen_video_papr.py (written
// from PAPR-SPEC.md section 6): a small VideoMAE classifier at the real 1568 tokens and the real-size X3D-S, both with
// the shared synthetic weights; the proposer sees a 6 x 96 x 96 clip (the spec's 8 x 160 x 160 is the default).
//
// Tolerances (relative to each output's largest magnitude, test/golden.ts): 1e-5 for the resized clip and the
// maps (a few float32 kernels; X3D's own golden holds 1e-5), 1e-4 for logits (the project's whole-model tolerance,
// docs/ARCHITECTURE.md). Ranking and kept indices: equal, except that two tokens whose reference scores differ by
// less than RANK_TOL (relative) may trade places (float32 rounding; the golden has one such pair, 3e-7 apart).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createVideoVit, videoVitSpec, type VideoVitConfig } from "../../src/models/video_vit.ts";
import { canonicalVideoMaeWeights } from "../../src/models/load/names_videomae.ts";
import { createX3d } from "../../src/models/x3d.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import {
  VIDEO_PROPOSER_CLIPS,
  VideoPapr,
  randomTokens,
  tokenSignificance,
  type Clip3,
  type VideoProposer,
} from "../../src/papr/video_papr.ts";
import { videoVitCostKept } from "../../src/papr/video_macs.ts";
import { keepCount, keptPatches, rankPatches } from "../../src/papr/ranking.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { goldenInput } from "../models/model_golden.ts";

const STEP_TOL = 1e-5;
const MODEL_TOL = 1e-4;
const RANK_TOL = 1e-6;
const golden = fixture("video_papr");
const meta = golden.metadata!;
const CONFIG = Object.fromEntries(
  Object.entries(JSON.parse(meta.config) as Record<string, unknown>).map(([k, v]) => [
    k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()),
    v,
  ]),
) as unknown as VideoVitConfig;
const PROPOSER_CLIP = JSON.parse(meta.proposer_clip) as Clip3;
const specOf = (key: string) => new Map(Object.entries(JSON.parse(meta[key]) as Record<string, number[]>));

const vit = createVideoVit(CONFIG, canonicalVideoMaeWeights(syntheticWeights(specOf("vit_spec")), "original"));
const x3d = createX3d({ variant: "s" }, syntheticWeights(specOf("x3d_spec")));
const x = goldenInput(golden, "video_papr.input", [1, 3, 16, 224, 224]);
// one proposer run serves every golden check (X3D-S is the slow part)
const traced = new VideoPapr(vit, x3d, PROPOSER_CLIP).predict(x, { z: 0.4, trace: true });

/** Mean over channels [1, K, t, h, w] -> [t, h, w]. */
function channelMean(f: Tensor): Tensor {
  const [, K, t, h, w] = f.shape;
  const n = t * h * w;
  const out = new Float32Array(n);
  for (let c = 0; c < K; c++) for (let i = 0; i < n; i++) out[i] += f.data[c * n + i] / K;
  return new Tensor(out, [t, h, w]);
}

/**
 * `actual` lists the same tokens as `expected` in the same order, except that tokens whose reference scores P differ
 * by less than RANK_TOL (relative to max |P|) may trade places. Returns how many positions differ.
 */
function assertSameRanking(actual: Int32Array, expected: Float32Array, what: string): number {
  const P = golden.get("significance").data;
  const scale = P.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.is(actual.length, expected.length, `${what}: length`);
  assert.equal(new Set(actual).size, actual.length, `${what}: distinct`);
  let moved = 0;
  actual.forEach((token, i) => {
    if (token === expected[i]) return;
    moved++;
    const gap = Math.abs(P[token] - P[expected[i]]) / scale;
    assert.ok(gap < RANK_TOL, `${what}[${i}]: token ${token} instead of ${expected[i]}, scores ${gap} apart`);
  });
  return moved;
}

test("video PaPr: resized clip, maps, ranking, kept tokens and logits match the reference (z = 0.4, 0.7, 1)", () => {
  const errors: Record<string, number> = {};
  const check = (what: string, actual: Tensor, key: string, tol: number) => {
    const expected = golden.get(key);
    errors[what] = relativeError(actual.reshape(expected.shape), expected);
    assertClose(actual.reshape(expected.shape), expected, tol, what);
  };
  const t = traced.trace!;
  assert.equal(t.proposerInput.shape, [1, 3, ...PROPOSER_CLIP]);
  check("proposer input head", new Tensor(t.proposerInput.data.slice(0, 64), [64]), "proposer_input_head", STEP_TOL);
  assert.equal(t.features.shape, [1, 432, 6, 3, 3]);
  check("features channel mean", channelMean(t.features), "features_channel_mean", STEP_TOL);
  check("significance", traced.significance!, "significance", STEP_TOL);
  const moved = assertSameRanking(t.ranking, golden.get("ranking").data, "ranking");
  assert.is(traced.keptCount, 627);
  assertSameRanking(traced.kept, golden.get("kept_0.4").data, "kept at z = 0.4");
  assert.equal([...traced.kept], [...t.ranking.slice(0, 627)], "kept = the first k of the ranking, in ranking order");
  assert.is(
    traced.mask.reduce((a, b) => a + b, 0),
    627,
  );
  check("logits z=0.4", traced.logits, "logits_0.4", MODEL_TOL);
  // z = 0.7 and grid order from the same ranking (the backbone alone: predict would rerun the proposer)
  const kept07 = keptPatches(t.ranking, keepCount(0.7, 1568, 0));
  assertSameRanking(kept07, golden.get("kept_0.7").data, "kept at z = 0.7");
  check("logits z=0.7", vit.forward(x, kept07), "logits_0.7", MODEL_TOL);
  const spatial = keptPatches(t.ranking, 627, "spatial");
  check("logits spatial z=0.4", vit.forward(x, spatial), "logits_spatial_0.4", MODEL_TOL);
  console.log(
    `  video_papr: ${Object.entries(errors)
      .map(([k, v]) => `${k} ${v.toExponential(1)}`)
      .join(", ")}; ranking positions swapped by near-ties: ${moved}`,
  );
});

test("the golden catches a reversed map, a proposer without the step-1 resize, nearest instead of trilinear", () => {
  const f = traced.trace!.features;
  const reversed = tokenSignificance(
    new Tensor(
      f.data.map((v) => -v),
      f.shape,
    ),
    [8, 14, 14],
  );
  const reversedKept = keptPatches(rankPatches(reversed), 627);
  const overlap = [...reversedKept].filter((i) => golden.get("kept_0.4").data.includes(i)).length;
  assert.ok(overlap < 400, `reversed map keeps ${overlap} of the 627 reference tokens`);
  assert.ok(relativeError(vit.forward(x, reversedKept), golden.get("logits_0.4")) > 10 * MODEL_TOL);
  // the clip as is (no step-1 resize) is not the proposer input of the reference
  const raw = new Tensor(x.data.slice(0, 64), [64]);
  assert.ok(relativeError(raw, golden.get("proposer_input_head")) > 1e-2);
  // step 3 as nearest-neighbour instead of trilinear: another map
  const [, , t, h, w] = f.shape;
  const mean = channelMean(f);
  const nearest = new Float32Array(8 * 14 * 14).map((_, i) => {
    const [a, b, c] = [Math.floor(i / 196), Math.floor(i / 14) % 14, i % 14];
    return mean.data[(Math.floor((a * t) / 8) * h + Math.floor((b * h) / 14)) * w + Math.floor((c * w) / 14)];
  });
  assert.ok(relativeError(new Tensor(nearest, [8, 14, 14]), golden.get("significance")) > 1e-2);
});

test("MACs: the proposer's counted MACs plus the backbone formula for k tokens", () => {
  assert.ok(traced.macs.proposer > 0.2e9 && traced.macs.proposer < 0.5e9, `X3D-S at 6x96x96: ${traced.macs.proposer}`);
  assert.equal(traced.macs, videoVitCostKept(CONFIG, 627, traced.macs.proposer));
  assert.equal(traced.unprunedMacs, videoVitCostKept(CONFIG));
  assert.is(traced.timeMs.blocks.length, 2);
  assert.ok(traced.timeMs.proposer > 0 && traced.timeMs.total >= traced.timeMs.proposer);
  assert.equal(VIDEO_PROPOSER_CLIPS.x3d_s, [8, 160, 160]);
  assert.equal(VIDEO_PROPOSER_CLIPS.x3d_m, [8, 224, 224]);
});

// A tiny clip model (4 frames of 32 px: 2 x 2 x 2 = 8 tokens) and a stub proposer for the behaviour around z.
const TINY: VideoVitConfig = { ...CONFIG, numFrames: 4, imageSize: 32, embedDim: 16, numHeads: 2, numClasses: 5 };
const tinyVit = createVideoVit(TINY, syntheticWeights(videoVitSpec(TINY)));
const tinyX = syntheticTensor("video_papr.tiny", [1, 3, 4, 32, 32], 1);
/** features [1, 1, 2, 2, 2] = the token index: ranks the last token first. */
const indexProposer: VideoProposer = {
  features: () =>
    new Tensor(
      Float32Array.from({ length: 8 }, (_, i) => i),
      [1, 1, 2, 2, 2],
    ),
};

test("z: k = max(1, floor(L z)) tokens, most significant first; z = 1 runs no proposer and costs the backbone", () => {
  const papr = new VideoPapr(tinyVit, indexProposer, [2, 8, 8]);
  const r = papr.predict(tinyX, { z: 0.5 });
  assert.equal([...r.kept], [7, 6, 5, 4]);
  assert.equal([...r.mask], [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal([...r.logits.data], [...tinyVit.forward(tinyX, Int32Array.of(7, 6, 5, 4)).data]);
  assert.equal([...papr.predict(tinyX, { z: 0.01 }).kept], [7]);
  const throwing: VideoProposer = {
    features: () => {
      throw new Error("the proposer ran");
    },
  };
  const full = new VideoPapr(tinyVit, throwing).predict(tinyX, { z: 1 });
  assert.is(full.significance, null);
  assert.is(full.macs.total, full.unprunedMacs.total);
  assert.equal([...full.logits.data], [...tinyVit.forward(tinyX).data], "z = 1 is the unpruned backbone bit for bit");
  assert.throws(() => new VideoPapr(tinyVit, null).predict(tinyX, { z: 0.5 }), /proposer is needed/);
  const flat: VideoProposer = { features: () => new Tensor(new Float32Array(4), [1, 4]) };
  assert.throws(() => new VideoPapr(tinyVit, flat).predict(tinyX, { z: 0.5 }), /features must be \[1, K, t, h, w\]/);
  assert.throws(() => new VideoPapr(tinyVit, flat, [0, 8, 8] as unknown as Clip3), /three positive integers/);
});

test("randomTokens: k = floor(L z) distinct tokens, seeded, different seeds differ", () => {
  const a = randomTokens(1568, 0.4, 1);
  assert.is(a.length, 627);
  assert.is(new Set(a).size, 627);
  assert.ok(a.every((i) => i >= 0 && i < 1568));
  assert.equal([...a], [...randomTokens(1568, 0.4, 1)]);
  assert.not.equal([...a], [...randomTokens(1568, 0.4, 2)]);
  assert.is(randomTokens(10, 0.01, 0).length, 1);
  assert.throws(() => randomTokens(10, 0, 0), /keep ratio/);
});

test.run();
