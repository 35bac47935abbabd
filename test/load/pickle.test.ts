import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { unpickle, PyTuple, PickleError, type PyValue } from "../../src/models/load/pickle.ts";

const CHECKPOINTS = fileURLToPath(new URL("../fixtures/checkpoints/", import.meta.url));

/** A JSON-comparable form: dict -> [[key, value], ...], tuple -> { tuple }, bigint -> { int: "..." }. */
function plain(v: PyValue): unknown {
  if (v instanceof Map) return [...v].map(([k, x]) => [plain(k), plain(x)]);
  if (v instanceof PyTuple) return { tuple: v.items.map(plain) };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "bigint") return { int: v.toString() };
  if (v instanceof Uint8Array) return { bytes: [...v] };
  return v;
}

// The object tools/golden/gen_checkpoints.py pickles with CPython (plain_object()), spelled out.
const PLAIN = [
  ["a", 1],
  [
    "numbers",
    [
      0,
      255,
      256,
      65535,
      65536,
      -1,
      -129,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 40,
      { int: (-(2n ** 70n)).toString() },
      { int: (2n ** 64n).toString() },
    ],
  ],
  ["floats", [0.5, -1e-300, 1e300, Infinity]],
  ["flags", [true, false, null]],
  ["text", { tuple: ["x", "\u00fc\u20ac\u{1F600}", ""] }],
  ["empty", [[], [], { tuple: [] }]],
  ["nested", [["k", [["deep", { tuple: [1] }]]]]],
  ["s1", [7]],
  ["s2", [7]],
  [65536, "int key"],
  ["many", Array.from({ length: 300 }, (_, i) => `s${i}`)],
];

for (const protocol of [2, 3, 4, 5]) {
  test(`unpickles CPython's protocol ${protocol} encoding of a plain object`, () => {
    const value = unpickle(readFileSync(`${CHECKPOINTS}plain_p${protocol}.pkl`), `plain_p${protocol}.pkl`);
    assert.equal(plain(value), PLAIN);
    const dict = value as Map<PyValue, PyValue>;
    assert.ok(dict.get("s1") === dict.get("s2"), "memoised objects keep their identity (BINGET / memo)");
  });
}

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

test("refuses GLOBAL os.system, naming it, before anything is called", () => {
  // {"x": os.system("echo!")} in protocol 2, written out opcode by opcode
  const evil = bytes(
    [0x80, 2, 0x7d],
    "X",
    [1, 0, 0, 0],
    "x",
    "cos\nsystem\n",
    "X",
    [5, 0, 0, 0],
    "echo!",
    [0x85, 0x52, 0x73],
    ".",
  );
  assert.throws(
    () => unpickle(evil, "evil.pkl"),
    (e: Error) =>
      e instanceof PickleError &&
      /^pickle: refusing global 'os\.system'/.test(e.message) &&
      /evil\.pkl, byte 9\)/.test(e.message),
  );
});

test("refuses STACK_GLOBAL builtins.eval and other constructors", () => {
  const evil = bytes([0x80, 4, 0x8c, 8], "builtins", [0x8c, 4], "eval", [0x93, 0x2e]);
  assert.throws(() => unpickle(evil), /refusing global 'builtins\.eval'/);
  assert.throws(
    () => unpickle(bytes([0x80, 2], "cnumpy.core.multiarray\nscalar\n.")),
    /refusing global 'numpy\.core\.multiarray\.scalar'/,
  );
});

test("refused and unknown opcodes, truncation, stack and memo errors are clear", () => {
  assert.throws(() => unpickle(bytes([0x80, 2], "i__main__\nX\n.")), /opcode INST \(0x69\) is not supported/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0xff])), /unknown opcode 0xff/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x58, 10, 0, 0, 0], "abc")), /truncated: needs 10 more bytes/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x4e])), /ended after 3 bytes without STOP/);
  assert.throws(() => unpickle(new Uint8Array(0)), /ended after 0 bytes without STOP/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x2e])), /stack underflow/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x68, 3, 0x2e])), /memo key 3 was never stored/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x4e, 0x29, 0x52, 0x2e])), /cannot call None/);
  assert.throws(() => unpickle(bytes([0x80, 9, 0x4e, 0x2e])), /unsupported pickle protocol 9/);
  assert.throws(() => unpickle(bytes([0x80, 2, 0x58, 2, 0, 0, 0, 0xc3, 0x28, 0x2e])), /not valid UTF-8/);
});

test("bytes, LONG1 / BINFLOAT edge values and DUP / POP / POP_MARK", () => {
  // [b"\x00\xff", -1 (LONG1 0xff), -0.0, DUP'd 5], with POP and POP_MARK discarding values
  const pickle = bytes([
    0x80, 3, 0x5d, 0x28, 0x43, 2, 0x00, 0xff, 0x8a, 1, 0xff, 0x47, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x4b, 5, 0x32, 0x4b, 9,
    0x30, 0x28, 0x4e, 0x31, 0x65, 0x2e,
  ]);
  const value = unpickle(pickle) as PyValue[];
  assert.equal(plain(value), [{ bytes: [0, 255] }, -1, -0, 5, 5]);
  assert.ok(Object.is(value[2], -0));
});

test.run();
