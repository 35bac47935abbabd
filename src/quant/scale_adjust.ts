// RAPQ's power-of-two scale adjustment over the whole network (docs/quantization.md §4). A power-of-two
// scale can only move by factors of 2: one step up doubles both the range (less clipping) and the
// rounding step (more rounding error), one step down the reverse. Instead of fixing each layer's exponent alone, the exponents are
// adjusted jointly against one loss of the whole network: the squared error of its logits against
// the float logits on the calibration images. Greedy coordinate descent, unit by unit from the
// input: for unit l, try its weight exponents (all channels together) and its output exponent one
// step down and one step up, keep a change only if the network loss falls. Units before l are
// fixed, so their quantized outputs are cached and only units l.. are rerun for each trial.
import type { Tensor } from "../tensor/tensor.ts";
import type { ConvChain } from "./conv_chain.ts";
import { copyPlan, planHead, planNet, planUnit, type ScalePlan } from "./scale_plan.ts";
import { quantizeInput, simulatedConv, simulatedHead, simulatedUnit, type SimulatedConv } from "./simulated.ts";

/** Mean squared difference of two logit vectors, averaged over the images. */
export function logitLoss(quantized: Float32Array[], target: Float32Array[]): number {
  let total = 0;
  quantized.forEach((q, i) => {
    const t = target[i];
    let s = 0;
    for (let k = 0; k < q.length; k++) s += (q[k] - t[k]) ** 2;
    total += s / q.length;
  });
  return total / quantized.length;
}

export interface AdjustReport {
  lossBefore: number;
  lossAfter: number;
  trials: number;
  changes: string[]; // "conv_pw_3 weights -1", "conv_dw_2 output +1", ...
}

/** Runs units l.. and the head from cached inputs of unit l. */
function logitsFrom(l: number, inputs: Tensor[], units: SimulatedConv[], head: SimulatedConv): Float32Array[] {
  return inputs.map((x) => {
    let y = x;
    for (let j = l; j < units.length; j++) y = simulatedUnit(units[j], y);
    return simulatedHead(head, y).data;
  });
}

export function adjustScales(
  chain: ConvChain,
  start: ScalePlan,
  images: Tensor[],
  targets: Float32Array[],
): { plan: ScalePlan; report: AdjustReport } {
  if (start.scheme !== "pow2") throw new Error("adjustScales: the plan's scales must be powers of two");
  const plan = copyPlan(start);
  const net = planNet(chain, plan);
  const units = net.units.map(simulatedConv);
  let head = simulatedConv(net.head);
  let inputs = images.map((x) => quantizeInput(net, x));
  const L = units.length;
  let loss = logitLoss(logitsFrom(0, inputs, units, head), targets);
  const report: AdjustReport = { lossBefore: loss, lossAfter: loss, trials: 0, changes: [] };

  for (let l = 0; l < L; l++) {
    type Move = { what: string; step: number; apply: (p: ScalePlan) => void };
    const moves: Move[] = [];
    for (const step of [-1, 1]) {
      moves.push({
        what: "weights",
        step,
        apply: (p) => p.weightScales[l].forEach((s, o, a) => (a[o] = s * 2 ** step)),
      });
      moves.push({ what: "output", step, apply: (p) => (p.outputScales[l] *= 2 ** step) });
    }
    for (const move of moves) {
      const trial = copyPlan(plan);
      move.apply(trial);
      const trialUnits = units.slice();
      trialUnits[l] = simulatedConv(planUnit(chain, trial, l));
      let trialHead = head;
      if (move.what === "output") {
        if (l + 1 < L) trialUnits[l + 1] = simulatedConv(planUnit(chain, trial, l + 1));
        else trialHead = simulatedConv(planHead(chain, trial));
      }
      report.trials++;
      const trialLoss = logitLoss(logitsFrom(l, inputs, trialUnits, trialHead), targets);
      if (trialLoss < loss) {
        loss = trialLoss;
        Object.assign(plan, trial);
        units.splice(0, L, ...trialUnits);
        head = trialHead;
        report.changes.push(`${chain.units[l].name} ${move.what} ${move.step > 0 ? "+1" : "-1"}`);
      }
    }
    inputs = inputs.map((x) => simulatedUnit(units[l], x)); // unit l is settled
  }
  report.lossAfter = loss;
  return { plan, report };
}
