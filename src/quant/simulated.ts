// Simulated execution of a quantized net (docs/quantization.md §2): the project's float kernels run
// on grid points (integer * scale), and every activation is fake-quantized onto its grid. With
// power-of-two scales each conv's float result is exactly its int32 sum times 2^(e_w + e_x) (every
// partial sum is a multiple of that unit below 2^24 of them, quantized_net.ts), so this path and the
// integer one (integer.ts) give the same integers.
import { conv2d } from "../tensor/conv.ts";
import { linear } from "../tensor/linear.ts";
import { globalAvgPool } from "../tensor/pooling.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { QuantConv, QuantizedNet } from "./quantized_net.ts";
import { INPUT_RANGE } from "./quantized_net.ts";
import { fakeQuantize } from "./quantizer.ts";

/** A quantized conv with its grid points as float tensors. */
export interface SimulatedConv {
  conv: QuantConv;
  weight: Tensor; // weight[i] * weightScale[o]
  bias: Tensor; // bias[o] * weightScale[o] * inputScale
}

export function simulatedConv(conv: QuantConv): SimulatedConv {
  const O = conv.shape[0];
  const perChannel = conv.weight.length / O;
  const weight = new Float32Array(conv.weight.length);
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) weight[i] = conv.weight[i] * conv.weightScale[o];
    bias[o] = conv.bias[o] * conv.weightScale[o] * conv.inputScale;
  }
  return { conv, weight: new Tensor(weight, conv.shape), bias: new Tensor(bias, [O]) };
}

/** The conv's float output before requantization (its int32 sum times the sum's grid). */
export function simulatedSum(s: SimulatedConv, x: Tensor): Tensor {
  return conv2d(x, s.weight, s.bias, s.conv.options);
}

/** conv, ReLU6 and requantization onto the output grid: [0, outputMax] * outputScale. */
export function simulatedUnit(s: SimulatedConv, x: Tensor): Tensor {
  const y = simulatedSum(s, x);
  const { outputScale, outputMax } = s.conv;
  return new Tensor(fakeQuantize(y.data, outputScale, { lo: 0, hi: outputMax }), y.shape);
}

/** The input image [1, 3, H, W] on the signed 8-bit grid of the first conv. */
export function quantizeInput(net: QuantizedNet, x: Tensor): Tensor {
  return new Tensor(fakeQuantize(x.data, net.units[0].inputScale, INPUT_RANGE), x.shape);
}

/** Global average pool requantized on the features' grid, then the classifier: logits [1, numClasses]. */
export function simulatedHead(head: SimulatedConv, features: Tensor): Tensor {
  const range = { lo: 0, hi: 2 ** 30 }; // the mean of grid values never leaves their range
  const pooled = globalAvgPool(features);
  const q = new Tensor(fakeQuantize(pooled.data, head.conv.inputScale, range), pooled.shape);
  const [O, K] = head.conv.shape;
  return linear(q, head.weight.reshape([O, K]), head.bias);
}

/** A quantized net run by the float kernels: the same interface as a ConvNet proposer / classifier. */
export class SimulatedNet {
  readonly units: SimulatedConv[];
  readonly head: SimulatedConv;
  readonly imageSize: number;

  constructor(readonly net: QuantizedNet) {
    this.units = net.units.map(simulatedConv);
    this.head = simulatedConv(net.head);
    this.imageSize = net.imageSize;
  }

  /** [1, 3, H, W] -> [1, K, h, w]: the last unit's output, on its grid. */
  features(x: Tensor): Tensor {
    let y = quantizeInput(this.net, x);
    for (const unit of this.units) y = simulatedUnit(unit, y);
    return y;
  }

  forward(x: Tensor): Tensor {
    return simulatedHead(this.head, this.features(x));
  }
}
