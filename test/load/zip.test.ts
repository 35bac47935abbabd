import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readZip, isZip } from "../../src/models/load/zip.ts";

const CHECKPOINTS = fileURLToPath(new URL("../fixtures/checkpoints/", import.meta.url));
const load = (name: string) => new Uint8Array(readFileSync(CHECKPOINTS + name));

test("reads torch.save's stored entries (data descriptors, 64-byte aligned data)", () => {
  const zip = readZip(load("basic.pth"), "basic.pth");
  assert.ok(zip.entries.has("basic/data.pkl"));
  assert.ok(zip.entries.has("basic/version"));
  assert.is(new TextDecoder().decode(zip.read("basic/version")).trim(), "3");
  for (const entry of zip.entries.values()) {
    assert.is(entry.method, 0);
    if (entry.size > 0) assert.is(entry.flags & 8, 8, "torch writes a data descriptor, so local sizes are zero");
    if (entry.name.includes("/data/"))
      assert.is(zip.read(entry.name).byteOffset % 64, 0, `${entry.name} data is 64-byte aligned`);
  }
  assert.is(zip.read("basic/data.pkl")[0], 0x80, "a pickle starts with PROTO");
});

test("zip64 records and extra fields (Python's zipfile, forced) give the same entries and bytes", () => {
  const plain = readZip(load("basic.pth"), "basic.pth");
  const bytes = load("zip64.pth");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const end = bytes.length - 22;
  assert.is(view.getUint32(end, true), 0x06054b50);
  assert.is(view.getUint32(end - 20, true), 0x07064b50, "a zip64 locator precedes the end record");
  view.setUint16(end + 10, 0xffff, true); // saturate the 16-bit entry count: only the zip64 record has it now
  view.setUint16(end + 8, 0xffff, true);
  const zip64 = readZip(bytes, "zip64.pth");
  assert.equal([...zip64.entries.keys()], [...plain.entries.keys()]);
  assert.ok(
    [...zip64.entries.values()].some((e) => e.localHeaderOffset > 64),
    "offsets come from zip64 extras",
  );
  for (const name of plain.entries.keys()) assert.equal([...zip64.read(name)], [...plain.read(name)], name);
});

test("missing entries, non-zip and truncated input are reported with the source", () => {
  const bytes = load("basic.pth");
  const zip = readZip(bytes, "basic.pth");
  assert.throws(() => zip.read("basic/nope"), /zip basic\.pth: no entry 'basic\/nope' \(entries: basic\/data\.pkl/);
  assert.not.ok(isZip(new Uint8Array([0x50, 0x4b])));
  assert.throws(
    () => readZip(new Uint8Array(10), "zeros"),
    /zip zeros: not a zip archive \(no end-of-central-directory record in 10 bytes\)/,
  );
  // keep the end record but drop bytes before it: the central directory now points past the end
  const cut = new Uint8Array(bytes.length - 100);
  cut.set(bytes.subarray(0, bytes.length - 122));
  cut.set(bytes.subarray(bytes.length - 22), cut.length - 22);
  assert.throws(
    () => readZip(cut, "cut.pth"),
    /zip cut\.pth: central directory \(bytes \d+\.\.\d+\) lies past the end of the \d+-byte file: truncated/,
  );
});

test.run();
