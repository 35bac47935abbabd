// The TFLite reader (src/models/load/tflite.ts, flatbuffer.ts) on hostile files built from a tiny
// valid model (tflite_build.ts): truncated at every length, offsets out of range or pointing at
// themselves, huge vector lengths and shapes, indices past their tables, and seeded byte mutations.
// Every one must load (and then run or be refused by the integer path) or be refused with a clean
// one-line error naming the file, within 5 s and 500 MB (the rules of loaders_cases.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readTflite } from "../../src/models/load/tflite.ts";
import { prepareIntegerModel } from "../../src/models/tflite_int.ts";
import { tfliteIntegerModel } from "../../src/models/tflite_file.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { CASE_MEMORY_BYTES, CASE_SECONDS, measure, uncleanError } from "./loaders_cases.ts";
import { Rng, mutateBytes } from "./mutate.ts";
import { tinyConvModel, type TinyOverrides } from "./tflite_build.ts";

const FILE = "tiny.tflite";

/** Reads, prepares and runs a file; returns the logits (a clean refusal throws). */
function load(bytes: Uint8Array): Int32Array {
  const model = prepareIntegerModel(readTflite(bytes, FILE));
  const [, h, w] = model.input.shape;
  return model.run(new Int32Array(h * w * 3).fill(77)).logits;
}

/** Why the outcome of loading `bytes` breaks the rules, or null. */
function judge(bytes: Uint8Array): string | null {
  const m = measure(() => load(bytes));
  if (m.seconds > CASE_SECONDS) return `took ${m.seconds.toFixed(1)} s`;
  if (m.memoryBytes > CASE_MEMORY_BYTES) return `took ${(m.memoryBytes / 2 ** 20).toFixed(0)} MB`;
  return m.threw === undefined ? null : uncleanError(m.threw, FILE);
}

function refusal(bytes: Uint8Array): string {
  try {
    load(bytes);
  } catch (e) {
    const wrong = uncleanError(e, FILE);
    if (wrong) throw new Error(wrong);
    return (e as Error).message;
  }
  throw new Error("the hostile file was accepted");
}

const valid = tinyConvModel().bytes;
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const patched = (at: number, value: number, signed = false) => {
  const b = valid.slice();
  if (signed) view(b).setInt32(at, value, true);
  else view(b).setUint32(at, value >>> 0, true);
  return b;
};
const rootTable = view(valid).getUint32(0, true);

test("the tiny model loads and runs", () => {
  assert.is(load(valid).length, 8);
});

test("the tiny model as a LoadedModel (what a .tflite --proposer / ?proposer= URL gives)", () => {
  const loaded = tfliteIntegerModel(valid, FILE, ["a", "b", "c", "d", "e", "f", "g", "h"]);
  assert.is(loaded.family, "mobilenetv2");
  assert.is(loaded.file.model.numClasses, 8); // no SOFTMAX: the graph output [1, 2, 2, 2] is the logits
  assert.is(loaded.file.labels?.length, 8);
  if (loaded.family === "vit") return;
  const x = new Tensor(new Float32Array(3 * 4 * 4).fill(0.25), [1, 3, 4, 4]);
  assert.equal(loaded.convnet.features(x).shape, [1, 2, 2, 2]);
  assert.is(loaded.convnet.forward(x).size, 8);
});

test("truncated at every length: a clean refusal", () => {
  const failures: string[] = [];
  for (let n = 0; n < valid.length; n++) {
    const wrong = judge(valid.subarray(0, n));
    if (wrong) failures.push(`${n} bytes: ${wrong}`);
  }
  assert.equal(failures.slice(0, 3), []);
  assert.match(refusal(valid.subarray(0, 3)), /too short/);
  assert.match(refusal(valid.subarray(0, valid.length - 40)), /outside the file|runs past the file's end/);
});

test("offsets out of range, self-pointing and cyclic", () => {
  assert.match(refusal(patched(0, 0xfffffff0)), /Model: offset target at byte \d+ .* outside the file's \d+ bytes/);
  assert.match(refusal(patched(rootTable, 2 ** 31 - 1, true)), /Model: vtable at byte -\d+/);
  assert.match(refusal(patched(rootTable, -(2 ** 31), true)), /Model: vtable at byte \d+/);
  // soffset 0: the vtable is the table itself, whose first u16 (the low half of 0) is an invalid size
  assert.match(refusal(patched(rootTable, 0, true)), /vtable size 0/);
  // the root offset pointing at itself (byte 0 read as a table)
  assert.match(refusal(patched(0, 0)), /Model: (vtable|table)/);
  // every uoffset in the file set to 0 (each child points at its own slot) or to 4 (the next word):
  // loops are impossible, every case a clean outcome
  for (let at = 8; at + 4 <= valid.length; at += 4) {
    for (const value of [0, 4, 0xfffffffc]) {
      const wrong = judge(patched(at, value));
      assert.is(wrong, null, `u32 at ${at} = ${value}: ${wrong}`);
    }
  }
});

test("huge vector lengths and shapes, indices past their tables", () => {
  const refuse = (o: TinyOverrides) => refusal(tinyConvModel(o).bytes);
  assert.match(refuse({ inputShape: [1, 65536, 65536, 3] }), /tensor 0 'input': shape .* over the limit of 67108864/);
  assert.match(refuse({ inputShape: [1, -4, 4, 3] }), /negative dimension/);
  assert.match(refuse({ weightBuffer: 9 }), /tensor 1 'weight': buffer 9 of 3 buffers/);
  assert.match(refuse({ weightBuffer: 2 }), /buffer 2 holds 8 bytes, shape \[2, 3, 3, 3\] of uint8 needs 54/);
  assert.match(refuse({ opcodeIndex: 5 }), /opcode_index 5 of 1 operator codes/);
  assert.match(refuse({ convInputs: [0, 7, 2] }), /inputs\[1\]: tensor index 7 of 4 tensors/);
  assert.match(refuse({ paddingCode: 5 }), /padding 5/);
  // a vector length of 2^32 - 1 anywhere a length sits: refused before any allocation
  let lengths = 0;
  for (let at = 8; at + 4 <= valid.length; at += 4) {
    const n = view(valid).getUint32(at, true);
    if (n === 0 || n > 16) continue; // small numbers are the candidates for vector lengths
    const wrong = judge(patched(at, 0xffffffff));
    assert.is(wrong, null, `u32 at ${at}: ${wrong}`);
    lengths++;
  }
  assert.ok(lengths > 10);
});

test("300 seeded byte mutants: load and run, or a clean refusal", () => {
  const rng = new Rng(20261222);
  const failures: string[] = [];
  let refused = 0;
  for (let i = 0; i < 300; i++) {
    const mutant = mutateBytes(valid, rng);
    const wrong = judge(mutant);
    if (wrong) failures.push(`case ${i}: ${wrong}`);
    try {
      load(mutant);
    } catch {
      refused++;
    }
  }
  assert.equal(failures.slice(0, 3), []);
  assert.ok(refused > 0 && refused < 300, `the mutants should mix loads and refusals (${refused} refused)`);
});

test.run();
