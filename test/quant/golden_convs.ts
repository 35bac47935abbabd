// The checks both quantization goldens make of every quantized conv, against the PyTorch / float64
// reference (tools/golden/gen_quant.py, gen_quant_v3.py): power-of-two weight exponents, integer biases
// and the sum of |integer weights| per conv, all exact.
import * as assert from "uvu/assert";
import type { QuantConv } from "../../src/quant/quantized_net.ts";
import type { fixture } from "../golden.ts";

const list = (a: ArrayLike<number>) => Array.from(a);

export function assertConvsMatchGolden(convs: QuantConv[], golden: ReturnType<typeof fixture>, key: string): void {
  assert.equal(
    convs.flatMap((c) => list(c.weightScale).map(Math.log2)),
    list(golden.get(`${key}.weight_exponents`).data),
    "weight exponents",
  );
  assert.equal(
    convs.flatMap((c) => list(c.bias)),
    list(golden.get(`${key}.bias`).data),
    "integer biases",
  );
  assert.equal(
    convs.map((c) => c.weight.reduce((s, v) => s + Math.abs(v), 0)),
    list(golden.get(`${key}.weight_abs_sums`).data),
    "sum of |integer weights| per conv",
  );
}
