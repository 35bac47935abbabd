// Simulated execution of the quantized MobileNetV3 (docs/quantization.md §10): the float conv kernels
// on grid points (exact sums, as in simulated.ts), then each requantization in its float form
// (v3_activations.ts simActivation), the SE's pooled mean and channel product and the residual sum
// fake-quantized on their grids. Gives the integer path's integers times their scales, bit for bit.
import { conv2d } from "../tensor/conv.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { IntRange } from "./quantizer.ts";
import { simulatedConv, type SimulatedConv } from "./simulated.ts";
import { simActivation } from "./v3_activations.ts";
import { meanPool } from "./v3_graph.ts";
import type { QuantV3Block, QuantV3Conv, QuantV3Net } from "./v3_net.ts";

const gridPoint = (v: number, scale: number, r: IntRange) => {
  const q = Math.floor(v / scale + 0.5);
  return (q < r.lo ? r.lo : q > r.hi ? r.hi : q) * scale;
};

function onGrid(x: Tensor, scale: number, range: IntRange): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) out[i] = gridPoint(x.data[i], scale, range);
  return new Tensor(out, x.shape);
}

/** A quantized conv ready for the float kernels; `sum` is its float sum, `run` the requantized output. */
const simulated = new WeakMap<QuantV3Conv, SimulatedConv>(); // a conv's float grid points, made once

export class SimV3Conv {
  readonly sim: SimulatedConv;
  constructor(readonly conv: QuantV3Conv) {
    let sim = simulated.get(conv);
    if (!sim) simulated.set(conv, (sim = simulatedConv(conv)));
    this.sim = sim;
  }
  sum(x: Tensor): Tensor {
    return conv2d(x, this.sim.weight, this.sim.bias, this.conv.options);
  }
  requantize(sum: Tensor): Tensor {
    const { outputScale, act, outputRange } = this.conv;
    const out = new Float32Array(sum.size);
    const v = sum.data;
    if (act === "none" || act === "relu") {
      // the common case inlined: simActivation's grid point
      const { lo, hi } = outputRange;
      for (let i = 0; i < v.length; i++) {
        const q = Math.floor(v[i] / outputScale + 0.5);
        out[i] = (q < lo ? lo : q > hi ? hi : q) * outputScale;
      }
    } else for (let i = 0; i < v.length; i++) out[i] = simActivation(v[i], outputScale, act, outputRange);
    return new Tensor(out, sum.shape);
  }
  run(x: Tensor): Tensor {
    return this.requantize(this.sum(x));
  }
}

/** The global average pool of grid values, requantized on the same grid (round half up). */
function pooledOnGrid(x: Tensor, scale: number, range: IntRange): Tensor {
  return onGrid(meanPool(x), scale, range);
}

export interface SimV3Block {
  block: QuantV3Block;
  expand: SimV3Conv | null;
  depthwise: SimV3Conv | null;
  reduce: SimV3Conv | null;
  gate: SimV3Conv | null;
  project: SimV3Conv;
}

/** Sees each conv's float sum (before requantization) on the way through; for the reconstruction. */
export type SumTap = (name: string, sum: Tensor) => void;

function tapped(c: SimV3Conv, x: Tensor, tap?: SumTap): Tensor {
  const s = c.sum(x);
  tap?.(c.conv.name, s);
  return c.requantize(s);
}

export function simV3Block(b: QuantV3Block): SimV3Block {
  const sim = (c: QuantV3Conv | null | undefined) => (c ? new SimV3Conv(c) : null);
  return {
    block: b,
    expand: sim(b.expand),
    depthwise: sim(b.depthwise),
    reduce: sim(b.se?.reduce),
    gate: sim(b.se?.expand),
    project: new SimV3Conv(b.project),
  };
}

export function runSimBlock(s: SimV3Block, x: Tensor, tap?: SumTap): Tensor {
  let h = x;
  if (s.expand) h = tapped(s.expand, h, tap);
  if (s.depthwise) h = tapped(s.depthwise, h, tap);
  const se = s.block.se;
  if (se) {
    const pooled = pooledOnGrid(h, s.reduce!.conv.inputScale, s.reduce!.conv.inputRange);
    const gate = tapped(s.gate!, tapped(s.reduce!, pooled, tap), tap); // [1, C, 1, 1]
    const area = h.shape[2] * h.shape[3];
    const out = new Float32Array(h.size);
    for (let i = 0; i < h.size; i++)
      out[i] = gridPoint(h.data[i] * gate.data[Math.floor(i / area)], se.outputScale, se.outputRange);
    h = new Tensor(out, h.shape);
  }
  h = tapped(s.project, h, tap);
  const add = s.block.add;
  if (!add) return h;
  const out = new Float32Array(h.size);
  for (let i = 0; i < h.size; i++) out[i] = gridPoint(h.data[i] + x.data[i], add.outputScale, add.outputRange);
  return new Tensor(out, h.shape);
}

/** The quantized MobileNetV3 run by the float kernels: a ConvNet proposer / classifier. */
export class SimulatedV3Net {
  readonly imageSize: number;
  readonly stem: SimV3Conv;
  readonly blocks: SimV3Block[];
  readonly convHead: SimV3Conv;
  readonly classifier: SimV3Conv;

  constructor(readonly net: QuantV3Net) {
    this.imageSize = net.imageSize;
    this.stem = new SimV3Conv(net.stem);
    this.blocks = net.blocks.map(simV3Block);
    this.convHead = new SimV3Conv(net.convHead);
    this.classifier = new SimV3Conv(net.classifier);
  }

  /** The image on the stem's signed 8-bit input grid. */
  input(x: Tensor): Tensor {
    return onGrid(x, this.net.inputScale, this.net.stem.inputRange);
  }

  /** [1, 3, H, W] -> the last block's output [1, K, h, w] on its grid (PaPr's feature map). */
  features(x: Tensor, tap?: SumTap): Tensor {
    let h = tapped(this.stem, this.input(x), tap);
    for (const b of this.blocks) h = runSimBlock(b, h, tap);
    return h;
  }

  /** The feature map's pool on its grid, conv_head (hardswish), the classifier's sums as logits [1, classes]. */
  head(features: Tensor, tap?: SumTap): Tensor {
    const c = this.convHead.conv;
    const hidden = tapped(this.convHead, pooledOnGrid(features, c.inputScale, c.inputRange), tap);
    const logits = this.classifier.sum(hidden);
    tap?.(this.classifier.conv.name, logits);
    return logits.reshape([1, logits.size]);
  }

  forward(x: Tensor): Tensor {
    return this.head(this.features(x));
  }
}
