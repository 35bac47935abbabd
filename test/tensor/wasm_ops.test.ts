// The wasm backend's layer norm, squeeze-excitation and pooling kernels (wasm/op_kernels.ts) against the
// JS kernels (the reference) on shapes with remainders (rows not a multiple of 4 floats, odd planes,
// padding, ceil mode): within 1e-5 of the output's scale (float32 sums against float64).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildModel, familySpec, PRESETS, type ModelFile } from "../../src/models/registry.ts";
import { syntheticWeights } from "../../src/models/synthetic.ts";
import { countMacs } from "../../src/tensor/mac_counter.ts";
import { setBackend, backendName, availableBackends, type BackendName } from "../../src/tensor/backend.ts";
import { layerNorm } from "../../src/tensor/norm.ts";
import { squeezeExcite } from "../../src/tensor/se.ts";
import { declareConstant, invalidateConstant } from "../../src/tensor/constants.ts";
import { avgPool2d, globalAvgPool, maxPool2d } from "../../src/tensor/pooling.ts";
import { syntheticTensor } from "../../src/tensor/random.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose } from "../golden.ts";
import { skipUnless } from "../skip.ts";

const TOL = 1e-5;
const wasmTest = skipUnless(availableBackends().includes("wasm"), "WebAssembly SIMD does not validate here");

/** f on the js backend and on wasm, the backend restored afterwards. */
function onBoth(f: () => Tensor): { js: Tensor; wasm: Tensor } {
  const before: BackendName = backendName();
  try {
    setBackend("js");
    const js = f();
    setBackend("wasm");
    return { js, wasm: f() };
  } finally {
    setBackend(before);
  }
}

wasmTest("layerNorm: wasm matches js (D = 384, 7, 1; with and without weight / bias)", () => {
  for (const [rows, D] of [
    [5, 384],
    [3, 7],
    [4, 1],
    [197, 192],
  ]) {
    const x = syntheticTensor(`ln.x${D}`, [rows, D], 2);
    const w = syntheticTensor(`ln.w${D}`, [D], 1);
    const b = syntheticTensor(`ln.b${D}`, [D], 1);
    for (const [weight, bias] of [
      [w, b],
      [null, null],
    ] as const) {
      const { js, wasm } = onBoth(() => layerNorm(x, weight, bias, 1e-6));
      assertClose(wasm, js, TOL, `layerNorm [${rows}, ${D}]`);
    }
  }
});

wasmTest("squeezeExcite (relu, hardsigmoid): wasm matches js, planes of 7x7, 14x14, 1x1, batch 2", () => {
  for (const [N, C, H, Cr] of [
    [1, 96, 7, 24],
    [1, 72, 14, 24],
    [2, 5, 3, 3],
    [1, 16, 1, 8],
  ]) {
    const x = syntheticTensor(`se.x${C}`, [N, C, H, H], 2);
    const p = {
      reduceWeight: syntheticTensor(`se.rw${C}`, [Cr, C, 1, 1], 0.5),
      reduceBias: syntheticTensor(`se.rb${C}`, [Cr], 0.5),
      expandWeight: syntheticTensor(`se.ew${C}`, [C, Cr, 1, 1], 0.5),
      expandBias: syntheticTensor(`se.eb${C}`, [C], 0.5),
    };
    const { js, wasm } = onBoth(() => squeezeExcite(x, p));
    assertClose(wasm, js, TOL, `squeezeExcite [${N}, ${C}, ${H}, ${H}]`);
    const noBias = { ...p, reduceBias: null, expandBias: null };
    const both = onBoth(() => squeezeExcite(x, noBias));
    assertClose(both.wasm, both.js, TOL, `squeezeExcite without biases [${N}, ${C}, ${H}, ${H}]`);
  }
});

wasmTest("squeezeExcite with weights declared constant: copied once, read again after invalidateConstant", () => {
  const x = syntheticTensor("se.const.x", [1, 24, 7, 7], 2);
  const p = {
    reduceWeight: syntheticTensor("se.const.rw", [8, 24, 1, 1], 0.5),
    reduceBias: syntheticTensor("se.const.rb", [8], 0.5),
    expandWeight: syntheticTensor("se.const.ew", [24, 8, 1, 1], 0.5),
    expandBias: syntheticTensor("se.const.eb", [24], 0.5),
  };
  declareConstant(p.reduceWeight, p.reduceBias, p.expandWeight, p.expandBias);
  const first = onBoth(() => squeezeExcite(x, p));
  assertClose(first.wasm, first.js, TOL, "declared weights");
  assertClose(onBoth(() => squeezeExcite(x, p)).wasm, first.js, TOL, "second call, from the persistent copy");
  for (const t of Object.values(p)) {
    t.data.fill(0.25); // changed in place, then invalidated: the contract of constants.ts
    invalidateConstant(t);
  }
  const changed = onBoth(() => squeezeExcite(x, p));
  assertClose(changed.wasm, changed.js, TOL, "after invalidateConstant");
  assert.ok(Math.abs(changed.js.data[0] - first.js.data[0]) > 1e-3, "the change reaches the output");
});

wasmTest("globalAvgPool, maxPool2d, avgPool2d: wasm matches js (padding, ceil mode, countIncludePad)", () => {
  const x = syntheticTensor("pool.x", [2, 3, 11, 9], 2);
  const pooled = onBoth(() => globalAvgPool(x));
  assertClose(pooled.wasm, pooled.js, TOL, "globalAvgPool");
  for (const opts of [
    { kernel: 3, stride: 2, padding: 1 },
    { kernel: 2 },
    { kernel: 3, stride: 2, padding: 1, ceilMode: true },
    { kernel: [3, 2] as [number, number], stride: 1, padding: [1, 0] as [number, number] },
    { kernel: 3, stride: 2, padding: "same" as const },
  ]) {
    const max = onBoth(() => maxPool2d(x, opts));
    assertClose(max.wasm, max.js, TOL, `maxPool2d ${JSON.stringify(opts)}`);
    for (const countIncludePad of [true, false]) {
      const avg = onBoth(() => avgPool2d(x, { ...opts, countIncludePad }));
      assertClose(avg.wasm, avg.js, TOL, `avgPool2d ${JSON.stringify(opts)} countIncludePad ${countIncludePad}`);
    }
  }
});

wasmTest("maxPool2d on wasm: NaN propagates as in torch", () => {
  const x = syntheticTensor("pool.nan", [1, 1, 4, 4], 1);
  x.data[5] = NaN;
  const { wasm } = onBoth(() => maxPool2d(x, { kernel: 2 }));
  if (!Number.isNaN(wasm.data[0]) || Number.isNaN(wasm.data[1])) throw new Error(`NaN window: ${wasm.data}`);
});

// MACs are part of PaPr's printout: every wasm kernel must count what its JS composition counts.
wasmTest("the proposers' MACs are the same on js and wasm (MobileNetV3-small, ResNet-18, MobileOne-S0)", () => {
  const x = syntheticTensor("macs.x", [1, 3, 224, 224], 1);
  for (const name of ["mobilenetv3_small_100", "resnet18", "mobileone_s0"]) {
    const preset = PRESETS[name];
    const file = {
      format: "papr-ts/1",
      arch: name,
      family: preset.family,
      model: preset.model,
      preprocess: preset.preprocess,
    };
    const model = buildModel(file as ModelFile, syntheticWeights(familySpec(preset.family, preset.model)));
    if (!("convnet" in model)) throw new Error(`${name} is not a ConvNet`);
    const counted: Record<string, number> = {};
    const before: BackendName = backendName();
    try {
      for (const backend of ["js", "wasm"] as const) {
        setBackend(backend);
        counted[backend] = countMacs(() => model.convnet.features(x)).macs;
      }
    } finally {
      setBackend(before);
    }
    assert.is(counted.wasm, counted.js, `${name}: MACs on wasm vs js`);
  }
});

test.run();
