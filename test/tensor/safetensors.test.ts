import { test } from "uvu";
import * as assert from "uvu/assert";
import { readSafetensors, writeSafetensors, halfToFloat } from "../../src/tensor/safetensors.ts";
import { tensor } from "../../src/tensor/tensor.ts";

test("safetensors write -> read round trip keeps names, shapes, values and metadata", () => {
  const a = tensor([1, -2.5, 3e-8, 4], [2, 2]);
  const b = tensor([7], [1]);
  const bytes = writeSafetensors({ "b.weight": b, "a.bias": a }, { arch: "test" });
  const file = readSafetensors(bytes);
  assert.equal([...file.tensors.keys()].sort(), ["a.bias", "b.weight"]);
  assert.equal(file.tensors.get("a.bias")!.shape, [2, 2]);
  assert.equal([...file.tensors.get("a.bias")!.data], [...a.data]);
  assert.equal(file.metadata.arch, "test");
});

test("safetensors: truncated file names the tensor and the sizes", () => {
  const bytes = writeSafetensors({ w: tensor([1, 2, 3, 4], [4]) });
  assert.throws(
    () => readSafetensors(bytes.subarray(0, bytes.length - 3), "w.safetensors"),
    /w\.safetensors.*'w'.*truncated/,
  );
  assert.throws(() => readSafetensors(new Uint8Array(4), "tiny"), /too short/);
});

test("half floats decode exactly", () => {
  assert.is(halfToFloat(0x3c00), 1);
  assert.is(halfToFloat(0xc000), -2);
  assert.is(halfToFloat(0x0001), 2 ** -24);
  assert.is(halfToFloat(0x7c00), Infinity);
});

test("safetensors limits: tensor count and header size can be set per call", () => {
  const bytes = writeSafetensors({ a: tensor([1], [1]), b: tensor([2], [1]), c: tensor([3], [1]) });
  assert.is(readSafetensors(bytes, "three.safetensors").tensors.size, 3);
  assert.throws(
    () => readSafetensors(bytes, "three.safetensors", { maxTensors: 2 }),
    /three\.safetensors: header declares 3 tensors, over the limit of 2/,
  );
  assert.throws(
    () => readSafetensors(bytes, "three.safetensors", { maxHeaderBytes: 16 }),
    /header length \d+ is over the limit of 16 bytes/,
  );
});

test.run();
