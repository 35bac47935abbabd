// TF.js layers models -> this project's ConvNets: reads the Keras topology (layer by layer, checking
// every layer the model relies on), and renames / transposes the weights to canonical names and
// PyTorch layouts (Keras conv kernels are [kh, kw, in, out], depthwise [kh, kw, C, 1]; ours are
// [out, in/groups, kh, kw]).
//
// MobileNetV1 (src/models/mobilenetv1.ts): Keras layer names kept, Keras weight suffixes renamed:
//   conv1/kernel                     -> conv1.weight            (HWIO -> OIHW)
//   conv_dw_i/depthwise_kernel       -> conv_dw_i.weight        (HWC1 -> C1HW)
//   conv_pw_i/kernel                 -> conv_pw_i.weight
//   <x>_bn/gamma, beta, moving_mean, moving_variance -> <x>_bn.weight, bias, running_mean, running_var
//   conv_preds/kernel, conv_preds/bias -> conv_preds.weight [classes, C, 1, 1], conv_preds.bias
// Darknet-Tiny (src/models/darknet.ts): the i-th conv block (0-based, in topology order) ->
//   conv2d_k/kernel -> layers.i.conv.weight, batch_normalization_k/* -> layers.i.bn.*,
//   last conv (1x1, with bias, no BatchNorm) -> head.weight, head.bias
// The Darknet config (kernels, filters, where the max-pools are, LeakyReLU slope) is read from the
// topology; MobileNetV1's width multiplier is read from conv1's filters and every layer checked.
import type { DarknetConfig, DarknetLayer } from "../darknet.ts";
import { MOBILENET_V1_BLOCKS, type MobileNetV1Config } from "../mobilenetv1.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { escapeText, listSome, quote } from "../../tensor/quote.ts";
import { TfjsError, kerasKernelToTorch, tfjsLayers, type TfjsLayer, type TfjsLayersModel } from "./tfjs.ts";

export interface ConvertedTfjsModel<Config> {
  config: Config;
  weights: Map<string, Tensor>; // canonical names, PyTorch layouts
}

const BN_EPS = 1e-3; // both models fold BatchNorm with Keras' default epsilon

/** The layers that compute something (InputLayer dropped), each checked to read the one before it. */
function chain(model: TfjsLayersModel, source: string): TfjsLayer[] {
  const layers = tfjsLayers(model.topology, model.weights, source).filter((l) => l.className !== "InputLayer");
  layers.forEach((l, i) => {
    if (i > 0 && l.inbound.length > 0 && (l.inbound.length !== 1 || l.inbound[0] !== layers[i - 1].name)) {
      throw new TfjsError(
        source,
        `layer ${quote(l.name)} reads [${listSome(l.inbound, 4)}], expected a plain chain after ${quote(layers[i - 1].name)}`,
      );
    }
  });
  return layers;
}

/** Walks a layer chain, failing with the layer's name and what was expected there. */
class Cursor {
  private at = 0;
  /** The file's weight tensors read so far (to report any left over). */
  readonly used = new Set<Tensor>();
  constructor(
    private readonly layers: TfjsLayer[],
    private readonly source: string,
  ) {}

  fail(layer: TfjsLayer | undefined, message: string): never {
    throw new TfjsError(
      this.source,
      layer ? `layer ${quote(layer.name)} (${escapeText(layer.className, 40)}): ${message}` : message,
    );
  }

  peek(): TfjsLayer | undefined {
    return this.layers[this.at];
  }

  /** The next layer, which must be one of `classNames`. */
  take(what: string, ...classNames: string[]): TfjsLayer {
    const layer = this.layers[this.at];
    if (!layer) this.fail(undefined, `topology ends where ${what} (${classNames.join(" or ")}) was expected`);
    if (!classNames.includes(layer.className)) this.fail(layer, `expected ${what} (${classNames.join(" or ")})`);
    this.at++;
    return layer;
  }

  done(): boolean {
    return this.at >= this.layers.length;
  }
}

function weight(cursor: Cursor, layer: TfjsLayer, suffix: string): Tensor {
  const t = layer.weights.get(suffix) ?? cursor.fail(layer, `weight ${quote(`${layer.name}/${suffix}`)} is missing`);
  cursor.used.add(t);
  return t;
}

function checkConv(cursor: Cursor, layer: TfjsLayer, kernel: number, stride: number, useBias: boolean): void {
  const pair = (p: [number, number] | undefined) => (p ? `${p[0]}x${p[1]}` : "?");
  if (pair(layer.kernelSize) !== `${kernel}x${kernel}`)
    cursor.fail(layer, `kernel ${pair(layer.kernelSize)}, expected ${kernel}x${kernel}`);
  if (pair(layer.strides) !== `${stride}x${stride}`)
    cursor.fail(layer, `strides ${pair(layer.strides)}, expected ${stride}x${stride}`);
  if (layer.dilationRate && pair(layer.dilationRate) !== "1x1")
    cursor.fail(layer, `dilation ${pair(layer.dilationRate)} is not supported`);
  if (layer.padding !== "same") {
    cursor.fail(
      layer,
      `padding ${quote(layer.padding, 20)}: only 'same' is supported (a ZeroPadding2D + 'valid' layout, as in newer Keras MobileNets, is not)`,
    );
  }
  if ((layer.useBias ?? true) !== useBias) cursor.fail(layer, `use_bias ${layer.useBias}, expected ${useBias}`);
  if (layer.activation && layer.activation !== "linear")
    cursor.fail(layer, `fused activation ${quote(layer.activation, 20)} is not supported`);
}

/** BatchNormalization layer -> `${prefix}.weight/bias/running_mean/running_var`. */
function takeBatchNorm(cursor: Cursor, out: Map<string, Tensor>, prefix: string, expectedName?: string): void {
  const bn = cursor.take("BatchNormalization", "BatchNormalization");
  if (expectedName && bn.name !== expectedName) cursor.fail(bn, `expected the layer '${expectedName}'`);
  if (bn.epsilon !== undefined && Math.abs(bn.epsilon - BN_EPS) > 1e-9)
    cursor.fail(bn, `epsilon ${bn.epsilon}, expected ${BN_EPS}`);
  out.set(`${prefix}.weight`, weight(cursor, bn, "gamma"));
  out.set(`${prefix}.bias`, weight(cursor, bn, "beta"));
  out.set(`${prefix}.running_mean`, weight(cursor, bn, "moving_mean"));
  out.set(`${prefix}.running_var`, weight(cursor, bn, "moving_variance"));
}

function takeRelu6(cursor: Cursor): void {
  const act = cursor.take("ReLU6", "Activation", "ReLU");
  const isRelu6 = act.className === "Activation" ? act.activation === "relu6" : act.maxValue === 6;
  if (!isRelu6) cursor.fail(act, "expected a ReLU6 activation");
}

/** Fails naming every weight of the file that the conversion did not use. */
function checkAllUsed(model: TfjsLayersModel, used: Set<Tensor>, source: string): void {
  const unused = [...model.weights].filter(([, t]) => !used.has(t)).map(([name]) => name);
  if (unused.length) throw new TfjsError(source, `weights not used by the model: ${listSome(unused)}`);
}

/** The Keras MobileNetV1 of a TF.js layers model (mobilenet_v1_<alpha>_224) in canonical names. */
export function mobilenetV1FromTfjs(
  model: TfjsLayersModel,
  source = "mobilenet_v1 model.json",
): ConvertedTfjsModel<Required<MobileNetV1Config>> {
  const cursor = new Cursor(chain(model, source), source);
  const out = new Map<string, Tensor>();

  const conv1 = cursor.take("the stem conv 'conv1'", "Conv2D");
  if (conv1.name !== "conv1") cursor.fail(conv1, "expected the stem conv 'conv1'");
  checkConv(cursor, conv1, 3, 2, false);
  const alpha = (conv1.filters ?? 0) / 32;
  out.set("conv1.weight", kerasKernelToTorch(weight(cursor, conv1, "kernel")));
  takeBatchNorm(cursor, out, "conv1_bn", "conv1_bn");
  takeRelu6(cursor);

  MOBILENET_V1_BLOCKS.forEach(([filters, stride], index) => {
    const i = index + 1;
    const dw = cursor.take(`conv_dw_${i}`, "DepthwiseConv2D");
    if (dw.name !== `conv_dw_${i}`) cursor.fail(dw, `expected 'conv_dw_${i}'`);
    checkConv(cursor, dw, 3, stride, false);
    if ((dw.depthMultiplier ?? 1) !== 1) cursor.fail(dw, `depth_multiplier ${dw.depthMultiplier}, expected 1`);
    out.set(`conv_dw_${i}.weight`, kerasKernelToTorch(weight(cursor, dw, "depthwise_kernel"), true));
    takeBatchNorm(cursor, out, `conv_dw_${i}_bn`, `conv_dw_${i}_bn`);
    takeRelu6(cursor);

    const pw = cursor.take(`conv_pw_${i}`, "Conv2D");
    if (pw.name !== `conv_pw_${i}`) cursor.fail(pw, `expected 'conv_pw_${i}'`);
    checkConv(cursor, pw, 1, 1, false);
    const expected = Math.floor(filters * alpha);
    if (pw.filters !== expected)
      cursor.fail(pw, `${pw.filters} filters, expected ${expected} (width ${alpha} from conv1's ${conv1.filters})`);
    out.set(`conv_pw_${i}.weight`, kerasKernelToTorch(weight(cursor, pw, "kernel")));
    takeBatchNorm(cursor, out, `conv_pw_${i}_bn`, `conv_pw_${i}_bn`);
    takeRelu6(cursor);
  });

  // head: GlobalAveragePooling2D, Reshape [1,1,C], Dropout, conv_preds (1x1 + bias), softmax, Reshape
  cursor.take("global average pooling", "GlobalAveragePooling2D");
  while (cursor.peek()?.className === "Reshape" || cursor.peek()?.className === "Dropout")
    cursor.take("Reshape or Dropout", "Reshape", "Dropout");
  const preds = cursor.take("the classifier 'conv_preds'", "Conv2D");
  checkConv(cursor, preds, 1, 1, true);
  out.set("conv_preds.weight", kerasKernelToTorch(weight(cursor, preds, "kernel")));
  out.set("conv_preds.bias", weight(cursor, preds, "bias"));
  while (!cursor.done()) {
    const layer = cursor.take("softmax or Reshape", "Activation", "Softmax", "Reshape");
    if (layer.className === "Activation" && layer.activation !== "softmax") cursor.fail(layer, "expected a softmax");
  }
  checkAllUsed(model, cursor.used, source);
  const config = { widthMultiplier: alpha, numClasses: preds.filters ?? 0 };
  return { config, weights: out };
}

/** The ml5.js Darknet-Tiny classifier of a TF.js layers model in canonical names, with its config. */
export function darknetFromTfjs(
  model: TfjsLayersModel,
  source = "darknet model.json",
): ConvertedTfjsModel<Required<DarknetConfig>> {
  const cursor = new Cursor(chain(model, source), source);
  const out = new Map<string, Tensor>();
  const layers: DarknetLayer[] = [];
  let slope: number | undefined;

  for (;;) {
    const conv = cursor.take(`conv layer ${layers.length}`, "Conv2D");
    if (cursor.peek()?.className !== "BatchNormalization") {
      // the classifier: 1x1 conv with bias, then global average pooling
      checkConv(cursor, conv, 1, 1, true);
      out.set("head.weight", kerasKernelToTorch(weight(cursor, conv, "kernel")));
      out.set("head.bias", weight(cursor, conv, "bias"));
      cursor.take("global average pooling", "GlobalAveragePooling2D");
      if (!cursor.done()) cursor.fail(cursor.peek(), "expected the end of the model after global average pooling");
      checkAllUsed(model, cursor.used, source);
      if (layers.length === 0) cursor.fail(conv, "no conv + BatchNorm layers before the classifier");
      return { config: { layers, numClasses: conv.filters ?? 0, leakySlope: slope ?? 0.1 }, weights: out };
    }
    const i = layers.length;
    const kernel = conv.kernelSize?.[0] ?? 0;
    checkConv(cursor, conv, kernel, 1, false);
    out.set(`layers.${i}.conv.weight`, kerasKernelToTorch(weight(cursor, conv, "kernel")));
    takeBatchNorm(cursor, out, `layers.${i}.bn`);
    const act = cursor.take("LeakyReLU", "LeakyReLU");
    const alpha = act.alpha ?? 0.3; // Keras' default slope
    if (slope !== undefined && Math.abs(alpha - slope) > 1e-7)
      cursor.fail(act, `slope ${alpha} differs from the earlier layers' ${slope}`);
    slope = alpha;
    let poolAfter = false;
    if (cursor.peek()?.className === "MaxPooling2D") {
      const pool = cursor.take("MaxPooling2D", "MaxPooling2D");
      const is2x2 = (p?: [number, number]) => p?.[0] === 2 && p?.[1] === 2;
      if (!is2x2(pool.poolSize) || !is2x2(pool.strides ?? pool.poolSize) || pool.padding !== "same") {
        cursor.fail(pool, "only 2x2 max-pools with stride 2 and 'same' padding are supported");
      }
      poolAfter = true;
    }
    layers.push({ kernel, filters: conv.filters ?? 0, poolAfter });
  }
}
