import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCheckpointFile } from "../../src/models/load/node.ts";
import { sharedDir } from "../golden.ts";
import { skipUnless } from "../skip.ts";
import { writeSafetensors } from "../../src/tensor/safetensors.ts";
import { tensor } from "../../src/tensor/tensor.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "papr-load-"));

test("dispatches by content, not by extension", () => {
  const renamed = join(scratch, "weights.bin"); // a torch zip under a neutral name
  copyFileSync(join(FIXTURES, "checkpoints/nested.pth"), renamed);
  const pth = readCheckpointFile(renamed);
  assert.is(pth.format, "pth");
  assert.is(pth.pth!.prefix, "state_dict.model");
  assert.equal([...pth.tensors.keys()], ["fc.weight", "fc.bias"]);
  assert.is(readCheckpointFile(join(FIXTURES, "checkpoints/basic.pth")).pth!.integerTensors.size, 5);
  assert.is(
    readCheckpointFile(join(FIXTURES, "checkpoints/nested.pth"), { key: "model_ema" }).pth!.prefix,
    "model_ema",
  );

  const st = readCheckpointFile(join(FIXTURES, "random.safetensors"));
  assert.is(st.format, "safetensors");
  assert.ok(st.tensors.has("synthetic_seed7"));

  // a safetensors header length of 128 + 256k makes the first byte 0x80, like a pickle's PROTO
  let note = "";
  let bytes = writeSafetensors({ w: tensor([1.5, -2], [2]) }, { note });
  while (bytes[0] !== 0x80) bytes = writeSafetensors({ w: tensor([1.5, -2], [2]) }, { note: (note += "x") });
  const odd = join(scratch, "odd.safetensors");
  writeFileSync(odd, bytes);
  assert.equal([...readCheckpointFile(odd).tensors.get("w")!.data], [1.5, -2]);
});

skipUnless(sharedDir(), "../shared absent")("TF.js model.json: shards are read beside it", () => {
  const m = readCheckpointFile(join(sharedDir()!, "weights/darknet_tiny_tfjs/model.json"));
  assert.is(m.format, "tfjs");
  assert.is(m.tensors.size, 77);
  assert.ok(m.tfjs!.topology.model_config);
});

test("errors name the file: missing, garbage, wrong JSON, missing shard, legacy", () => {
  assert.throws(
    () => readCheckpointFile(join(scratch, "nope.pth")),
    /checkpoint .*nope\.pth: cannot read .*nope\.pth \(ENOENT\)/,
  );
  const garbage = join(scratch, "garbage.pth");
  writeFileSync(garbage, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  assert.throws(
    () => readCheckpointFile(garbage),
    /checkpoint .*garbage\.pth: unrecognised format \(first bytes: 01 02 03 04 05 06 07 08\)/,
  );
  const empty = join(scratch, "empty.pth");
  writeFileSync(empty, new Uint8Array(0));
  assert.throws(() => readCheckpointFile(empty), /empty\.pth: unrecognised format \(first bytes: none, empty file\)/);
  const json = join(scratch, "config.json");
  writeFileSync(json, JSON.stringify({ hidden_size: 768 }));
  assert.throws(() => readCheckpointFile(json), /config\.json: JSON file without modelTopology and weightsManifest/);
  const broken = join(scratch, "broken.json");
  writeFileSync(broken, "{ not json");
  assert.throws(() => readCheckpointFile(broken), /broken\.json: looks like JSON but does not parse/);
  const model = join(scratch, "model.json");
  writeFileSync(
    model,
    JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["group1-shard1of1"], weights: [] }] }),
  );
  assert.throws(
    () => readCheckpointFile(model),
    /checkpoint .*model\.json \(weight shard 'group1-shard1of1'\): cannot read .*group1-shard1of1 \(ENOENT\)/,
  );
  assert.throws(
    () => readCheckpointFile(join(FIXTURES, "checkpoints/legacy.pth")),
    /pth .*legacy\.pth: legacy \(non-zip\) torch\.save format/,
  );
  assert.throws(() => readCheckpointFile(scratch), /checkpoint .*papr-load-\w+: .* is a directory, not a regular file/);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
