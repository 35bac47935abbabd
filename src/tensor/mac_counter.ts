// An optional multiply-accumulate counter. The GEMM-like kernels (matmul,
// linear, conv2d) report their MACs here; it costs one branch per kernel call
// when nobody is counting. Used to measure a proposer's cost once per input size.
let counter: { macs: number } | null = null;

export function addMacs(macs: number): void {
  if (counter) counter.macs += macs;
}

/** Runs `fn` and returns its result with the MACs its kernels reported. */
export function countMacs<T>(fn: () => T): { result: T; macs: number } {
  const outer = counter;
  counter = { macs: 0 };
  try {
    const result = fn();
    const macs = counter.macs;
    if (outer) outer.macs += macs;
    return { result, macs };
  } finally {
    counter = outer;
  }
}
