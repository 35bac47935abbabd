// Where a forward's time goes, per op kind: one proposer forward (MobileNetV3-small / -large,
// ResNet-18, MobileOne-S0, seeded weights, 224x224) and one DeiT-Small block stack, replayed op by
// op with a timer around each kernel call. Prints, per model, the median ms of each op kind over
// `--rounds` forwards (after one warm-up) and its share of the forward.
//
//   node --import tsx bench/profile_ops.ts [--backend wasm|js] [--rounds 5] [--z 1]
import { add, relu } from "../src/tensor/elementwise.ts";
import { conv2d } from "../src/tensor/conv.ts";
import { layerNorm } from "../src/tensor/norm.ts";
import { linear } from "../src/tensor/linear.ts";
import { multiHeadSelfAttention } from "../src/tensor/attention.ts";
import { squeezeExcite } from "../src/tensor/se.ts";
import { globalAvgPool, maxPool2d } from "../src/tensor/pooling.ts";
import { setBackend } from "../src/tensor/backend.ts";
import { syntheticTensor } from "../src/tensor/random.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { syntheticWeights } from "../src/models/synthetic.ts";
import { mobilenetV3Blocks, mobilenetV3Spec, type MobileNetV3Variant } from "../src/models/mobilenetv3.ts";
import { loadBlock } from "../src/models/mobilenet_blocks.ts";
import { foldConvBn, type FusedConv } from "../src/models/conv_bn.ts";
import { createResNet, resnetSpec } from "../src/models/resnet.ts";
import { createMobileOne, mobileoneSpec } from "../src/models/mobileone.ts";
import { createVit, vitConfig, vitSpec } from "../src/models/vit.ts";

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]]] : [])),
);
const ROUNDS = Number(args.rounds ?? 5);
setBackend(args.backend === "js" ? "js" : "wasm");

type Timer = <T>(kind: string, run: () => T) => T;

function profile(name: string, forward: (time: Timer) => unknown): void {
  const samples = new Map<string, number[]>();
  const totals: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const spent = new Map<string, number>();
    const time: Timer = (kind, run) => {
      const t0 = performance.now();
      const out = run();
      spent.set(kind, (spent.get(kind) ?? 0) + performance.now() - t0);
      return out;
    };
    const t0 = performance.now();
    forward(time);
    if (round === 0) continue;
    totals.push(performance.now() - t0);
    for (const [k, v] of spent) samples.set(k, [...(samples.get(k) ?? []), v]);
  }
  const total = median(totals);
  console.log(`\n${name}: ${total.toFixed(2)} ms per forward (median of ${ROUNDS})`);
  const rows = [...samples].map(([k, v]) => [k, median(v)] as const).sort((a, b) => b[1] - a[1]);
  for (const [k, ms] of rows)
    console.log(`  ${k.padEnd(24)} ${ms.toFixed(2).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The conv's kind for the table: stem (dense kxk on 3 channels), depthwise kxk, pointwise, dense kxk. */
function convKind(conv: FusedConv): string {
  const [, cg, kh] = conv.weight.shape;
  if (cg === 1) return `conv depthwise ${kh}x${kh}`;
  if (kh === 1) return "conv pointwise";
  return cg === 3 ? `conv stem ${kh}x${kh}` : `conv dense ${kh}x${kh}`;
}

const conv = (time: Timer, x: Tensor, c: FusedConv, activation: "none" | "relu" | "hardswish" | "relu6" = "none") =>
  time(convKind(c), () =>
    conv2d(x, c.weight, c.bias, activation === "none" ? c.options : { ...c.options, activation }),
  );

const image = syntheticTensor("profile.image", [1, 3, 224, 224], 1);

function mobileNetV3(variant: MobileNetV3Variant): void {
  const config = { variant };
  const weights = syntheticWeights(mobilenetV3Spec(config));
  const stem = foldConvBn(weights, "conv_stem", "bn1", 1e-5, { stride: 2, padding: 1 });
  const blocks = mobilenetV3Blocks(config).map((b) => loadBlock(b, weights, 1e-5));
  profile(`MobileNetV3-${variant} features`, (time) => {
    let h = conv(time, image, stem, "hardswish");
    for (const { plan, expand, depthwise, se, project } of blocks) {
      if (plan.kind === "cn") {
        h = conv(time, h, project, plan.act);
        continue;
      }
      const x = h;
      if (expand) h = conv(time, h, expand, plan.act);
      if (depthwise) h = conv(time, h, depthwise, plan.act);
      if (se) h = time("squeeze-excite", () => squeezeExcite(h, { ...se, activation: "relu", gate: "hardsigmoid" }));
      h = conv(time, h, project);
      if (plan.residual) h = time("add (residual)", () => add(h, x));
    }
    time("global pool", () => globalAvgPool(h));
  });
}

function resnet18(): void {
  const weights = syntheticWeights(resnetSpec({ depth: 18 }));
  createResNet({ depth: 18 }, weights); // checks the weights
  const stem = foldConvBn(weights, "conv1", "bn1", 1e-5, { stride: 2, padding: 3 });
  const blocks = [1, 2, 3, 4].flatMap((layer) =>
    [0, 1].map((j) => {
      const p = `layer${layer}.${j}`;
      const stride = j === 0 && layer > 1 ? 2 : 1;
      return {
        convs: [1, 2].map((i) =>
          foldConvBn(weights, `${p}.conv${i}`, `${p}.bn${i}`, 1e-5, { stride: i === 1 ? stride : 1, padding: 1 }),
        ),
        downsample: weights.has(`${p}.downsample.0.weight`)
          ? foldConvBn(weights, `${p}.downsample.0`, `${p}.downsample.1`, 1e-5, { stride, padding: 0 })
          : null,
      };
    }),
  );
  profile("ResNet-18 features", (time) => {
    const stemOut = conv(time, image, stem, "relu");
    let y = time("max pool", () => maxPool2d(stemOut, { kernel: 3, stride: 2, padding: 1 }));
    for (const b of blocks) {
      const a = conv(time, y, b.convs[0], "relu");
      const r = conv(time, a, b.convs[1]);
      const shortcut = b.downsample ? conv(time, y, b.downsample) : y;
      const sum = time("add (residual)", () => add(r, shortcut));
      y = time("relu", () => relu(sum));
    }
  });
}

function mobileOne(): void {
  const weights = syntheticWeights(mobileoneSpec());
  createMobileOne({}, weights); // checks the weights
  // the reparameterised convs in order: 3x3 (stem, depthwise) pad 1, 1x1 pad 0; stride 2 where the map halves
  const convs: FusedConv[] = [];
  let size = 224;
  for (const [name, w] of weights) {
    if (!name.endsWith("reparam_conv.weight")) continue;
    const [O, cg, k] = w.shape;
    const stride = name.startsWith("stem") || isDownsample(name) ? 2 : 1;
    convs.push({
      weight: w,
      bias: weights.get(name.replace(".weight", ".bias"))!,
      options: { stride, padding: (k - 1) / 2, groups: cg === 1 ? O : 1 },
    });
    size = Math.ceil(size / stride);
  }
  profile(`MobileOne-S0 features (${size}x${size} out)`, (time) => {
    let y = image;
    for (const c of convs) y = conv(time, y, c, "relu");
  });
}

/** stages.i.0 (the first depthwise conv of a stage) has stride 2 in MobileOne-S0. */
function isDownsample(name: string): boolean {
  return /^stages\.\d+\.0\.reparam/.test(name);
}

function deitSmall(): void {
  const config = vitConfig("deit_small_patch16_224");
  const vit = createVit(config, syntheticWeights(vitSpec(config)));
  const tokens = vit.embed(image);
  profile("DeiT-Small blocks (197 tokens)", (time) => {
    let x = tokens;
    for (let i = 0; i < config.depth; i++) {
      const b = vit.blockWeights(i);
      const n1 = time("layer norm", () => layerNorm(x, b.norm1.weight, b.norm1.bias, 1e-6));
      const attn = time("attention (qkv+heads+proj)", () =>
        multiHeadSelfAttention(n1, {
          qkvWeight: b.qkv.weight,
          qkvBias: b.qkv.bias,
          projWeight: b.proj.weight,
          projBias: b.proj.bias,
          numHeads: config.numHeads,
        }),
      );
      x = time("add (residual)", () => add(x, attn));
      const n2 = time("layer norm", () => layerNorm(x, b.norm2.weight, b.norm2.bias, 1e-6));
      const hidden = time("linear fc1+gelu", () => linear(n2, b.fc1.weight, b.fc1.bias, { activation: "gelu" }));
      const out = time("linear fc2", () => linear(hidden, b.fc2.weight, b.fc2.bias));
      x = time("add (residual)", () => add(x, out));
    }
  });
}

mobileNetV3("small");
mobileNetV3("large");
resnet18();
mobileOne();
deitSmall();
