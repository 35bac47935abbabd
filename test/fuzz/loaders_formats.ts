// Seeded mutation fuzzing of the checkpoint formats: one valid input per format (built here),
// mutated at the byte level and, for the JSON parts, at the value level. Every mutant must either
// load into well-formed tensors or be refused cleanly (loaders_cases.ts: uncleanError), quickly and
// without a large allocation. The table is by format so scripts/fuzz-campaign.ts can add others.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors } from "../../src/tensor/safetensors.ts";
import { readPthCheckpoint } from "../../src/models/load/pth.ts";
import { readCheckpointFile } from "../../src/models/load/node.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { CASE_MEMORY_BYTES, CASE_SECONDS, measure, uncleanError } from "./loaders_cases.ts";
import { Pickle, float32Bytes, pthBytes, safetensorsBytes, writeTfjsModel } from "./loaders_build.ts";
import { Rng, mutateBytes, mutateJson } from "./mutate.ts";

export interface FuzzFormat {
  name: string;
  /** Builds the case `rng` picks under `dir` (an empty scratch folder) and returns the call that reads it and the file name its errors must mention. */
  mutant(rng: Rng, dir: string): { run: () => unknown; file: string };
  /** Why a successful read is malformed, or null. */
  checkResult(value: unknown): string | null;
}

/** Why the outcome of one mutant is wrong, or null. */
export function judgeMutant(format: FuzzFormat, file: string, run: () => unknown): string | null {
  const m = measure(run);
  if (m.seconds > CASE_SECONDS) return `took ${m.seconds.toFixed(1)} s`;
  if (m.memoryBytes > CASE_MEMORY_BYTES) return `took ${(m.memoryBytes / 2 ** 20).toFixed(0)} MB`;
  return m.threw !== undefined ? uncleanError(m.threw, file) : format.checkResult(m.value);
}

/** Every tensor of a loaded map holds a Float32Array of exactly product(shape) elements. */
function checkTensors(tensors: unknown): string | null {
  if (!(tensors instanceof Map)) return "no tensor map";
  for (const [name, t] of tensors as Map<string, Tensor>) {
    if (!(t instanceof Tensor) || !(t.data instanceof Float32Array)) return `'${name}' is not a float32 tensor`;
    const size = t.shape.reduce((n, d) => n * d, 1);
    if (t.data.length !== size) return `'${name}' has ${t.data.length} values for shape [${t.shape}]`;
  }
  return null;
}

// ---- safetensors: three dtypes and metadata --------------------------------------------------

const SAFETENSORS_HEADER = {
  __metadata__: { format: "pt" },
  a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
  b: { dtype: "F16", shape: [3], data_offsets: [16, 22] },
  c: { dtype: "I64", shape: [1], data_offsets: [22, 30] },
};
const SAFETENSORS_DATA = Uint8Array.from([
  ...float32Bytes([1, -2, 3.5, 0]),
  0x00,
  0x3c,
  0x00,
  0xc0,
  0x01,
  0x00,
  7,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

const safetensorsFormat: FuzzFormat = {
  name: "safetensors",
  mutant: (rng) => {
    const bytes =
      rng.below(2) === 0
        ? mutateBytes(safetensorsBytes(SAFETENSORS_HEADER, SAFETENSORS_DATA), rng)
        : safetensorsBytes(mutateJson(SAFETENSORS_HEADER, rng), SAFETENSORS_DATA);
    // read from inside a larger buffer, as Node's pooled Buffers are: bytes outside the view must stay unread
    const pool = new Uint8Array(bytes.length + 512).fill(0x5a);
    pool.set(bytes, 256);
    return {
      run: () => readSafetensors(pool.subarray(256, 256 + bytes.length), "mutant.safetensors"),
      file: "mutant.safetensors",
    };
  },
  checkResult: (value) => checkTensors((value as { tensors?: unknown }).tensors),
};

// ---- .pth: float32 views (plain, offset, transposed), float16, int64, a non-tensor entry -----

function basePickle(): Uint8Array {
  const p = new Pickle().emptyDict().mark();
  p.str("conv.weight").tensor("0", "FloatStorage", 12, 0, [2, 3], [3, 1]);
  p.str("conv.bias").tensor("0", "FloatStorage", 12, 6, [3], [1]);
  p.str("t").tensor("0", "FloatStorage", 12, 0, [3, 2], [1, 3]);
  p.str("half").tensor("1", "HalfStorage", 2, 0, [2], [1]);
  p.str("steps").tensor("2", "LongStorage", 1, 0, [], []);
  p.str("epoch").int(3);
  return p.setItems().bytes();
}

const PTH_STORAGES = {
  "0": float32Bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  "1": Uint8Array.from([0x00, 0x3c, 0x00, 0xc0]),
  "2": Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0]),
};

const pthFormat: FuzzFormat = {
  name: "pth",
  mutant: (rng) => {
    // mostly the pickle (rebuilt into a valid zip, so the unpickler sees the damage), sometimes the whole archive
    const bytes =
      rng.below(3) === 0
        ? mutateBytes(pthBytes(basePickle(), PTH_STORAGES), rng)
        : pthBytes(mutateBytes(basePickle(), rng), PTH_STORAGES);
    return { run: () => readPthCheckpoint(bytes, "mutant.pth"), file: "mutant.pth" };
  },
  checkResult: (value) =>
    checkTensors((value as { tensors?: unknown }).tensors) ??
    checkTensors((value as { integerTensors?: unknown }).integerTensors),
};

// ---- TF.js: two groups, two shards in the first, a quantized weight ---------------------------

const TFJS_MANIFEST = [
  {
    paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"],
    weights: [
      { name: "conv1/kernel", shape: [1, 1, 2, 2], dtype: "float32" },
      { name: "conv1/bias", shape: [2], dtype: "float32" },
    ],
  },
  {
    paths: ["group2-shard1of1.bin"],
    weights: [
      { name: "dense/kernel", shape: [2, 2], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } },
    ],
  },
];
const TFJS_GROUP1 = float32Bytes([1, 2, 3, 4, 5, 6]);
const TFJS_SHARDS: Record<string, Uint8Array> = {
  "group1-shard1of2.bin": TFJS_GROUP1.subarray(0, 10),
  "group1-shard2of2.bin": TFJS_GROUP1.subarray(10),
  "group2-shard1of1.bin": Uint8Array.from([0, 1, 2, 255]),
};

const tfjsFormat: FuzzFormat = {
  name: "tfjs",
  mutant: (rng, dir) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "..-secret.bin"), new Uint8Array(24)); // a file a mutated path could try to reach
    const shards = { ...TFJS_SHARDS };
    let manifest: unknown = TFJS_MANIFEST;
    if (rng.below(2) === 0) manifest = mutateJson(TFJS_MANIFEST, rng);
    else {
      const name = rng.pick(Object.keys(shards));
      shards[name] = mutateBytes(shards[name], rng);
    }
    const path = writeTfjsModel(join(dir, "model"), manifest, shards);
    return { run: () => readCheckpointFile(path), file: "model.json" };
  },
  checkResult: (value) => checkTensors((value as { tensors?: unknown }).tensors),
};

export const LOADER_FORMATS: FuzzFormat[] = [safetensorsFormat, pthFormat, tfjsFormat];
