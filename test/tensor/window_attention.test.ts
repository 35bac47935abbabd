// windowAttention (src/tensor/window_attention.ts) against its definition written as plain loops over map
// coordinates (roll, windows, relative-position bias, region mask, softmax, proj, unroll): 1e-5, the kernel
// tolerance (float64 sums both sides; float32 stores differ in the last bits).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { windowAttention, windowOrder, type WindowAttentionParams } from "../../src/tensor/window_attention.ts";
import { assertClose } from "../golden.ts";

/** The definition: for every output position, attention over the tokens of its (shifted) window. */
function windowAttentionDefinition(x: Tensor, p: WindowAttentionParams): Tensor {
  const [H, W, C] = x.shape;
  const { windowSize: w, shiftSize: s, numHeads } = p;
  const hd = C / numHeads;
  const lin = (v: ArrayLike<number>, weight: Tensor, bias: Tensor | null, out: number) =>
    Array.from({ length: out }, (_, o) => {
      let sum = bias ? bias.data[o] : 0;
      for (let i = 0; i < v.length; i++) sum += weight.data[o * v.length + i] * v[i];
      return sum;
    });
  const at = (y: number, xx: number) => x.data.subarray((y * W + xx) * C, (y * W + xx + 1) * C);
  // rolled coordinates (ry, rx) read the map at ((ry + s) % H, (rx + s) % W)
  const qkvAt = (ry: number, rx: number) => lin(at((ry + s) % H, (rx + s) % W), p.qkvWeight, p.qkvBias, 3 * C);
  const band = (v: number, size: number) => (v < size - w ? 0 : v < size - s ? 1 : 2);
  const region = (ry: number, rx: number) => (s > 0 ? 3 * band(ry, H) + band(rx, W) : 0);
  const out = new Float32Array(H * W * C);
  for (let ry = 0; ry < H; ry++) {
    for (let rx = 0; rx < W; rx++) {
      const wy = Math.floor(ry / w) * w;
      const wx = Math.floor(rx / w) * w;
      const q = qkvAt(ry, rx);
      const merged = new Array<number>(C).fill(0);
      for (let h = 0; h < numHeads; h++) {
        const scores: number[] = [];
        const values: number[][] = [];
        for (let ty = 0; ty < w; ty++) {
          for (let tx = 0; tx < w; tx++) {
            const kv = qkvAt(wy + ty, wx + tx);
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[h * hd + d] * kv[C + h * hd + d];
            const i = (ry - wy) * w + (rx - wx);
            const j = ty * w + tx;
            let score = dot * hd ** -0.5 + p.relativePositionBias.data[(h * w * w + i) * w * w + j];
            if (region(ry, rx) !== region(wy + ty, wx + tx)) score += -100;
            scores.push(score);
            values.push(kv.slice(2 * C + h * hd, 2 * C + (h + 1) * hd));
          }
        }
        const max = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - max));
        const total = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) merged[h * hd + d] = e.reduce((acc, v, j) => acc + (v / total) * values[j][d], 0);
      }
      const y = lin(merged, p.projWeight, p.projBias, C);
      out.set(y, (((ry + s) % H) * W + ((rx + s) % W)) * C);
    }
  }
  return new Tensor(out, [H, W, C]);
}

function params(C: number, heads: number, w: number, shift: number): WindowAttentionParams {
  const t = (name: string, shape: number[], scale: number) => syntheticTensor(`wa.${name}`, shape, scale);
  return {
    qkvWeight: t("qkv", [3 * C, C], 0.5),
    qkvBias: t("qkv_bias", [3 * C], 0.1),
    projWeight: t("proj", [C, C], 0.5),
    projBias: t("proj_bias", [C], 0.1),
    numHeads: heads,
    windowSize: w,
    shiftSize: shift,
    relativePositionBias: t("bias", [heads, w * w, w * w], 1),
  };
}

test("windowAttention = its definition, plain and shifted windows", () => {
  const x = syntheticTensor("wa.x", [6, 9, 4], 1);
  for (const shift of [0, 1, 2]) {
    const p = params(4, 2, 3, shift);
    assertClose(windowAttention(x, p), windowAttentionDefinition(x, p), 1e-5, `shift ${shift}`);
  }
});

test("windowOrder is a permutation: windows row-major, tokens row-major, rolled by -shift", () => {
  const order = windowOrder(4, 4, 2, 1);
  assert.equal(
    [...order].sort((a, b) => a - b),
    [...Array(16).keys()],
  );
  assert.equal([...order.subarray(0, 4)], [5, 6, 9, 10]); // first window of the rolled map starts at (1, 1)
});

test("bad shapes are refused before any work", () => {
  const p = params(4, 2, 3, 1);
  assert.throws(() => windowAttention(syntheticTensor("wa.x", [5, 9, 4], 1), p), /not a whole number of 3x3 windows/);
  assert.throws(() => windowAttention(syntheticTensor("wa.x", [6, 9, 4], 1), { ...p, shiftSize: 3 }), /shiftSize/);
  assert.throws(
    () =>
      windowAttention(syntheticTensor("wa.x", [6, 9, 4], 1), {
        ...p,
        relativePositionBias: new Tensor(new Float32Array(4), [4]),
      }),
    /relativePositionBias/,
  );
});

test.run();
