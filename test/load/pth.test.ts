// torch.save fixtures (tools/golden/gen_checkpoints.py) against the values torch
// itself reads back (checkpoints.safetensors). Conversions to float32 are exact
// in torch and here, so the comparison is bit-exact (tolerance 0, NaN == NaN, -0 != 0).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readPth, readPthCheckpoint, gatherView } from "../../src/models/load/pth.ts";
import { TorchStorage, TorchTensor } from "../../src/models/load/pickle.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { fixture } from "../golden.ts";

const CHECKPOINTS = fileURLToPath(new URL("../fixtures/checkpoints/", import.meta.url));
const load = (name: string) => new Uint8Array(readFileSync(CHECKPOINTS + name));
const golden = fixture("checkpoints");

function assertExact(actual: Tensor | undefined, expected: Tensor, what: string): void {
  assert.ok(actual, `${what}: missing`);
  assert.equal(actual!.shape, expected.shape, `${what}: shape`); // save_fixture keeps 0-d tensors 0-d ([])
  for (let i = 0; i < expected.size; i++) {
    if (!Object.is(actual!.data[i], expected.data[i]))
      assert.unreachable(`${what}[${i}]: got ${actual!.data[i]}, torch has ${expected.data[i]}`);
  }
}

/** Every "<group>/<name>" tensor of the golden file, by name. */
function expectedGroup(group: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const key of golden.keys) if (key.startsWith(group + "/")) out.set(key.slice(group.length + 1), golden.get(key));
  return out;
}

function assertAllExact(all: Map<string, Tensor>, group: string): void {
  const expected = expectedGroup(group);
  assert.equal([...all.keys()].sort(), [...expected.keys()].sort(), `${group}: names`);
  for (const [name, t] of expected) assertExact(all.get(name), t, `${group} ${name}`);
}

const INTEGER = ["1.num_batches_tracked", "int64", "int32", "uint8", "bool"];

test("basic.pth: every dtype, view and shared storage equals torch's values bit for bit", () => {
  const ckpt = readPthCheckpoint(load("basic.pth"), "basic.pth");
  assert.is(ckpt.prefix, "");
  assert.equal(ckpt.skipped, []);
  assert.equal(
    [...ckpt.tensors.keys()].slice(0, 6),
    ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"],
    "saved order",
  );
  assert.equal([...ckpt.integerTensors.keys()].sort(), [...INTEGER].sort());
  assertAllExact(new Map([...ckpt.tensors, ...ckpt.integerTensors]), "basic");
  assert.is(ckpt.dtypes.get("half"), "float16");
  assert.is(ckpt.dtypes.get("bf16"), "bfloat16");
  assert.is(ckpt.dtypes.get("double"), "float64");
  assert.is(ckpt.dtypes.get("1.num_batches_tracked"), "int64");
  assert.is(ckpt.integerTensors.get("1.num_batches_tracked")!.data[0], 7);
  assert.equal(ckpt.tensors.get("scalar")!.shape, []);
  assert.equal(ckpt.integerTensors.get("1.num_batches_tracked")!.shape, []);
  assert.equal(ckpt.tensors.get("empty")!.shape, [0, 3]);
  // views of one storage come back as separate copies
  assert.ok(ckpt.tensors.get("shared_a")!.data.buffer !== ckpt.tensors.get("shared_b")!.data.buffer);
});

test("readPth returns the float tensors only; unaligned input gives the same values", () => {
  const bytes = load("basic.pth");
  const shifted = new Uint8Array(bytes.length + 1).subarray(1); // byteOffset 1: no Float32Array view possible
  shifted.set(bytes);
  const tensors = readPth(shifted, "shifted.pth");
  for (const name of INTEGER) assert.not.ok(tensors.has(name), name);
  const expected = expectedGroup("basic");
  for (const [name, t] of tensors) assertExact(t, expected.get(name)!, name);
});

test("zip64.pth (re-packed by Python's zipfile with zip64 records) reads the same", () => {
  const ckpt = readPthCheckpoint(load("zip64.pth"), "zip64.pth");
  assertAllExact(new Map([...ckpt.tensors, ...ckpt.integerTensors]), "basic");
});

test("nested.pth: unwraps state_dict -> model; key picks model_ema or any nested dict", () => {
  const ckpt = readPthCheckpoint(load("nested.pth"), "nested.pth");
  assert.is(ckpt.prefix, "state_dict.model");
  assertAllExact(ckpt.tensors, "nested");
  const ema = readPthCheckpoint(load("nested.pth"), "nested.pth", { key: "model_ema" });
  assert.is(ema.prefix, "model_ema");
  assertAllExact(ema.tensors, "nested_ema");
  const optimizer = readPthCheckpoint(load("nested.pth"), "nested.pth", { key: "optimizer.state" });
  assertAllExact(optimizer.tensors, "nested_optimizer");
  assert.equal(optimizer.skipped, ["0.step"]);
  assert.throws(
    () => readPth(load("nested.pth"), "nested.pth", { key: "state_dict.ema" }),
    /pth nested\.pth: no dict at 'state_dict\.ema' \(found nothing; keys there: model\)/,
  );
  assert.throws(() => readPth(load("nested.pth"), "nested.pth", { key: "epoch" }), /no dict at 'epoch' \(found int 3/);
});

test("protocol 5 pickles and nn.Parameter values read like plain tensors", () => {
  assertAllExact(readPth(load("protocol5.pth"), "protocol5.pth"), "protocol5");
  assertAllExact(readPth(load("parameter.pth"), "parameter.pth"), "parameter");
});

test("non-tensor entries are skipped and listed; lists of tensors are flattened by index", () => {
  const ckpt = readPthCheckpoint(load("nontensor.pth"), "nontensor.pth");
  assertAllExact(ckpt.tensors, "nontensor");
  assert.equal(ckpt.skipped, ["note", "step", "lr", "flags", "nested.y", "huge"]);
});

test("forbidden globals are refused by name, naming the file", () => {
  assert.throws(
    () => readPth(load("forbidden_os_system.pth"), "forbidden_os_system.pth"),
    /^pickle: refusing global 'os\.system'.*\(forbidden_os_system\.pth:protocol5\/data\.pkl, byte \d+\)$/,
  );
  assert.throws(
    () => readPth(load("forbidden_reduce.pth"), "forbidden_reduce.pth"),
    /pickle: refusing global 'posix\.system'/,
  );
  assert.throws(
    () => readPth(load("whole_module.pth"), "whole_module.pth"),
    /refusing global 'torch\.nn\.modules\.linear\.Linear'.*save model\.state_dict\(\)/,
  );
});

test("deflated, legacy and TorchScript files are rejected with a reason", () => {
  assert.throws(
    () => readPth(load("deflated.pth"), "deflated.pth"),
    /zip deflated\.pth: entry 'basic\/data\.pkl' uses compression method 8 \(deflate\); torch\.save never compresses/,
  );
  assert.throws(
    () => readPth(load("legacy.pth"), "legacy.pth"),
    /pth legacy\.pth: legacy \(non-zip\) torch\.save format/,
  );
  assert.throws(
    () => readPth(load("torchscript.pt"), "torchscript.pt"),
    /pth torchscript\.pt: this is a TorchScript archive/,
  );
});

test("truncated, corrupt and garbage input fail clearly", () => {
  const bytes = load("basic.pth");
  for (const keep of [bytes.length - 1, bytes.length - 22, bytes.length - 400, 2000, 100, 4]) {
    assert.throws(
      () => readPth(bytes.subarray(0, keep), "cut.pth"),
      /zip cut\.pth: no end-of-central-directory record in \d+ bytes: the file is truncated/,
      `kept ${keep}`,
    );
  }
  assert.throws(
    () => readPth(new Uint8Array(0), "empty.pth"),
    /pth empty\.pth: not a PyTorch zip checkpoint \(0 bytes, starts with nothing\)/,
  );
  const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 255);
  assert.throws(
    () => readPth(garbage, "garbage.bin"),
    /pth garbage\.bin: not a PyTorch zip checkpoint \(300 bytes, starts with 0x0b 0x54/,
  );
  const zipGarbage = garbage.slice();
  zipGarbage.set([0x50, 0x4b, 3, 4]);
  assert.throws(() => readPth(zipGarbage, "fake.zip"), /zip fake\.zip: no end-of-central-directory record.*truncated/);

  // a bad opcode inside data.pkl (its first byte, after the local header and name)
  const corrupt = bytes.slice();
  const pickleStart = 30 + "basic/data.pkl".length + new DataView(corrupt.buffer).getUint16(28, true);
  assert.is(corrupt[pickleStart], 0x80, "data.pkl starts with PROTO");
  corrupt[pickleStart + 2] = 0xff;
  assert.throws(
    () => readPth(corrupt, "corrupt.pth"),
    /pickle: unknown opcode 0xff.*corrupt\.pth:basic\/data\.pkl, byte 2/,
  );
});

test("a view reaching past its storage is an error naming the sizes", () => {
  const storage = new TorchStorage("float32", "0", "cpu", 6);
  const view = new TorchTensor(storage, 2, [2, 3], [3, 1], false); // needs elements 2..7
  assert.throws(
    () =>
      gatherView(new Float32Array(6), view, (m) => {
        throw new Error(m);
      }),
    /view \[2, 3\] with strides \[3, 1\] at offset 2 reaches element 7, but storage '0' has 6 elements/,
  );
  const ok = gatherView(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), view, (m) => {
    throw new Error(m);
  });
  assert.equal([...ok], [2, 3, 4, 5, 6, 7]);
});

test("limits: the float32 byte budget and the tensor count can be set per call", () => {
  const bytes = load("basic.pth");
  assert.ok(readPthCheckpoint(bytes, "basic.pth").tensors.size > 0, "defaults read a normal checkpoint");
  assert.throws(
    () => readPthCheckpoint(bytes, "basic.pth", { maxTensorBytes: 64 }),
    /pth basic\.pth: .* over the budget of 64 for this \d+-byte file/,
  );
  assert.throws(
    () => readPthCheckpoint(bytes, "basic.pth", { maxTensors: 2 }),
    /pth basic\.pth: the state dict holds more than 2 tensors/,
  );
  assert.throws(() => readPthCheckpoint(bytes, "basic.pth", { maxDepth: 0 }), /nests deeper than 0 levels/);
});

test("gatherView checks the view against its storage before allocating", () => {
  const storage = new TorchStorage("float32", "0", "cpu", 4);
  const fail = (m: string): never => {
    throw new Error(m);
  };
  assert.throws(
    () => gatherView(new Float32Array(4), new TorchTensor(storage, 0, [2 ** 40], [1], false), fail),
    /reaches element 1099511627775, but storage '0' has 4 elements/,
  );
  assert.throws(
    () => gatherView(new Float32Array(4), new TorchTensor(storage, 0, [2 ** 30, 2 ** 30], [1, 2 ** 30], false), fail),
    /too large/,
  );
  assert.equal(
    [...gatherView(new Float32Array([5, 6, 7, 8]), new TorchTensor(storage, 1, [2, 2], [0, 1], false), fail)],
    [6, 7, 6, 7],
    "stride 0 inside the storage is fine",
  );
});

test.run();
