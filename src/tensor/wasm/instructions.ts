// Small builders shared by the kernels of layout_kernel.ts, norm_kernel.ts, se_kernel.ts and
// pool_kernel.ts: local access, constants, address arithmetic and counted loops as instruction lists.
import type { Instruction } from "./assembler.ts";

export const get = (i: number): Instruction => ["local.get", i];
export const set = (i: number): Instruction => ["local.set", i];
export const tee = (i: number): Instruction => ["local.tee", i];
export const i32 = (v: number): Instruction => ["i32.const", v];
export const f32 = (v: number): Instruction => ["f32.const", v];
export const splat = (v: number): Instruction[] => [f32(v), ["f32x4.splat"]];

/** local = local + step (an i32 constant or another local's value when `stepLocal`). */
export const addTo = (local: number, step: number): Instruction[] => [get(local), i32(step), ["i32.add"], set(local)];
export const addLocal = (local: number, stepLocal: number): Instruction[] => [
  get(local),
  get(stepLocal),
  ["i32.add"],
  set(local),
];

/** base + index * scale (bytes), left on the stack. */
export const address = (base: number, index: number, scale: number): Instruction[] => [
  get(base),
  get(index),
  i32(scale),
  ["i32.mul"],
  ["i32.add"],
];

/**
 * for (i = from; i < limit; i++) body  — `from` is an i32 constant, `limit` a local; the body runs
 * only when from < limit.
 */
export function forRange(i: number, from: number, limit: number, body: Instruction[]): Instruction[] {
  return forRangeOf(i, [i32(from)], limit, body);
}

/** for (i = <start on stack>; i < limit; i++) body. */
export function forRangeOf(i: number, start: Instruction[], limit: number, body: Instruction[]): Instruction[] {
  return forStep(i, start, limit, 1, body);
}

/** for (i = <start on stack>; i < limit; i += step) body. */
export function forStep(
  i: number,
  start: Instruction[],
  limit: number,
  step: number,
  body: Instruction[],
): Instruction[] {
  return [
    ...start,
    set(i),
    ["block"],
    get(i),
    get(limit),
    ["i32.ge_s"],
    ["br_if", 0],
    ["loop"],
    ...body,
    get(i),
    i32(step),
    ["i32.add"],
    tee(i),
    get(limit),
    ["i32.lt_s"],
    ["br_if", 0],
    ["end"],
    ["end"],
  ];
}

/** Sum of the four lanes of the v128 on the stack (into scalar f32 on the stack); `v` is a scratch v128 local. */
export function horizontalSum(v: number): Instruction[] {
  return [
    set(v),
    get(v),
    ["f32x4.extract_lane", 0],
    get(v),
    ["f32x4.extract_lane", 1],
    ["f32.add"],
    get(v),
    ["f32x4.extract_lane", 2],
    get(v),
    ["f32x4.extract_lane", 3],
    ["f32.add"],
    ["f32.add"],
  ];
}
