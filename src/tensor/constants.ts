// Weights declared constant: a backend may keep a transformed copy of them (the wasm backend packs
// GEMM operands into its memory once) and use it until told otherwise. Models declare their weights at
// construction (checkWeights, foldConvBn) and treat them as immutable from then on; whoever changes a
// declared tensor's values in place afterwards calls invalidateConstant(tensor), and the next use
// transforms it again. Arrays never declared are read afresh on every call.
//
//   declareConstant(weight);          // weight.data is not going to change
//   weight.data[0] = 1;               // ... unless you change it:
//   invalidateConstant(weight);       // every cached copy of it is dropped
import type { Tensor } from "./tensor.ts";

type Data = Tensor["data"];

const constants = new WeakSet<Data>();
const listeners: ((data: Data) => void)[] = [];

/** Declares the tensors' values constant from now on (views sharing the same array count as the same). */
export function declareConstant(...tensors: Tensor[]): void {
  for (const t of tensors) constants.add(t.data);
}

/** Whether `data` (a tensor's array) was declared constant. */
export function isConstant(data: object): boolean {
  return constants.has(data as Data);
}

/** Drops every cached copy of a declared tensor (call after changing its values in place); it stays declared. */
export function invalidateConstant(t: Tensor): void {
  for (const forget of listeners) forget(t.data);
}

/** A cache of transformed constants registers here to hear of invalidations. */
export function onInvalidateConstant(forget: (data: Data) => void): void {
  listeners.push(forget);
}
