// Typed-array bytes allocated by one forward (run by bench.ts in a fresh process, because counting
// replaces the global typed-array constructors, which would slow down the timed runs): every
// Float32Array / Float64Array / Int32Array / Uint8Array created with a length or from values counts
// its bytes, and so does every typed array made by slice / map / filter (they bypass the global
// constructors); views over an existing buffer (subarray) do not. argv[2]: backend (js | wasm).
// Prints one line per case: "alloc model=<m> z=<z> bytes=<n>".
import { createVit, vitConfig, vitSpec } from "../src/models/vit.ts";
import { createMobileNetV3, mobilenetV3Spec } from "../src/models/mobilenetv3.ts";
import { syntheticWeights } from "../src/models/synthetic.ts";
import { syntheticTensor } from "../src/tensor/random.ts";
import { Papr } from "../src/papr/papr.ts";
import { setBackend } from "../src/tensor/backend.ts";
import { loadModelDir } from "../src/cli/files.ts";
import { DEFAULT_BACKBONE_DIR, DEFAULT_PROPOSER_DIR } from "../src/models/default_weights_node.ts";

setBackend(process.argv[2] === "wasm" ? "wasm" : "js");

let counted = 0;
type TypedArrayClass = new (...args: never[]) => ArrayBufferView;
/** The constructor behind a Proxy that counts the bytes of arrays created with a length or from values. */
function counting(Base: TypedArrayClass): TypedArrayClass {
  return new Proxy(Base, {
    construct(target, args: unknown[]) {
      const made = Reflect.construct(target, args) as ArrayBufferView;
      if (!(args[0] instanceof ArrayBuffer) && !(args[0] instanceof SharedArrayBuffer)) counted += made.byteLength;
      return made;
    },
  });
}

const pc = { variant: "small" as const };
const small = vitConfig("deit_small_patch16_224");
const cases = [
  {
    model: "DeiT-small",
    papr: new Papr(
      createVit(small, syntheticWeights(vitSpec(small))),
      createMobileNetV3(pc, syntheticWeights(mobilenetV3Spec(pc))),
    ),
    input: syntheticTensor("bench.image", [1, 3, 224, 224], 1),
  },
];
const backbone = loadModelDir(DEFAULT_BACKBONE_DIR, "backbone");
const proposer = loadModelDir(DEFAULT_PROPOSER_DIR, "proposer");
if (backbone.family === "vit" && proposer.family !== "vit") {
  const size = backbone.file.preprocess.inputSize;
  cases.push({
    model: "default pair",
    papr: new Papr(backbone.vit, proposer.convnet),
    input: syntheticTensor("bench.scene", [1, 3, size, size], 1),
  });
}
for (const c of cases) for (const z of [1, 0.5]) c.papr.predict(c.input, { z }); // warm: weights packed, scratch grown

const g = globalThis as unknown as Record<string, TypedArrayClass>;
for (const name of ["Float32Array", "Float64Array", "Int32Array", "Uint8Array"]) g[name] = counting(g[name]);
const typedArrayPrototype = Object.getPrototypeOf(Float64Array.prototype) as Record<string, unknown>;
for (const method of ["slice", "map", "filter"]) {
  const original = typedArrayPrototype[method] as (...args: unknown[]) => ArrayBufferView;
  typedArrayPrototype[method] = function (this: ArrayBufferView, ...args: unknown[]) {
    const made = original.apply(this, args);
    counted += made.byteLength;
    return made;
  };
}
for (const c of cases) {
  for (const z of [1, 0.5]) {
    counted = 0;
    c.papr.predict(c.input, { z });
    console.log(`alloc model=${c.model} z=${z} bytes=${counted}`);
  }
}
