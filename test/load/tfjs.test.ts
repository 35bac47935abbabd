import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  readTfjsLayersModel,
  tfjsLayers,
  kerasKernelToTorch,
  type TfjsWeightGroup,
} from "../../src/models/load/tfjs.ts";
import { tensor } from "../../src/tensor/tensor.ts";
import { sharedDir } from "../golden.ts";
import { skipUnless } from "../skip.ts";

// ---- small hand-made models: every expected value follows from the bytes written here ----

function float32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

function model(groups: TfjsWeightGroup[], topology: object = { class_name: "Sequential", config: { layers: [] } }) {
  return { modelTopology: topology, weightsManifest: groups };
}

test("weights of a group are read back to back across shards (split mid-weight)", () => {
  const all = float32Bytes([1, 2, 3, 4, 5, 6, -7.5]);
  const shards: Record<string, Uint8Array> = {
    "g1-a": all.subarray(0, 10),
    "g1-b": all.subarray(10, 24),
    g2: all.subarray(24),
  };
  const { weights } = readTfjsLayersModel(
    model([
      { paths: ["g1-a", "g1-b"], weights: [{ name: "d/kernel", shape: [2, 3], dtype: "float32" }] },
      { paths: ["g2"], weights: [{ name: "d/bias", shape: [1], dtype: "float32" }] },
    ]),
    (p) => shards[p],
  );
  assert.equal(weights.get("d/kernel")!.shape, [2, 3]);
  assert.equal([...weights.get("d/kernel")!.data], [1, 2, 3, 4, 5, 6]);
  assert.equal([...weights.get("d/bias")!.data], [-7.5]);
});

test("quantized uint8 / uint16 (code * scale + min) and float16 weights", () => {
  const u16 = new Uint8Array(4);
  new DataView(u16.buffer).setUint16(0, 1000, true);
  new DataView(u16.buffer).setUint16(2, 65535, true);
  const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]); // 1, -2, 2^-24
  const shards: Record<string, Uint8Array> = { a: new Uint8Array([0, 1, 255]), b: u16, c: f16 };
  const { weights } = readTfjsLayersModel(
    model([
      {
        paths: ["a"],
        weights: [{ name: "q8", shape: [3], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } }],
      },
      {
        paths: ["b"],
        weights: [
          { name: "q16", shape: [2], dtype: "float32", quantization: { dtype: "uint16", scale: 0.001, min: 2 } },
        ],
      },
      { paths: ["c"], weights: [{ name: "h", shape: [3], dtype: "float32", quantization: { dtype: "float16" } }] },
    ]),
    (p) => shards[p],
  );
  assert.equal([...weights.get("q8")!.data], [-1, -0.5, 126.5]);
  assert.equal([...weights.get("q16")!.data], [Math.fround(1000 * 0.001 + 2), Math.fround(65535 * 0.001 + 2)]);
  assert.equal([...weights.get("h")!.data], [1, -2, 2 ** -24]);
});

test("byte counts are checked against the manifest, naming the shard and the weight", () => {
  const manifest = (paths: string[]) =>
    model([
      {
        paths,
        weights: [
          { name: "a/kernel", shape: [2], dtype: "float32" },
          { name: "a/bias", shape: [3], dtype: "float32" },
        ],
      },
    ]);
  const shards: Record<string, Uint8Array> = {
    s1: new Uint8Array(12),
    s2: new Uint8Array(4),
    long: new Uint8Array(24),
  };
  assert.throws(
    () => readTfjsLayersModel(manifest(["s1"]), (p) => shards[p], "m.json"),
    /tfjs m\.json: weight 'a\/bias' \[3\] float32 needs bytes 8\.\.20 of group 0, but its shards hold 12 \(s1: 12 bytes\): shard 's1' is short/,
  );
  assert.throws(
    () => readTfjsLayersModel(manifest(["s1", "s2"]), (p) => shards[p], "m.json"),
    /weight 'a\/bias'.*shard 's2' is short/,
  );
  assert.throws(
    () => readTfjsLayersModel(manifest(["long"]), (p) => shards[p], "m.json"),
    /tfjs m\.json: group 0: shards hold 24 bytes \(long: 24 bytes\) but the manifest's weights use 20; shard 'long' has 4 bytes after the last weight 'a\/bias'/,
  );
});

test("bad manifests and graph models are rejected clearly", () => {
  const none = () => new Uint8Array(0);
  assert.throws(() => readTfjsLayersModel([], none, "x.json"), /tfjs x\.json: model\.json must be a JSON object/);
  assert.throws(() => readTfjsLayersModel({ modelTopology: {} }, none, "x.json"), /no weightsManifest list/);
  assert.throws(
    () => readTfjsLayersModel({ format: "graph-model", modelTopology: { node: [] }, weightsManifest: [] }, none),
    /graph model/,
  );
  assert.throws(
    () =>
      readTfjsLayersModel(
        model([{ paths: ["s"], weights: [{ name: "w", shape: [1], dtype: "string" }] }]),
        () => new Uint8Array(4),
      ),
    /weight 'w' has unsupported dtype 'string'/,
  );
  assert.throws(
    () =>
      readTfjsLayersModel(
        model([
          {
            paths: ["s"],
            weights: [
              { name: "w", shape: [1], dtype: "float32" },
              { name: "w", shape: [1], dtype: "float32" },
            ],
          },
        ]),
        () => new Uint8Array(8),
      ),
    /weight 'w' appears twice/,
  );
});

test("shard paths must stay inside the model's folder; readShard is told how many bytes the group still needs", () => {
  const weights = [{ name: "w", shape: [2], dtype: "float32" }];
  const refused: [string, RegExp][] = [
    ["/etc/passwd", /paths\[0\] '\/etc\/passwd' is absolute/],
    ["\\\\server\\share", /is absolute/],
    ["C:\\weights.bin", /is absolute/],
    ["https://example.com/w.bin", /is absolute/],
    ["sub/../../w.bin", /leaves the model\.json's folder/],
    ["..\\w.bin", /leaves the model\.json's folder/],
    ["w\u0000.bin", /paths\[0\] 'w\\x00\.bin' contains a control character/],
  ];
  for (const [path, expected] of refused) {
    let read = false;
    assert.throws(
      () =>
        readTfjsLayersModel(model([{ paths: [path], weights }]), () => ((read = true), new Uint8Array(8)), "m.json"),
      expected,
      path,
    );
    assert.not.ok(read, `${path} must be refused before it is read`);
  }
  const budgets: number[] = [];
  const all = float32Bytes([1, 2, 3]);
  readTfjsLayersModel(
    model([{ paths: ["sub/a", "b"], weights: [{ name: "w", shape: [3], dtype: "float32" }] }]),
    (p, maxBytes) => (budgets.push(maxBytes), p === "sub/a" ? all.subarray(0, 8) : all.subarray(8)),
  );
  assert.equal(budgets, [12, 4]);
});

test("tfjsLayers: Sequential chains, camelCase configs and scalar kernel sizes are normalised", () => {
  const layers = tfjsLayers({
    class_name: "Sequential",
    config: [
      {
        class_name: "Conv2D",
        config: { name: "c", filters: 4, kernelSize: 3, strides: [2, 2], padding: "valid", useBias: true },
      },
      { class_name: "ReLU", config: { name: "r", max_value: 6 } },
    ],
  });
  assert.equal(
    layers.map((l) => [l.name, l.className, l.inbound]),
    [
      ["c", "Conv2D", []],
      ["r", "ReLU", ["c"]],
    ],
  );
  assert.equal(layers[0].kernelSize, [3, 3]);
  assert.equal(layers[0].strides, [2, 2]);
  assert.is(layers[0].useBias, true);
  assert.is(layers[1].maxValue, 6);
});

test("kerasKernelToTorch moves each element to PyTorch's layout", () => {
  // Keras [kh=1, kw=2, in=2, out=3], element value = 100*x + 10*i + o
  const keras = tensor([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112], [1, 2, 2, 3]);
  const conv = kerasKernelToTorch(keras);
  assert.equal(conv.shape, [3, 2, 1, 2]); // [out, in, kh, kw]: element (o, i, 0, x) = 100x + 10i + o
  assert.equal([...conv.data], [0, 100, 10, 110, 1, 101, 11, 111, 2, 102, 12, 112]);
  const depthwise = kerasKernelToTorch(keras, true);
  assert.equal(depthwise.shape, [6, 1, 1, 2]); // channel i * 3 + o
  assert.equal([...depthwise.data], [0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112]);
});

// ---- the two real models in ../shared/weights ----

function readShared(folder: string, jsonName: string) {
  const dir = join(sharedDir()!, "weights", folder);
  const json = JSON.parse(readFileSync(join(dir, jsonName), "utf8"));
  const shard = (p: string) => new Uint8Array(readFileSync(join(dir, p)));
  const loaded = readTfjsLayersModel(json, shard, jsonName);
  const shardBytes = (json.weightsManifest as TfjsWeightGroup[])
    .flatMap((g) => g.paths)
    .reduce((n, p) => n + shard(p).length, 0);
  return { ...loaded, layers: tfjsLayers(loaded.topology, loaded.weights), shard, shardBytes };
}

skipUnless(sharedDir(), "../shared absent")("MobileNetV1 0.25 (TF.js layers model from ../shared)", () => {
  const m = readShared("mobilenet_v1_0.25_224_tfjs", "mobilenet_model.json");
  assert.is(m.weights.size, 137);
  assert.is(
    [...m.weights.values()].reduce((n, t) => n + 4 * t.size, 0),
    m.shardBytes,
    "every shard byte is one float32 of a weight",
  );
  const count = (cls: string) => m.layers.filter((l) => l.className === cls).length;
  assert.equal(
    [count("Conv2D"), count("DepthwiseConv2D"), count("BatchNormalization"), count("Activation")],
    [15, 13, 27, 28],
  );
  // every layer feeds the next: a plain chain in file order
  m.layers.slice(1).forEach((l, i) => assert.equal(l.inbound, [m.layers[i].name], l.name));
  const conv1 = m.layers[1];
  assert.equal(
    [conv1.name, conv1.filters, conv1.kernelSize, conv1.strides, conv1.padding, conv1.useBias],
    ["conv1", 8, [3, 3], [2, 2], "same", false],
  );
  assert.is(m.layers[3].activation, "relu6");
  // weight shapes agree with the layer configs (Keras layouts), channel counts chain through
  let channels = 3;
  for (const l of m.layers) {
    if (l.className === "Conv2D") {
      assert.equal(l.weights.get("kernel")!.shape, [...l.kernelSize!, channels, l.filters!], l.name);
      channels = l.filters!;
    } else if (l.className === "DepthwiseConv2D") {
      assert.equal(l.weights.get("depthwise_kernel")!.shape, [...l.kernelSize!, channels, 1], l.name);
    } else if (l.className === "BatchNormalization") {
      assert.is(l.epsilon, 0.001);
      assert.equal([...l.weights.keys()], ["gamma", "beta", "moving_mean", "moving_variance"], l.name);
      assert.ok(
        l.weights.get("moving_variance")!.data.every((v) => v > 0),
        `${l.name} variances are positive`,
      );
    }
  }
  assert.is(channels, 1000, "the head is the 1x1 conv_preds with 1000 outputs");
  // offsets inside a multi-weight group: moving_variance is the 4th of 4 [128] weights in group 55
  const raw = new DataView(m.shard("mobilenet_group55-shard1of1").buffer);
  const variance = m.weights.get("conv_pw_9_bn/moving_variance")!;
  assert.equal(
    [variance.data[0], variance.data[127]],
    [raw.getFloat32(3 * 512, true), raw.getFloat32(4 * 512 - 4, true)],
  );
});

skipUnless(sharedDir(), "../shared absent")("Darknet-Tiny (TF.js layers model from ../shared)", () => {
  const m = readShared("darknet_tiny_tfjs", "model.json");
  assert.is(m.weights.size, 77);
  assert.is(
    [...m.weights.values()].reduce((n, t) => n + 4 * t.size, 0),
    m.shardBytes,
  );
  m.layers.slice(1).forEach((l, i) => assert.equal(l.inbound, [m.layers[i].name], l.name));
  const convs = m.layers.filter((l) => l.className === "Conv2D");
  const pools = m.layers.filter((l) => l.className === "MaxPooling2D");
  assert.is(convs.length, 16);
  assert.equal(
    pools.map((p) => [p.poolSize, p.strides, p.padding]),
    Array(4).fill([[2, 2], [2, 2], "same"]),
    "4 stride-2 pools: total stride 16",
  );
  assert.ok(m.layers.filter((l) => l.className === "LeakyReLU").every((l) => Math.abs(l.alpha! - 0.1) < 1e-7));
  let channels = 3;
  for (const c of convs) {
    assert.equal(c.weights.get("kernel")!.shape, [...c.kernelSize!, channels, c.filters!], c.name);
    assert.is(c.weights.has("bias"), c.useBias!, c.name);
    channels = c.filters!;
  }
  assert.equal([convs[15].filters, convs[15].useBias], [1000, true]);
  assert.is(m.layers[m.layers.length - 1].className, "GlobalAveragePooling2D");
});

test.run();
