// The benchmark's TF.js peers: DeiT and the MobileNetV3 proposer written with tf ops, from the same
// weight maps (timm names) that papr-ts runs. NHWC inside, as TF.js convolutions want it.
import type * as TF from "@tensorflow/tfjs-core";
import { foldBatchNorm } from "../src/tensor/norm.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { mobilenetV3Blocks, type MobileNetV3Config } from "../src/models/mobilenetv3.ts";
import { samePadding, type BlockPlan } from "../src/models/mobilenet_blocks.ts";
import type { VitConfig } from "../src/models/vit.ts";

type Tf = typeof TF;
type Shape4 = [number, number, number, number];

/** DeiT forward: image NCHW [1,3,S,S], optional kept token rows (prefix included) -> logits [1, classes]. */
export function tfVit(
  tf: Tf,
  config: VitConfig,
  weights: Map<string, Tensor>,
): (image: TF.Tensor4D, rows: TF.Tensor1D | null) => TF.Tensor {
  const w = (name: string) => tf.tensor(weights.get(name)!.data, weights.get(name)!.shape);
  const D = config.embedDim;
  const heads = config.numHeads;
  const headDim = D / heads;
  const eps = config.layerNormEps;
  const grid = config.imageSize / config.patchSize;
  const patchFilter = tf.transpose(w("patch_embed.proj.weight"), [2, 3, 1, 0]); // [p, p, 3, D]
  const patchBias = w("patch_embed.proj.bias");
  const cls = tf.reshape(w("cls_token"), [1, D]);
  const pos = tf.reshape(w("pos_embed"), [-1, D]);
  const blocks = Array.from({ length: config.depth }, (_, i) => {
    const p = `blocks.${i}.`;
    return {
      n1: [w(`${p}norm1.weight`), w(`${p}norm1.bias`)],
      qkv: [w(`${p}attn.qkv.weight`), w(`${p}attn.qkv.bias`)],
      proj: [w(`${p}attn.proj.weight`), w(`${p}attn.proj.bias`)],
      n2: [w(`${p}norm2.weight`), w(`${p}norm2.bias`)],
      fc1: [w(`${p}mlp.fc1.weight`), w(`${p}mlp.fc1.bias`)],
      fc2: [w(`${p}mlp.fc2.weight`), w(`${p}mlp.fc2.bias`)],
    };
  });
  const norm = [w("norm.weight"), w("norm.bias")];
  const head = [w("head.weight"), w("head.bias")];
  const linear = (x: TF.Tensor, [weight, bias]: TF.Tensor[]) =>
    tf.fused.matMul({ a: x as TF.Tensor2D, b: weight as TF.Tensor2D, transposeB: true, bias });
  const layerNorm = (x: TF.Tensor, [weight, bias]: TF.Tensor[]) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), weight), bias);
  };
  const gelu = (x: TF.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

  return (image, rows) =>
    tf.tidy(() => {
      const nhwc = tf.transpose(image, [0, 2, 3, 1]);
      const patches = tf.reshape(
        tf.add(tf.conv2d(nhwc, patchFilter as TF.Tensor4D, config.patchSize, "valid"), patchBias),
        [grid * grid, D],
      );
      let x: TF.Tensor = tf.add(tf.concat([cls, patches], 0), pos);
      if (rows !== null) x = tf.gather(x, rows);
      const n = x.shape[0];
      for (const b of blocks) {
        const qkv = tf.transpose(tf.reshape(linear(layerNorm(x, b.n1), b.qkv), [n, 3, heads, headDim]), [1, 2, 0, 3]); // [3, h, n, hd]
        const [q, k, v] = tf.unstack(qkv);
        const attention = tf.softmax(tf.matMul(tf.mul(q, headDim ** -0.5), k, false, true));
        const merged = tf.reshape(tf.transpose(tf.matMul(attention, v), [1, 0, 2]), [n, D]);
        x = tf.add(x, linear(merged, b.proj));
        x = tf.add(x, linear(gelu(linear(layerNorm(x, b.n2), b.fc1)), b.fc2));
      }
      const pooled = tf.slice(layerNorm(x, norm), [0, 0], [1, D]);
      return linear(pooled, head);
    });
}

/** MobileNetV3 features: image NCHW [1,3,S,S] -> last feature map (NHWC), BatchNorm folded as papr-ts does. */
export function tfMobileNetV3(
  tf: Tf,
  config: MobileNetV3Config,
  weights: Map<string, Tensor>,
): (image: TF.Tensor4D) => TF.Tensor {
  const EPS = 1e-5;
  const fold = (conv: string, bn: string, depthwise: boolean) => {
    const folded = foldBatchNorm(weights.get(`${conv}.weight`)!, null, {
      weight: weights.get(`${bn}.weight`)!,
      bias: weights.get(`${bn}.bias`)!,
      runningMean: weights.get(`${bn}.running_mean`)!,
      runningVar: weights.get(`${bn}.running_var`)!,
      eps: EPS,
    });
    const filter = tf.transpose(
      tf.tensor4d(folded.weight.data, folded.weight.shape as Shape4),
      depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0],
    ) as TF.Tensor4D;
    return { filter, bias: tf.tensor(folded.bias.data, folded.bias.shape) };
  };
  const pointwise = (name: string) =>
    tf.transpose(tf.tensor4d(weights.get(name)!.data, weights.get(name)!.shape as Shape4), [2, 3, 1, 0]) as TF.Tensor4D;
  const vector = (name: string) => tf.tensor(weights.get(name)!.data, weights.get(name)!.shape);
  const hardswish = (x: TF.Tensor) => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
  const act = (x: TF.Tensor, kind: string) =>
    kind === "hardswish" ? hardswish(x) : kind === "relu6" ? tf.relu6(x) : tf.relu(x);
  const pad = (kernel: number, stride: number) => samePadding(kernel, stride); // symmetric, as timm pads
  const conv = (x: TF.Tensor, c: { filter: TF.Tensor4D; bias: TF.Tensor }, kernel: number, stride: number) =>
    tf.fused.conv2d({ x: x as TF.Tensor4D, filter: c.filter, strides: stride, pad: pad(kernel, stride), bias: c.bias });
  const depthwise = (x: TF.Tensor, c: { filter: TF.Tensor4D; bias: TF.Tensor }, kernel: number, stride: number) =>
    tf.fused.depthwiseConv2d({
      x: x as TF.Tensor4D,
      filter: c.filter,
      strides: stride,
      pad: pad(kernel, stride),
      bias: c.bias,
    });

  const stem = fold("conv_stem", "bn1", false);
  const blocks = mobilenetV3Blocks(config).map((plan: BlockPlan) => {
    const n = plan.name;
    const se =
      plan.seChannels === 0
        ? null
        : {
            reduce: { filter: pointwise(`${n}.se.conv_reduce.weight`), bias: vector(`${n}.se.conv_reduce.bias`) },
            expand: { filter: pointwise(`${n}.se.conv_expand.weight`), bias: vector(`${n}.se.conv_expand.bias`) },
          };
    if (plan.kind === "cn") return { plan, se, expand: null, dw: null, project: fold(`${n}.conv`, `${n}.bn1`, false) };
    if (plan.kind === "ds")
      return {
        plan,
        se,
        expand: null,
        dw: fold(`${n}.conv_dw`, `${n}.bn1`, true),
        project: fold(`${n}.conv_pw`, `${n}.bn2`, false),
      };
    return {
      plan,
      se,
      expand: fold(`${n}.conv_pw`, `${n}.bn1`, false),
      dw: fold(`${n}.conv_dw`, `${n}.bn2`, true),
      project: fold(`${n}.conv_pwl`, `${n}.bn3`, false),
    };
  });

  return (image) =>
    tf.tidy(() => {
      let x: TF.Tensor = hardswish(conv(tf.transpose(image, [0, 2, 3, 1]), stem, 3, 2));
      for (const { plan, se, expand, dw, project } of blocks) {
        if (plan.kind === "cn") {
          x = act(conv(x, project, plan.kernel, plan.stride), plan.act);
          continue;
        }
        let h = x;
        if (expand) h = act(conv(h, expand, 1, 1), plan.act);
        h = act(depthwise(h, dw!, plan.kernel, plan.stride), plan.act);
        if (se) {
          const squeezed = tf.mean(h, [1, 2], true);
          const gate = tf.div(tf.relu6(tf.add(conv(tf.relu(conv(squeezed, se.reduce, 1, 1)), se.expand, 1, 1), 3)), 6);
          h = tf.mul(h, gate);
        }
        h = conv(h, project, 1, 1);
        x = plan.residual ? tf.add(h, x) : h;
      }
      return x;
    });
}
