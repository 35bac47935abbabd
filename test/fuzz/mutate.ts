// Seeded mutation helpers for the fuzz tests and scripts/fuzz-campaign.ts: a small PRNG, byte-level
// mutations of a file, and value-level mutations of a JSON document (for safetensors headers and
// TF.js manifests). Same seed, same cases.
import { concat } from "./image_inputs.ts";

/** mulberry32: a 32-bit seeded generator, enough to pick mutations reproducibly. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** Values that break parsers: boundaries of the integer types, negative, huge, not a number at all. */
export const HOSTILE_NUMBERS = [
  -1,
  -(2 ** 31),
  0,
  1,
  255,
  2 ** 31 - 1,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  0.5,
  -0.0,
];
const HOSTILE_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x1b];

/** 1 to 4 byte-level mutations of a copy of `bytes`: flips, boundary bytes, 32/64-bit overwrites, truncation, insertion, duplication. */
export function mutateBytes(bytes: Uint8Array, rng: Rng): Uint8Array {
  let out: Uint8Array = bytes.slice();
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const at = rng.below(out.length);
    switch (rng.below(7)) {
      case 0:
        out[at] ^= 1 << rng.below(8);
        break;
      case 1:
        out[at] = rng.pick(HOSTILE_BYTES);
        break;
      case 2:
        writeInt(out, at, 4, rng);
        break;
      case 3:
        writeInt(out, at, 8, rng);
        break;
      case 4:
        out = out.slice(0, at);
        break; // truncate
      case 5: {
        // insert a few bytes
        const extra = Uint8Array.from({ length: 1 + rng.below(16) }, () => rng.below(256));
        out = concatBytes(out.subarray(0, at), extra, out.subarray(at));
        break;
      }
      default: {
        // duplicate a chunk in place
        const length = Math.min(out.length - at, 1 + rng.below(64));
        out = concatBytes(out.subarray(0, at + length), out.subarray(at, at + length), out.subarray(at + length));
      }
    }
  }
  return out;
}

function writeInt(out: Uint8Array, at: number, width: 4 | 8, rng: Rng): void {
  if (at + width > out.length) return;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const value = rng.pick([0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n]);
  if (width === 4) view.setUint32(at, Number(value & 0xffffffffn), true);
  else view.setBigUint64(at, value, true);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts); // always a new buffer: the cases mutate what they build
}

/** Replacement values for a JSON mutation: wrong types, hostile numbers, escaping paths, control characters. */
const HOSTILE_JSON: unknown[] = [
  null,
  true,
  "x",
  "",
  [],
  {},
  [1],
  [-1, 4],
  [0, 2 ** 60],
  "../../../../etc/passwd",
  "/dev/zero",
  "a\u0000b",
  "\u001b[31m\u0007",
  ...HOSTILE_NUMBERS,
];

/** A deep copy of `doc` with 1 to 3 values (anywhere in the tree) replaced, deleted or duplicated. */
export function mutateJson(doc: unknown, rng: Rng): unknown {
  const copy = structuredClone(doc);
  const rounds = 1 + rng.below(3);
  for (let r = 0; r < rounds; r++) {
    const slots = containerSlots(copy);
    if (slots.length === 0) break;
    const [container, key] = rng.pick(slots);
    const op = rng.below(4);
    if (op === 0 && !Array.isArray(container)) delete (container as Record<string, unknown>)[key as string];
    else if (op === 1 && typeof container[key as never] === "number")
      (container as Record<string | number, unknown>)[key] = rng.pick(HOSTILE_NUMBERS);
    else (container as Record<string | number, unknown>)[key] = structuredClone(rng.pick(HOSTILE_JSON));
  }
  return copy;
}

/** Every (container, key) pair of a JSON tree. */
function containerSlots(root: unknown): [object, string | number][] {
  const out: [object, string | number][] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((item, i) => (out.push([node, i]), visit(item)));
    else if (typeof node === "object" && node !== null)
      for (const [k, v] of Object.entries(node)) (out.push([node, k]), visit(v));
  };
  visit(root);
  return out;
}
