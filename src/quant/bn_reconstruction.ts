// RAPQ's reconstruction from each unit's BatchNorm (docs/quantization.md §5), in the form this project
// implements. A unit's BatchNorm recorded, over the training data, the distribution its output should
// have per channel: mean beta and standard deviation |gamma|. Unit by unit from the input, with the
// already-quantized units before it, the quantized pre-activation's per-channel mean mu_q and standard
// deviation sigma_q (over the calibration images and positions) are pulled towards targets that weigh
// the BN statistics against the float network's on the calibration images (mu_f, sigma_f):
//   mu* = argmin (m - mu_f)^2 + lambda (m - beta)^2 = (mu_f + lambda beta) / (1 + lambda)
//   sigma* = (sigma_f + lambda |gamma|) / (1 + lambda)
// by a per-channel gain g = sigma* / sigma_q on the float weights (clamped to [1/2, 2]) and a bias that
// puts the mean at mu*; the weights are then requantized on the unit's unchanged grid, and a last
// bias step removes the mean shift that requantizing them left. Units after it see the corrected unit.
import type { Tensor } from "../tensor/tensor.ts";
import type { CalibrationStats } from "./calibration.ts";
import type { ConvChain } from "./conv_chain.ts";
import { copyPlan, planNet, planUnit, type ScalePlan } from "./scale_plan.ts";
import { quantizeInput, simulatedConv, simulatedSum, simulatedUnit, type SimulatedConv } from "./simulated.ts";

export interface ReconstructionReport {
  meanShiftBefore: number; // mean over units and channels of |mu_q - mu*| before the correction
  meanShiftAfter: number; // the same after it
  stdRatioBefore: number; // mean over units and channels of |sigma_q / sigma* - 1| before
  stdRatioAfter: number; // the same after
}

/** Per-channel mean and standard deviation of y [1, C, h, w] over all the inputs and positions. */
export function channelMoments(s: SimulatedConv, inputs: Tensor[]): { mean: Float64Array; std: Float64Array } {
  const C = s.conv.shape[0];
  const sum = new Float64Array(C);
  const squares = new Float64Array(C);
  let count = 0;
  for (const x of inputs) {
    const y = simulatedSum(s, x);
    const area = y.shape[2] * y.shape[3];
    for (let c = 0; c < C; c++) {
      for (let i = c * area; i < (c + 1) * area; i++) {
        sum[c] += y.data[i];
        squares[c] += y.data[i] * y.data[i];
      }
    }
    count += area;
  }
  const mean = sum.map((v) => v / count);
  const std = squares.map((v, c) => Math.sqrt(Math.max(0, v / count - mean[c] * mean[c])));
  return { mean, std };
}

export function bnReconstruct(
  chain: ConvChain,
  start: ScalePlan,
  images: Tensor[],
  stats: CalibrationStats,
  lambda = 1,
): { plan: ScalePlan; report: ReconstructionReport } {
  const plan = copyPlan(start);
  let inputs = images.map((x) => quantizeInput(planNet(chain, plan), x));
  const totals = { meanBefore: 0, meanAfter: 0, stdBefore: 0, stdAfter: 0, count: 0 };
  chain.units.forEach((unit, l) => {
    const before = channelMoments(simulatedConv(planUnit(chain, plan, l)), inputs);
    const C = before.mean.length;
    const targetMean = new Float64Array(C);
    const targetStd = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      targetMean[c] = (stats.preActivationMean[l][c] + lambda * unit.bnMean[c]) / (1 + lambda);
      targetStd[c] = (stats.preActivationStd[l][c] + lambda * unit.bnStd[c]) / (1 + lambda);
      const g = before.std[c] > 0 ? Math.min(2, Math.max(0.5, targetStd[c] / before.std[c])) : 1;
      // y' = g (y - b) + b': the weights' part scaled by g, the mean moved to the target
      plan.biases[l][c] = targetMean[c] - g * (before.mean[c] - plan.biases[l][c]);
      plan.gains[l][c] *= g;
    }
    const regained = channelMoments(simulatedConv(planUnit(chain, plan, l)), inputs);
    for (let c = 0; c < C; c++) plan.biases[l][c] += targetMean[c] - regained.mean[c];
    const corrected = simulatedConv(planUnit(chain, plan, l));
    const after = channelMoments(corrected, inputs);
    for (let c = 0; c < C; c++) {
      totals.meanBefore += Math.abs(before.mean[c] - targetMean[c]);
      totals.meanAfter += Math.abs(after.mean[c] - targetMean[c]);
      totals.stdBefore += Math.abs(before.std[c] / targetStd[c] - 1);
      totals.stdAfter += Math.abs(after.std[c] / targetStd[c] - 1);
      totals.count++;
    }
    inputs = inputs.map((x) => simulatedUnit(corrected, x));
  });
  const n = totals.count;
  return {
    plan,
    report: {
      meanShiftBefore: totals.meanBefore / n,
      meanShiftAfter: totals.meanAfter / n,
      stdRatioBefore: totals.stdBefore / n,
      stdRatioAfter: totals.stdAfter / n,
    },
  };
}
