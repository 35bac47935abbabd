// Post-training quantization of the MobileNetV3 graph (docs/quantization.md §10), the methods of ptq.ts
// carried over from the conv chain to the graph's units:
//   calibration     one float pass: per named tensor the largest |value| and a strided sample, per
//                   BatchNorm conv the per-channel mean / std of its pre-activation, the float logits
//   layerwise       every tensor's scale alone (uniform min-max, pow2 min-max, pow2 least squared error)
//   adjusted        RAPQ part 1: greedy +-1 exponent steps over the whole network, unit (stem, block,
//                   head) by unit, every weight tensor and every activation grid of the unit, kept when
//                   the logit error on the search images falls
//   rapq            then RAPQ part 2: the BN-based reconstruction for every conv that has a BatchNorm
//                   (stem, expand, depthwise, project, cn); the SE convs and the head have none and keep
//                   their weights
import type { Tensor } from "../tensor/tensor.ts";
import { INPUT_RANGE } from "./quantized_net.ts";
import { absMax, ceilExponent, minMaxScale, mseExponent, signedRange, type IntRange } from "./quantizer.ts";
import { logitLoss } from "./scale_adjust.ts";
import { activationRange } from "./v3_activations.ts";
import { floatFeatures, floatHead, graphConvs, type V3Activation, type V3Conv, type V3Graph } from "./v3_graph.ts";
import { convWeightBits, copyV3Plan, planV3Net, type QuantV3Net, type V3Plan } from "./v3_net.ts";
import { runSimBlock, SimulatedV3Net, type SumTap } from "./v3_simulated.ts";
import type { Method, PtqOptions } from "./ptq.ts";

export interface V3Calibration {
  images: number;
  max: Record<string, number>; // per named tensor: largest |value|
  samples: Record<string, Float32Array>; // per named tensor: about `sampleCount` values, evenly strided
  preMean: Record<string, Float64Array>; // per BN conv, per channel: mean pre-activation of the float net
  preStd: Record<string, Float64Array>; // its standard deviation over images and positions
  logits: Float32Array[]; // per image
}

/** The named tensors that get a calibrated grid, with the activation that fixes their kind of range. */
export function gridTensors(g: V3Graph): { name: string; kind: V3Activation | "add" }[] {
  const out: { name: string; kind: V3Activation | "add" }[] = [{ name: "input", kind: "none" }];
  const conv = (c: V3Conv | null | undefined) => {
    if (c && c.act !== "hardsigmoid" && c !== g.classifier) out.push({ name: c.name, kind: c.act });
  };
  conv(g.stem);
  for (const b of g.blocks) {
    conv(b.expand);
    conv(b.depthwise);
    if (b.se) {
      conv(b.se.reduce);
      out.push({ name: `${b.plan.name}.se`, kind: (b.depthwise ?? b.expand)!.act });
    }
    conv(b.project);
    if (b.plan.residual) out.push({ name: `${b.plan.name}.add`, kind: "add" });
  }
  conv(g.convHead);
  return out;
}

export function calibrateV3(g: V3Graph, images: Tensor[], sampleCount = 1 << 16): V3Calibration {
  if (images.length === 0) throw new Error("calibrate: no calibration images");
  const max: Record<string, number> = {};
  const samples: Record<string, number[]> = {};
  const sums: Record<string, Float64Array> = {};
  const squares: Record<string, Float64Array> = {};
  const counts: Record<string, number> = {};
  const logits: Float32Array[] = [];
  images.forEach((x, index) => {
    const tap = {
      tensor(name: string, y: Tensor) {
        max[name] = Math.max(max[name] ?? 0, absMax(y.data));
        const stride = Math.max(1, Math.ceil((y.size * images.length) / sampleCount));
        const list = (samples[name] ??= []);
        for (let i = index % stride; i < y.size; i += stride) list.push(y.data[i]);
      },
      preActivation(c: V3Conv, y: Tensor) {
        if (!c.bn) return;
        const C = y.shape[1];
        const area = y.size / C;
        const s = (sums[c.name] ??= new Float64Array(C));
        const q = (squares[c.name] ??= new Float64Array(C));
        for (let ch = 0; ch < C; ch++)
          for (let i = ch * area; i < (ch + 1) * area; i++) {
            s[ch] += y.data[i];
            q[ch] += y.data[i] * y.data[i];
          }
        counts[c.name] = (counts[c.name] ?? 0) + area;
      },
    };
    logits.push(floatHead(g, floatFeatures(g, x, tap), tap).data);
  });
  const preMean: Record<string, Float64Array> = {};
  const preStd: Record<string, Float64Array> = {};
  for (const name of Object.keys(sums)) {
    preMean[name] = sums[name].map((v) => v / counts[name]);
    preStd[name] = squares[name].map((v, c) => Math.sqrt(Math.max(0, v / counts[name] - preMean[name][c] ** 2)));
  }
  return {
    images: images.length,
    max,
    samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Float32Array.from(v)])),
    preMean,
    preStd,
    logits,
  };
}

type Rule = "uniform" | "pow2-minmax" | "pow2-mse";
const SCALE: Record<Rule, (values: ArrayLike<number>, range: IntRange) => number> = {
  uniform: (v, r) => minMaxScale(absMax(v), r),
  "pow2-minmax": (v, r) => 2 ** ceilExponent(absMax(v), r),
  "pow2-mse": (v, r) => 2 ** mseExponent(v, r),
};

/** Every tensor's scale chosen alone (the image's by min-max: it is 8-bit and bounded). */
export function layerwiseV3Plan(g: V3Graph, cal: V3Calibration, options: PtqOptions, rule: Rule): V3Plan {
  const actScales: Record<string, number> = {};
  for (const { name, kind } of gridTensors(g)) {
    const range = name === "input" ? INPUT_RANGE : activationRange(kind, options.activationBits);
    const values = rule === "pow2-mse" && name !== "input" ? cal.samples[name] : [cal.max[name]];
    actScales[name] = SCALE[rule === "pow2-mse" && name === "input" ? "pow2-minmax" : rule](values, range);
  }
  const weightScales: Record<string, Float64Array> = {};
  const biases: Record<string, Float32Array> = {};
  const gains: Record<string, Float32Array> = {};
  for (const c of graphConvs(g)) {
    const O = c.weight.shape[0];
    const per = c.weight.size / O;
    const range = signedRange(convWeightBits(g, c, options.weightBits));
    weightScales[c.name] = Float64Array.from({ length: O }, (_, o) =>
      SCALE[rule](c.weight.data.subarray(o * per, (o + 1) * per), range),
    );
    biases[c.name] = c.bias.data.slice();
    gains[c.name] = new Float32Array(O).fill(1);
  }
  return {
    scheme: rule === "uniform" ? "uniform" : "pow2",
    weightBits: options.weightBits,
    activationBits: options.activationBits,
    actScales,
    weightScales,
    biases,
    gains,
  };
}

// ---- units: the stem (0), the blocks (1..B), the head (B + 1) -----------------------------------------

/** Runs unit u of the simulated net on its input (unit 0: the float image). */
function runUnit(sim: SimulatedV3Net, u: number, x: Tensor, tap?: SumTap): Tensor {
  if (u === 0) return sim.stem.requantize(tapSum(sim.stem.sum(sim.input(x)), sim.stem.conv.name, tap));
  if (u <= sim.blocks.length) return runSimBlock(sim.blocks[u - 1], x, tap);
  return sim.head(x, tap);
}

function tapSum(sum: Tensor, name: string, tap?: SumTap): Tensor {
  tap?.(name, sum);
  return sum;
}

function runFrom(sim: SimulatedV3Net, u: number, x: Tensor): Tensor {
  let h = x;
  for (let v = u; v <= sim.blocks.length + 1; v++) h = runUnit(sim, v, h);
  return h;
}

/** The convs and grids of unit u. */
function unitParts(g: V3Graph, u: number): { convs: V3Conv[]; grids: string[] } {
  const names = new Set(gridTensors(g).map((t) => t.name));
  let convs: V3Conv[];
  if (u === 0) convs = [g.stem];
  else if (u <= g.blocks.length) {
    const b = g.blocks[u - 1];
    convs = [b.expand, b.depthwise, b.se?.reduce, b.se?.expand, b.project].filter((c): c is V3Conv => !!c);
  } else convs = [g.convHead, g.classifier];
  const grids = convs.map((c) => c.name).filter((n) => names.has(n));
  if (u === 0) grids.unshift("input");
  if (u > 0 && u <= g.blocks.length) {
    const name = g.blocks[u - 1].plan.name;
    for (const extra of [`${name}.se`, `${name}.add`]) if (names.has(extra)) grids.push(extra);
  }
  return { convs, grids };
}

export interface V3AdjustReport {
  lossBefore: number;
  lossAfter: number;
  trials: number;
  changes: string[];
}

/** RAPQ part 1 on the graph (docs/quantization.md §10): greedy +-1 exponent steps, unit by unit. */
export function adjustV3Scales(
  g: V3Graph,
  start: V3Plan,
  images: Tensor[],
  targets: Float32Array[],
): { plan: V3Plan; report: V3AdjustReport } {
  if (start.scheme !== "pow2") throw new Error("adjustScales: the plan's scales must be powers of two");
  let plan = copyV3Plan(start);
  let sim = new SimulatedV3Net(planV3Net(g, plan));
  let inputs = images;
  const lossOf = (s: SimulatedV3Net, u: number) =>
    logitLoss(
      inputs.map((x) => runFrom(s, u, x).data),
      targets,
    );
  let loss = lossOf(sim, 0);
  const report: V3AdjustReport = { lossBefore: loss, lossAfter: loss, trials: 0, changes: [] };
  const units = g.blocks.length + 2;
  for (let u = 0; u < units; u++) {
    const { convs, grids } = unitParts(g, u);
    const moves: { what: string; apply: (p: V3Plan) => void }[] = [];
    for (const step of [-1, 1]) {
      for (const c of convs)
        moves.push({
          what: `${c.name} weights ${step > 0 ? "+1" : "-1"}`,
          apply: (p) => p.weightScales[c.name].forEach((s, o, a) => (a[o] = s * 2 ** step)),
        });
      for (const name of grids)
        moves.push({ what: `${name} ${step > 0 ? "+1" : "-1"}`, apply: (p) => (p.actScales[name] *= 2 ** step) });
    }
    for (const move of moves) {
      const trial = copyV3Plan(plan);
      move.apply(trial);
      let trialSim: SimulatedV3Net;
      try {
        trialSim = new SimulatedV3Net(planV3Net(g, trial));
      } catch {
        continue; // the step breaks a bound (exactness, gate grid): not a candidate
      }
      report.trials++;
      const trialLoss = lossOf(trialSim, u);
      if (trialLoss < loss) {
        loss = trialLoss;
        plan = trial;
        sim = trialSim;
        report.changes.push(move.what);
      }
    }
    if (u < units - 1) inputs = inputs.map((x) => runUnit(sim, u, x)); // unit u is settled
  }
  report.lossAfter = loss;
  return { plan, report };
}

export interface V3ReconstructionReport {
  convs: number; // BatchNorm convs reconstructed
  meanShiftBefore: number; // mean over convs and channels of |mu_q - mu*|
  meanShiftAfter: number;
}

/** Per-channel mean and std of the sums of conv `name` while unit u runs on `inputs`. */
function sumMoments(sim: SimulatedV3Net, u: number, inputs: Tensor[], name: string) {
  let sum: Float64Array | null = null;
  let squares: Float64Array | null = null;
  let count = 0;
  const tap: SumTap = (n, y) => {
    if (n !== name) return;
    const C = y.shape[1];
    const area = y.size / C;
    sum ??= new Float64Array(C);
    squares ??= new Float64Array(C);
    for (let c = 0; c < C; c++)
      for (let i = c * area; i < (c + 1) * area; i++) {
        sum[c] += y.data[i];
        squares[c] += y.data[i] * y.data[i];
      }
    count += area;
  };
  for (const x of inputs) runUnit(sim, u, x, tap);
  const mean = sum!.map((v) => v / count);
  const std = squares!.map((v, c) => Math.sqrt(Math.max(0, v / count - mean[c] * mean[c])));
  return { mean, std };
}

/** RAPQ part 2 on the graph: the BN-based reconstruction (docs/quantization.md §5) of every BN conv. */
export function bnReconstructV3(
  g: V3Graph,
  start: V3Plan,
  images: Tensor[],
  cal: V3Calibration,
  lambda = 1,
): { plan: V3Plan; report: V3ReconstructionReport } {
  const plan = copyV3Plan(start);
  let inputs = images;
  const totals = { before: 0, after: 0, channels: 0, convs: 0 };
  const build = () => new SimulatedV3Net(planV3Net(g, plan));
  for (let u = 0; u < g.blocks.length + 1; u++) {
    for (const c of unitParts(g, u).convs) {
      if (!c.bn) continue;
      const before = sumMoments(build(), u, inputs, c.name);
      const C = before.mean.length;
      const targetMean = new Float64Array(C);
      for (let ch = 0; ch < C; ch++) {
        targetMean[ch] = (cal.preMean[c.name][ch] + lambda * c.bn.mean[ch]) / (1 + lambda);
        const targetStd = (cal.preStd[c.name][ch] + lambda * c.bn.std[ch]) / (1 + lambda);
        const gain = before.std[ch] > 0 ? Math.min(2, Math.max(0.5, targetStd / before.std[ch])) : 1;
        plan.biases[c.name][ch] = targetMean[ch] - gain * (before.mean[ch] - plan.biases[c.name][ch]);
        plan.gains[c.name][ch] *= gain;
      }
      const regained = sumMoments(build(), u, inputs, c.name);
      for (let ch = 0; ch < C; ch++) plan.biases[c.name][ch] += targetMean[ch] - regained.mean[ch];
      const after = sumMoments(build(), u, inputs, c.name);
      for (let ch = 0; ch < C; ch++) {
        totals.before += Math.abs(before.mean[ch] - targetMean[ch]);
        totals.after += Math.abs(after.mean[ch] - targetMean[ch]);
      }
      totals.channels += C;
      totals.convs++;
    }
    const sim = build();
    inputs = inputs.map((x) => runUnit(sim, u, x));
  }
  return {
    plan,
    report: {
      convs: totals.convs,
      meanShiftBefore: totals.before / totals.channels,
      meanShiftAfter: totals.after / totals.channels,
    },
  };
}

export interface V3PtqResult {
  net: QuantV3Net;
  plan: V3Plan;
  adjust?: V3AdjustReport;
  reconstruction?: V3ReconstructionReport;
}

/** Quantizes the graph with `images` as the calibration set (methods as ptq.ts). */
export function quantizeV3(
  g: V3Graph,
  images: Tensor[],
  options: PtqOptions,
  cal: V3Calibration = calibrateV3(g, images),
  searchImages = 32,
): V3PtqResult {
  const method: Method = options.method;
  const base: Rule = method === "uniform" || method === "pow2-minmax" ? method : "pow2-mse";
  let plan = layerwiseV3Plan(g, cal, options, base);
  const result: Omit<V3PtqResult, "net"> = { plan };
  if (method === "pow2-adjusted" || method === "rapq") {
    const adjusted = adjustV3Scales(g, plan, images.slice(0, searchImages), cal.logits.slice(0, searchImages));
    plan = adjusted.plan;
    result.adjust = adjusted.report;
  }
  if (method === "rapq") {
    const rebuilt = bnReconstructV3(g, plan, images, cal);
    plan = rebuilt.plan;
    result.reconstruction = rebuilt.report;
  }
  return { ...result, plan, net: planV3Net(g, plan) };
}
