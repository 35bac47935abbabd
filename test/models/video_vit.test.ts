// The VideoMAE classifier (src/models/video_vit.ts) and its name maps (src/models/load/names_videomae.ts) against
// PyTorch goldens (tools/golden/gen_video_vit.py; reference modules in tools/golden/video_vit_ref.py, written from
// the paper in the original release's layout, cross-checked there with a Hugging Face-structured module).
// The golden keeps VideoMAE's real token count (16 x 224 x 224 -> 1568 tokens) at a small width (D = 48, 2 blocks).
//
// Tolerances (relative to each output's largest magnitude, test/golden.ts): 1e-5 for the embedding, the position
// table and one block (a few float32 kernels; the tubelet GEMM sums 1536 products in float64 where PyTorch's
// Conv3d sums in float32), 1e-4 for logits (the project's whole-model tolerance, docs/ARCHITECTURE.md).
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  createVideoVit,
  numVideoTokens,
  sinusoidPositionTable,
  tokenGrid,
  tubelets,
  videoVitConfig,
  videoVitSpec,
  VIDEO_VIT_PRESETS,
  type VideoVitConfig,
} from "../../src/models/video_vit.ts";
import { canonicalVideoMaeWeights, detectVideoMaeNaming } from "../../src/models/load/names_videomae.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { gatherRows, transpose } from "../../src/tensor/shape.ts";
import { ShapeError, Tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture, relativeError } from "../golden.ts";
import { toHfNames } from "./videomae_names.ts";
import { goldenInput, goldenSpec, specLines } from "./model_golden.ts";

type Fixture = ReturnType<typeof fixture>;
const STEP_TOL = 1e-5;
const MODEL_TOL = 1e-4;

/** The generator's VideoVitConfig (its dataclass, snake_case -> camelCase). */
function fixtureConfig(golden: Fixture): VideoVitConfig {
  const raw = JSON.parse(golden.metadata?.config ?? "null") as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]),
  ) as unknown as VideoVitConfig;
}

function clipOf(golden: Fixture, config: VideoVitConfig): Tensor {
  const { inChannels: C, numFrames: T, imageSize: S } = config;
  return goldenInput(golden, "video_vit.input", [1, C, T, S, S]);
}

/** The original-named synthetic weights of the fixture (filled by name in Python, rebuilt from its spec). */
function originalWeights(golden: Fixture): Map<string, Tensor> {
  return syntheticWeights(new Map(goldenSpec(golden)));
}

function meanRows(x: Tensor): Tensor {
  const [n, D] = x.shape;
  const out = new Float64Array(D);
  for (let r = 0; r < n; r++) for (let j = 0; j < D; j++) out[j] += x.data[r * D + j] / n;
  return new Tensor(Float32Array.from(out), [D]);
}

function absSum(x: Tensor): Tensor {
  let s = 0;
  for (const v of x.data) s += Math.abs(v);
  return new Tensor(Float32Array.of(s), [1]);
}

const small = fixture("video_vit_small");
const SMALL = fixtureConfig(small);
const EMBED_ROWS = JSON.parse(small.metadata?.embed_rows ?? "null") as number[];

test("small VideoMAE at the real 1568 tokens: positions, embedding, block 0, logits, pruned logits match PyTorch", () => {
  assert.equal(tokenGrid(SMALL), [8, 14, 14]);
  const weights = canonicalVideoMaeWeights(originalWeights(small), "original");
  assert.equal(specLines([...weights].map(([n, t]) => [n, t.shape])), specLines(videoVitSpec(SMALL)));
  const vit = createVideoVit(SMALL, weights);
  const x = clipOf(small, SMALL);
  const errors: Record<string, number> = {};
  const check = (what: string, actual: Tensor, key: string, tol: number) => {
    errors[what] = relativeError(actual, small.get(key));
    assertClose(actual, small.get(key), tol, what);
  };
  check("positions", gatherRows(sinusoidPositionTable(1568, SMALL.embedDim), EMBED_ROWS), "positions_rows", STEP_TOL);
  const tokens = vit.embed(x);
  assert.equal(tokens.shape, [1568, SMALL.embedDim]);
  check("embed rows", gatherRows(tokens, EMBED_ROWS), "embed_rows", STEP_TOL);
  check("embed mean", meanRows(tokens), "embed_mean", STEP_TOL);
  check("embed |sum|", absSum(tokens), "embed_abs_sum", STEP_TOL);
  const after0 = vit.block(0, tokens);
  check("block0 rows", gatherRows(after0, EMBED_ROWS), "block0_rows", STEP_TOL);
  check("block0 mean", meanRows(after0), "block0_mean", STEP_TOL);
  check("logits", vit.head(vit.block(1, after0)), "logits", MODEL_TOL);
  const keep = Int32Array.from(small.get("keep").data);
  assert.is(keep.length, Math.floor(1568 * 0.4));
  check("pruned logits", vit.forward(x, keep), "logits_pruned", MODEL_TOL);
  console.log(
    `  video_vit_small: ${Object.entries(errors)
      .map(([k, v]) => `${k} ${v.toExponential(1)}`)
      .join(", ")}`,
  );
});

test("the goldens catch a wrong token order, missing positions, swapped q/k and pooling over all tokens", () => {
  const weights = canonicalVideoMaeWeights(originalWeights(small), "original");
  const vit = createVideoVit(SMALL, weights);
  const x = clipOf(small, SMALL);
  const tokens = vit.embed(x);
  const expected = small.get("embed_rows");
  // h, w, then t (time last) instead of t-major: row r of that order is token (r % 8) * 196 + floor(r / 8)
  const timeLast = gatherRows(
    tokens,
    EMBED_ROWS.map((r) => (r % 8) * 196 + Math.floor(r / 8)),
  );
  const positions = sinusoidPositionTable(1568, SMALL.embedDim);
  const withoutPositions = new Tensor(
    tokens.data.map((v, i) => v - positions.data[i]),
    tokens.shape,
  );
  const D = SMALL.embedDim;
  const swapQK = (t: Tensor) =>
    gatherRows(t.reshape([3 * D, -1]), [
      ...Array.from({ length: D }, (_, i) => D + i),
      ...Array.from({ length: D }, (_, i) => i),
      ...Array.from({ length: D }, (_, i) => 2 * D + i),
    ]).reshape(t.shape);
  const swapped = new Map(weights).set("blocks.0.attn.qkv.weight", swapQK(weights.get("blocks.0.attn.qkv.weight")!));
  const errors = {
    "time-last order": relativeError(timeLast, expected),
    "no positions": relativeError(gatherRows(withoutPositions, EMBED_ROWS), expected),
    "k,q,v": relativeError(createVideoVit(SMALL, swapped).forward(x), small.get("logits")),
    "all tokens vs kept": relativeError(vit.forward(x), small.get("logits_pruned")),
    "patch kernel^T": relativeError(
      createVideoVit(
        SMALL,
        new Map(weights).set(
          "patch_embed.proj.weight",
          transpose(weights.get("patch_embed.proj.weight")!, [0, 1, 2, 4, 3]),
        ),
      ).embed(x),
      tokens,
    ),
  };
  console.log(
    `  ${Object.entries(errors)
      .map(([k, v]) => `${k} ${v.toExponential(1)}`)
      .join(", ")}`,
  );
  for (const [what, err] of Object.entries(errors)) assert.ok(err > 10 * MODEL_TOL, `${what}: error ${err}`);
});

// ---- names ------------------------------------------------------------------------------------------

test("HF-named and original-named checkpoints of the same weights give the same canonical weights", () => {
  const original = originalWeights(small);
  const hf = toHfNames(original, SMALL.embedDim);
  assert.ok(hf.has("videomae.encoder.layer.1.attention.attention.q_bias") && hf.has("classifier.weight"));
  assert.is(detectVideoMaeNaming([...original.keys()]), "original");
  assert.is(detectVideoMaeNaming([...hf.keys()]), "hf");
  const a = canonicalVideoMaeWeights(original, "original");
  const b = canonicalVideoMaeWeights(hf, "hf");
  assert.equal([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) {
    assert.equal(b.get(name)!.shape, t.shape, name);
    assert.ok(
      b.get(name)!.data.every((v, i) => v === t.data[i]),
      `${name}: same values`,
    );
  }
  const bias = a.get("blocks.0.attn.qkv.bias")!; // [q_bias, 0, v_bias]
  const D = SMALL.embedDim;
  assert.equal([...bias.data.subarray(0, D)], [...original.get("blocks.0.attn.q_bias")!.data]);
  assert.ok(bias.data.subarray(D, 2 * D).every((v) => v === 0));
  assert.equal([...bias.data.subarray(2 * D)], [...original.get("blocks.0.attn.v_bias")!.data]);
});

test("Hugging Face VideoMAEForVideoClassification names -> same logits as the HF-structured PyTorch module", () => {
  const golden = fixture("video_vit_hf");
  const config = fixtureConfig(golden);
  const spec = new Map(Object.entries(JSON.parse(golden.metadata?.hf_spec ?? "null") as Record<string, number[]>));
  const hf = syntheticWeights(spec);
  assert.ok(hf.has("videomae.encoder.layer.0.attention.attention.key.weight"));
  assert.ok(!hf.has("videomae.encoder.layer.0.attention.attention.key.bias"));
  const vit = createVideoVit(config, canonicalVideoMaeWeights(hf, detectVideoMaeNaming([...hf.keys()])));
  const logits = vit.forward(clipOf(golden, config));
  console.log(`  video_vit_hf logits ${relativeError(logits, golden.get("logits")).toExponential(1)}`);
  assertClose(logits, golden.get("logits"), MODEL_TOL, "hf logits");
});

test("name maps: wrappers stripped, one error lists unknown names, a lone q_bias, a learned position table", () => {
  const original = originalWeights(small);
  const wrapped = new Map([...original].map(([k, v]) => [`module.${k}`, v]));
  assert.equal(canonicalVideoMaeWeights(wrapped, "original").size, videoVitSpec(SMALL).size);
  // the fixed table itself is accepted (and dropped); anything else is refused
  const L = numVideoTokens(SMALL);
  const withTable = new Map(original).set("pos_embed", sinusoidPositionTable(L, SMALL.embedDim).reshape([1, L, -1]));
  assert.equal(canonicalVideoMaeWeights(withTable, "original").size, videoVitSpec(SMALL).size);
  const broken = new Map(original);
  broken.delete("blocks.1.attn.v_bias");
  broken.set("norm.weight", zeros([48]));
  broken.set("blocks.0.gamma_1", zeros([48]));
  broken.set("pos_embed", zeros([1, L, 48]));
  assert.throws(
    () => canonicalVideoMaeWeights(broken, "original"),
    (e: Error) =>
      /originalToCanonicalVideoMae/.test(e.message) &&
      /unknown names \(2\).*norm\.weight \[48\].*blocks\.0\.gamma_1 \[48\]/.test(e.message) &&
      /blocks\.1\.attn\.qkv: v_bias missing beside blocks\.1\.attn\.q_bias/.test(e.message) &&
      /pos_embed \[1, 1568, 48\] is not the fixed sinusoidal table.*learned position embeddings/.test(e.message),
  );
  const hf = toHfNames(original, 48);
  hf.delete("videomae.encoder.layer.0.attention.attention.key.weight");
  assert.throws(
    () => canonicalVideoMaeWeights(hf, "hf"),
    /hfToCanonicalVideoMae[\s\S]*blocks\.0\.attn\.qkv: k missing/,
  );
});

// ---- spec, presets, errors ----------------------------------------------------------------------------

const paramCount = (c: VideoVitConfig) =>
  [...videoVitSpec(c).values()].reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);

test("presets: parameter counts equal the PyTorch reference's (VideoMAE ViT-S 22.0 M, ViT-B 86.5 M)", () => {
  // sum of numel over video_vit_ref.VideoVisionTransformer(...).state_dict() at the preset sizes (q_bias and
  // v_bias there, one [3D] bias here with D zeros: + D per block)
  assert.is(paramCount(videoVitConfig("videomae_small")), 22_033_936 + 12 * 384);
  assert.is(paramCount(videoVitConfig("videomae_base")), 86_534_800 + 12 * 768);
  assert.equal(videoVitSpec(VIDEO_VIT_PRESETS.videomae_base).get("patch_embed.proj.weight"), [768, 3, 2, 16, 16]);
  assert.is(numVideoTokens(VIDEO_VIT_PRESETS.videomae_small), 1568);
  assert.throws(() => videoVitConfig("videomae_huge"), /unknown preset 'videomae_huge'/);
});

test("tubelets: the blocks of a Conv3d with kernel = stride, in t, h, w order", () => {
  // x[0, c, t, y, x] = 1000 c + 100 t + 10 y + x on a [1, 2, 4, 4, 4] clip, tubelet 2, patch 2
  const x = new Tensor(new Float32Array(128), [1, 2, 4, 4, 4]);
  for (let i = 0; i < 128; i++) {
    const [c, t, y, xx] = [Math.floor(i / 64), Math.floor(i / 16) % 4, Math.floor(i / 4) % 4, i % 4];
    x.data[i] = 1000 * c + 100 * t + 10 * y + xx;
  }
  const rows = tubelets(x, 2, 2);
  assert.equal(rows.shape, [8, 16]);
  // token 5 = (t 1, h 0, w 1): frames 2-3, rows 0-1, columns 2-3; columns ordered c, dt, dy, dx
  assert.equal(
    [...rows.data.subarray(5 * 16, 6 * 16)],
    [202, 203, 212, 213, 302, 303, 312, 313, 1202, 1203, 1212, 1213, 1302, 1303, 1312, 1313],
  );
  assert.throws(() => tubelets(zeros([1, 2, 3, 4, 4]), 2, 2), /T a multiple of 2/);
});

test("bad configs, weights, clips and keep sets get clear errors", () => {
  assert.throws(() => videoVitSpec({ ...SMALL, numFrames: 15 }), /numFrames 15 is not a multiple of tubeletSize 2/);
  assert.throws(() => videoVitSpec({ ...SMALL, numHeads: 5 }), /embedDim 48 is not divisible by numHeads 5/);
  const weights = canonicalVideoMaeWeights(originalWeights(small), "original");
  const wrong = new Map(weights).set("patch_embed.proj.weight", zeros([48, 3, 16, 16]));
  assert.throws(
    () => createVideoVit(SMALL, wrong),
    (e: Error) =>
      e instanceof ShapeError &&
      /createVideoVit/.test(e.message) &&
      /patch_embed\.proj\.weight: expected \[48, 3, 2, 16, 16\], got \[48, 3, 16, 16\]/.test(e.message),
  );
  const vit = createVideoVit(SMALL, weights);
  assert.throws(
    () => vit.embed(zeros([1, 3, 8, 224, 224])),
    /videoVit\.embed.*\[1, 3, 16, 224, 224\].*got \[1, 3, 8, 224, 224\]/,
  );
  const tokens = zeros([1568, 48]);
  assert.throws(() => vit.keepTokens(tokens, Int32Array.of(0, 1568)), /keep\[1\] = 1568 is not in \[0, 1568\)/);
  assert.throws(() => vit.keepTokens(tokens, Int32Array.of(3, 7, 3)), /token 3 is kept twice \(keep\[2\]\)/);
  assert.throws(() => vit.keepTokens(tokens, new Int32Array(0)), /keep is empty/);
  assert.equal(vit.keepTokens(tokens, Int32Array.of(5, 2)).shape, [2, 48]);
});

test.run();
