// squeezeExcite against a torch module written like timm's SqueezeExcite (gen_conv_kernels.py).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { squeezeExcite, type SqueezeExciteParams } from "../../src/tensor/se.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import { ShapeError, tensor, zeros } from "../../src/tensor/tensor.ts";
import { assertClose, fixture } from "../golden.ts";
import { assertSameCases, throwsShapeError, throwsWith } from "./golden_cases.ts";

const golden = fixture("kernel_squeeze_excite");
const TOL = 1e-5; // float32 kernel

// SE_CASES of gen_conv_kernels.py: name, reduced channels, activation, gate
const CASES: [string, number, "relu" | "silu", "hardsigmoid" | "sigmoid"][] = [
  ["relu_hardsigmoid", 4, "relu", "hardsigmoid"],
  ["silu_sigmoid", 2, "silu", "sigmoid"],
  ["one_pixel", 3, "relu", "hardsigmoid"],
];

function params(name: string, C: number, Cr: number): SqueezeExciteParams {
  return {
    reduceWeight: syntheticTensor(`se.${name}.reduceWeight`, [Cr, C, 1, 1], 3),
    reduceBias: syntheticTensor(`se.${name}.reduceBias`, [Cr], 0.5),
    expandWeight: syntheticTensor(`se.${name}.expandWeight`, [C, Cr, 1, 1], 3),
    expandBias: syntheticTensor(`se.${name}.expandBias`, [C], 0.5),
  };
}

test("the fixture has exactly the cases of this table", () => {
  assertSameCases(
    golden.keys,
    CASES.map(([n]) => n),
  );
});

for (const [name, Cr, activation, gate] of CASES) {
  test(`squeezeExcite ${name} matches torch`, () => {
    const x = golden.get(`${name}.x`);
    const out = squeezeExcite(x, { ...params(name, x.shape[1], Cr), activation, gate });
    assertClose(out, golden.get(`${name}.out`), TOL, name);
  });
}

test("squeezeExcite by hand: defaults are relu + hardsigmoid", () => {
  // one channel, mean 2: reduce -> 2*1 + 0 = 2, relu -> 2, expand -> 2*1.5 - 3 = 0, hardsigmoid(0) = 0.5
  const x = tensor([1, 3], [1, 1, 1, 2]);
  const p: SqueezeExciteParams = {
    reduceWeight: tensor([1], [1, 1, 1, 1]),
    reduceBias: null,
    expandWeight: tensor([1.5], [1, 1, 1, 1]),
    expandBias: tensor([-3], [1]),
  };
  assert.equal([...squeezeExcite(x, p).data], [0.5, 1.5]);
});

test("squeezeExcite errors name the op, the parameter and the shapes", () => {
  const x = zeros([1, 8, 3, 3]);
  const p = params("errors", 8, 4);
  throwsShapeError(
    () => squeezeExcite(x, { ...p, reduceWeight: zeros([4, 6, 1, 1]) }),
    "squeezeExcite",
    "reduceWeight",
    "[4, 8, 1, 1]",
    "[4, 6, 1, 1]",
  );
  throwsShapeError(
    () => squeezeExcite(x, { ...p, expandWeight: zeros([8, 3, 1, 1]) }),
    "squeezeExcite",
    "expandWeight",
    "[8, 4, 1, 1]",
    "[8, 3, 1, 1]",
  );
  throwsShapeError(
    () => squeezeExcite(x, { ...p, expandBias: zeros([4]) }),
    "squeezeExcite",
    "expandBias",
    "[8]",
    "[4]",
  );
  throwsShapeError(() => squeezeExcite(zeros([8, 3, 3]), p), "squeezeExcite", "x must have rank 4");
  throwsWith(RangeError, () => squeezeExcite(x, { ...p, gate: "tanh" as never }), ["squeezeExcite", "gate", "tanh"]);
  throwsWith(RangeError, () => squeezeExcite(x, { ...p, activation: "toString" as never }), [
    "squeezeExcite",
    "activation",
  ]);
  assert.ok(!(new RangeError("x") instanceof ShapeError));
});

test.run();
