// src/tensor/fixed_point.ts against the definitions written with BigInt (exact 64-bit integers), on
// extreme and seeded random values: the double-based splitting must equal the int64 arithmetic.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from "../../src/tensor/fixed_point.ts";
import { Mulberry32 as Random } from "../../src/tensor/random.ts";

const MIN = -(2 ** 31);
const MAX = 2 ** 31 - 1;

function srdhmBig(a: number, b: number): number {
  if (a === MIN && b === MIN) return MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, as C++
}

function rdbpBig(x: number, e: number): number {
  const mask = (1n << BigInt(e)) - 1n;
  const bx = BigInt(x);
  const remainder = bx & mask;
  const threshold = (mask >> 1n) + (bx < 0n ? 1n : 0n);
  return Number((bx >> BigInt(e)) + (remainder > threshold ? 1n : 0n));
}

const EXTREMES = [
  MIN,
  MIN + 1,
  -65537,
  -65536,
  -65535,
  -3,
  -2,
  -1,
  0,
  1,
  2,
  3,
  32767,
  32768,
  65535,
  65536,
  MAX - 1,
  MAX,
];

test("saturatingRoundingDoublingHighMul equals the int64 definition", () => {
  const rng = new Random(7);
  const int32 = () => rng.nextUint32() | 0;
  const pairs: [number, number][] = [];
  for (const a of EXTREMES) for (const b of EXTREMES) pairs.push([a, b]);
  for (let i = 0; i < 20000; i++) pairs.push([int32(), int32()]);
  for (let i = 0; i < 20000; i++)
    pairs.push([int32() >> Math.floor(rng.uniform() * 31), 2 ** 30 + Math.floor(rng.uniform() * 2 ** 30)]);
  for (const [a, b] of pairs) assert.is(saturatingRoundingDoublingHighMul(a, b), srdhmBig(a, b), `SRDHM(${a}, ${b})`);
});

test("roundingDivideByPOT equals the int64 definition (ties away from zero)", () => {
  const rng = new Random(8);
  for (let e = 0; e <= 31; e++) {
    for (const x of EXTREMES) assert.is(roundingDivideByPOT(x, e), rdbpBig(x, e), `RDBP(${x}, ${e})`);
    for (let i = 0; i < 500; i++) {
      const x = rng.nextUint32() | 0;
      assert.is(roundingDivideByPOT(x, e), rdbpBig(x, e), `RDBP(${x}, ${e})`);
    }
  }
  assert.is(roundingDivideByPOT(5, 1), 3); // 2.5 -> 3
  assert.is(roundingDivideByPOT(-5, 1), -3); // -2.5 -> -3
  assert.is(roundingDivideByPOT(-3, 2), -1); // -0.75 -> -1
});

test("quantizeMultiplier: M = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)", () => {
  assert.equal(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
  assert.equal(quantizeMultiplier(0.5), { multiplier: 2 ** 30, shift: 0 });
  assert.equal(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
  assert.equal(quantizeMultiplier(1 - 2 ** -40), { multiplier: 2 ** 30, shift: 1 }); // rounds up to 2^31
  assert.equal(quantizeMultiplier(2 ** -40), { multiplier: 0, shift: 0 }); // shift < -31
  const rng = new Random(9);
  for (let i = 0; i < 2000; i++) {
    const m = rng.uniform() * 2 ** (Math.floor(rng.uniform() * 40) - 30);
    const q = quantizeMultiplier(m);
    if (q.multiplier === 0) continue;
    assert.ok(q.multiplier >= 2 ** 30 && q.multiplier < 2 ** 31 && Number.isInteger(q.multiplier));
    assert.ok(Math.abs(q.multiplier * 2 ** (q.shift - 31) - m) <= 2 ** (q.shift - 32), `M = ${m}`);
  }
  assert.throws(() => quantizeMultiplier(-1), /not a finite value >= 0/);
});

test("multiplyByQuantizedMultiplier: x * M rounded, as the int64 composition", () => {
  const rng = new Random(10);
  for (let i = 0; i < 5000; i++) {
    const x = Math.floor(rng.uniform() * 2 ** 24) - 2 ** 23;
    const { multiplier, shift } = quantizeMultiplier(rng.uniform() * 2 ** -Math.floor(rng.uniform() * 12));
    const expected = rdbpBig(srdhmBig(x * 2 ** Math.max(shift, 0), multiplier), Math.max(-shift, 0));
    assert.is(multiplyByQuantizedMultiplier(x, multiplier, shift), expected);
  }
  assert.throws(() => multiplyByQuantizedMultiplier(2 ** 30, 2 ** 30, 3), /overflows int32/);
});

test.run();
