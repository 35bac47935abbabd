// Peak RSS of a DeiT-Small inference in a fresh process (run by bench.ts): builds the model from
// seeded weights, runs three forward passes on `threads` threads (argv[2]) with backend argv[3]
// (js | wasm, default js), prints the peak RSS. Plain JavaScript on the built package (dist/, what
// `npx papr` and `import "papr-ts"` run): the TypeScript loader the rest of the bench runs under
// (tsx, with its esbuild) would add some 35 MB of its own to the process.
import { existsSync, readFileSync } from "node:fs";
import { createVit, vitConfig, vitSpec } from "../dist/models/vit.js";
import { syntheticWeights } from "../dist/models/synthetic.js";
import { syntheticTensor } from "../dist/tensor/random.js";
import { setBackend, setThreads, stopThreads } from "../dist/tensor/backend.js";

const threads = Number(process.argv[2] ?? 1);
setBackend(process.argv[3] === "wasm" ? "wasm" : "js");
await setThreads(threads);
const config = vitConfig("deit_small_patch16_224");
const weights = syntheticWeights(vitSpec(config));
let weightBytes = 0;
for (const t of weights.values()) weightBytes += t.data.byteLength;
const vit = createVit(config, weights);
const image = syntheticTensor("bench.image", [1, 3, 224, 224], 1);
for (let i = 0; i < 3; i++) vit.forward(image);
stopThreads();
// VmHWM is this process's own peak; getrusage's maxRSS would carry the parent's RSS over fork + exec
const status = existsSync("/proc/self/status") ? readFileSync("/proc/self/status", "utf8") : "";
const hwmKb = Number(/VmHWM:\s*(\d+) kB/.exec(status)?.[1] ?? process.resourceUsage().maxRSS);
const peakRssMb = (hwmKb * 1024) / 1e6;
console.log(`peakRssMb=${peakRssMb.toFixed(1)} weightsMb=${(weightBytes / 1e6).toFixed(1)}`);
