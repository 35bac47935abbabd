// Calibration statistics of the float network (docs/quantization.md §3): one pass over the
// calibration images records, per unit, the largest activation, a sample of activations (for the
// squared-error scale search), the per-channel mean pre-activation (a target of the BN-based
// reconstruction), and the float logits (the target of the whole-network scale adjustment).
import { relu6 } from "../tensor/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { chainHead, unitPreActivation, type ConvChain } from "./conv_chain.ts";
import { absMax } from "./quantizer.ts";

export interface CalibrationStats {
  images: number;
  inputMax: number; // largest |pixel| of the preprocessed images
  outputMax: number[]; // per unit: largest activation after ReLU6
  outputSamples: Float32Array[]; // per unit: about `sampleCount` activations, evenly strided
  preActivationMean: Float64Array[]; // per unit, per channel: mean pre-activation of the float network
  preActivationStd: Float64Array[]; // per unit, per channel: its standard deviation (over images and positions)
  logits: Float32Array[]; // per image: the float logits
}

/** Per channel of y [1, C, h, w]: the sum and the sum of squares over positions, added into `sum`, `squares`. */
function addChannelSums(y: Tensor, sum: Float64Array, squares: Float64Array): void {
  const [, C, h, w] = y.shape;
  const area = h * w;
  for (let c = 0; c < C; c++) {
    for (let i = c * area; i < (c + 1) * area; i++) {
      sum[c] += y.data[i];
      squares[c] += y.data[i] * y.data[i];
    }
  }
}

export function calibrate(chain: ConvChain, images: Tensor[], sampleCount = 1 << 16): CalibrationStats {
  if (images.length === 0) throw new Error("calibrate: no calibration images");
  const L = chain.units.length;
  const outputMax = new Array<number>(L).fill(0);
  const samples: number[][] = chain.units.map(() => []);
  const sums = chain.units.map((u) => new Float64Array(u.weight.shape[0]));
  const squares = chain.units.map((u) => new Float64Array(u.weight.shape[0]));
  const positions = new Array<number>(L).fill(0);
  const logits: Float32Array[] = [];
  let inputMax = 0;
  images.forEach((x, index) => {
    inputMax = Math.max(inputMax, absMax(x.data));
    let y = x;
    chain.units.forEach((unit, l) => {
      const pre = unitPreActivation(unit, y);
      addChannelSums(pre, sums[l], squares[l]);
      positions[l] += pre.shape[2] * pre.shape[3];
      y = relu6(pre);
      outputMax[l] = Math.max(outputMax[l], absMax(y.data));
      const stride = Math.max(1, Math.ceil((y.size * images.length) / sampleCount));
      for (let i = index % stride; i < y.size; i += stride) samples[l].push(y.data[i]);
    });
    logits.push(chainHead(chain, y).data);
  });
  const means = sums.map((s, l) => s.map((v) => v / positions[l]));
  const stds = squares.map((q, l) => q.map((v, c) => Math.sqrt(Math.max(0, v / positions[l] - means[l][c] ** 2))));
  return {
    images: images.length,
    inputMax,
    outputMax,
    outputSamples: samples.map((s) => Float32Array.from(s)),
    preActivationMean: means,
    preActivationStd: stds,
    logits,
  };
}
