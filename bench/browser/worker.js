// The browser half of `npm run bench -- --browser` (bench/browser.ts): in a module Web Worker of the
// cross-origin isolated bench page, the same cases as bench.ts's papr-ts columns (DeiT with seeded
// synthetic weights + the MobileNetV3 proposer, unpruned and PaPr at each z; the GEMM shapes of
// DeiT-Small), per engine (backend x threads), every case once per round, rounds interleaved.
//
// page -> worker: { sizes: ["small"], proposer: "small", zs: [1, 0.5], engines: [{ name, backend, threads }], rounds }
// worker -> page: { type: "progress", text } | { type: "done", results } | { type: "error", message }
import {
  Papr,
  backendThreads,
  createMobileNetV3,
  createVit,
  linear,
  mobilenetV3Spec,
  setBackend,
  setThreads,
  syntheticTensor,
  syntheticWeights,
  vitConfig,
  vitSpec,
} from "../../dist/papr.js";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function use(engine) {
  setBackend(engine.backend);
  await setThreads(engine.threads, { force: true });
  const threads = backendThreads();
  if (threads !== engine.threads) throw new Error(`${engine.name}: runs on ${threads} threads here`);
}

async function bench({ sizes, proposer: variant, zs, engines, rounds }) {
  const progress = (text) => self.postMessage({ type: "progress", text });
  const image = syntheticTensor("bench.image", [1, 3, 224, 224], 1);
  const proposerConfig = { variant };
  const proposer = createMobileNetV3(proposerConfig, syntheticWeights(mobilenetV3Spec(proposerConfig)));
  const cases = [];
  for (const size of sizes) {
    const config = vitConfig(`deit_${size}_patch16_224`);
    const papr = new Papr(createVit(config, syntheticWeights(vitSpec(config))), proposer);
    for (const z of zs) {
      for (const engine of engines) {
        const stages = { proposer: [], blocks: [] };
        cases.push({ size, z, engine, stages, times: [], run: () => papr.predict(image, { z }) });
      }
    }
  }
  for (let round = 0; round <= rounds; round++) {
    for (const c of cases) {
      await use(c.engine);
      const t0 = performance.now();
      const r = c.run();
      const ms = performance.now() - t0;
      if (round === 0) continue; // warm-up
      c.times.push(ms);
      c.stages.proposer.push(r.timeMs.proposer);
      c.stages.blocks.push(r.timeMs.blocks.reduce((a, b) => a + b, 0));
    }
    progress(`browser round ${round}/${rounds} done`);
  }
  const gemm = await gemmRates(engines, rounds);
  return {
    userAgent: navigator.userAgent,
    cores: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    forward: cases.map((c) => ({
      size: c.size,
      z: c.z,
      engine: c.engine.name,
      ms: median(c.times),
      proposerMs: median(c.stages.proposer),
      blocksMs: median(c.stages.blocks),
    })),
    gemm,
  };
}

/** DeiT-Small's four linear shapes at 197 tokens (as bench.ts's gemmRates). */
async function gemmRates(engines, rounds) {
  const shapes = [
    [384, 1152, "none"],
    [384, 384, "none"],
    [384, 1536, "gelu"],
    [1536, 384, "none"],
  ];
  const layers = shapes.map(([inF, outF, activation], i) => ({
    x: syntheticTensor(`gemm.x${i}`, [197, inF], 1),
    w: syntheticTensor(`gemm.w${i}`, [outF, inF], 0.05),
    b: syntheticTensor(`gemm.b${i}`, [outF], 0.05),
    activation,
  }));
  const flops = 2 * 197 * shapes.reduce((s, [i, o]) => s + i * o, 0);
  const samples = engines.map(() => []);
  for (let round = 0; round <= 3 * rounds; round++) {
    for (const [e, engine] of engines.entries()) {
      await use(engine);
      const t0 = performance.now();
      for (const l of layers) linear(l.x, l.w, l.b, { activation: l.activation });
      if (round > 0) samples[e].push(performance.now() - t0);
    }
  }
  return engines.map((engine, e) => {
    const ms = median(samples[e]);
    return { engine: engine.name, ms, gflops: flops / ms / 1e6 };
  });
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ type: "done", results: await bench(data) });
  } catch (e) {
    self.postMessage({ type: "error", message: e?.stack ?? String(e) });
  }
};
