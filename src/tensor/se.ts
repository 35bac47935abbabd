// Squeeze-and-excitation (timm's SqueezeExcite, as in MobileNetV3 and EfficientNet):
//   s = mean over H,W of x                 [N, C]
//   g = gate(expand(act(reduce(s))))       reduce / expand are 1x1 convs, i.e. linears on s
//   out = x * g (per channel)
import { allocFloat32 } from "./arena.ts";
import { addMacs } from "./mac_counter.ts";
import { Tensor, expectRank, expectShape } from "./tensor.ts";
import { linear } from "./linear.ts";
import { globalAvgPool } from "./pooling.ts";
import { relu, silu, hardsigmoid, sigmoid } from "./elementwise.ts";

export interface SqueezeExciteParams {
  reduceWeight: Tensor; // [Cr, C, 1, 1]
  reduceBias: Tensor | null; // [Cr]
  expandWeight: Tensor; // [C, Cr, 1, 1]
  expandBias: Tensor | null; // [C]
  activation?: "relu" | "silu"; // default relu (MobileNetV3)
  gate?: "hardsigmoid" | "sigmoid"; // default hardsigmoid (MobileNetV3)
}

const ACTIVATIONS = { relu, silu };
const GATES = { hardsigmoid, sigmoid };

/** x[N,C,H,W] -> x scaled per channel by the excitation gate. */
export function squeezeExcite(x: Tensor, p: SqueezeExciteParams): Tensor {
  expectRank("squeezeExcite", "x", x, 4);
  const [N, C, H, W] = x.shape;
  expectRank("squeezeExcite", "reduceWeight", p.reduceWeight, 4);
  const Cr = p.reduceWeight.shape[0];
  expectShape("squeezeExcite", "reduceWeight", p.reduceWeight, [Cr, C, 1, 1]);
  expectShape("squeezeExcite", "expandWeight", p.expandWeight, [C, Cr, 1, 1]);
  if (p.reduceBias !== null) expectShape("squeezeExcite", "reduceBias", p.reduceBias, [Cr]);
  if (p.expandBias !== null) expectShape("squeezeExcite", "expandBias", p.expandBias, [C]);
  const activationName = p.activation ?? "relu";
  const gateName = p.gate ?? "hardsigmoid";
  if (!Object.hasOwn(ACTIVATIONS, activationName)) {
    throw new RangeError(`squeezeExcite: activation must be "relu" or "silu", got ${JSON.stringify(activationName)}`);
  }
  if (!Object.hasOwn(GATES, gateName)) {
    throw new RangeError(`squeezeExcite: gate must be "hardsigmoid" or "sigmoid", got ${JSON.stringify(gateName)}`);
  }
  if (activationName === "relu" && gateName === "hardsigmoid" && reluHardsigmoidRunner !== null && H * W > 0) {
    const out = allocFloat32(x.size);
    const plane = C * H * W;
    for (let n = 0; n < N; n++) {
      reluHardsigmoidRunner(x.data.subarray(n * plane, (n + 1) * plane), C, H * W, p, out.subarray(n * plane));
    }
    addMacs(N * 2 * C * Cr); // the two linears, as linear() counts them on the JS path
    return new Tensor(out, x.shape);
  }
  const activation = ACTIVATIONS[activationName];
  const gate = GATES[gateName];

  const squeezed = globalAvgPool(x); // [N, C]
  const hidden = activation(linear(squeezed, p.reduceWeight.reshape([Cr, C]), p.reduceBias)); // [N, Cr]
  const scale = gate(linear(hidden, p.expandWeight.reshape([C, Cr]), p.expandBias)); // [N, C]
  const area = H * W;
  const out = allocFloat32(x.size);
  for (let nc = 0; nc < N * C; nc++) {
    const s = scale.data[nc];
    for (let i = nc * area; i < (nc + 1) * area; i++) out[i] = x.data[i] * s;
  }
  return new Tensor(out, x.shape);
}

/** One image x [C, area] -> out, ReLU inside and hard-sigmoid gate (MobileNetV3's). */
export type SqueezeExciteRunner = (
  x: Float32Array,
  C: number,
  area: number,
  p: SqueezeExciteParams,
  out: Float32Array,
) => void;

let reluHardsigmoidRunner: SqueezeExciteRunner | null = null;

/** A kernel for the ReLU / hard-sigmoid squeeze-excitation (the wasm backend's; null: the JS composition above). */
export function registerSqueezeExciteRunner(runner: SqueezeExciteRunner | null): void {
  reluHardsigmoidRunner = runner;
}
