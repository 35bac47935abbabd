// The proposer and the default pair timed in one checkout of papr-ts, to compare two checkouts on a
// busy machine by running them alternately (medians of 10 runs after 2 warm-up runs):
//
//   node --import tsx bench/compare_checkouts.ts /work/main            # then the same with this checkout
//   B=js node --import tsx bench/compare_checkouts.ts <checkout root>  # the js backend
//
// Prints: feat = MobileNetV3-small features (seeded weights, 224x224) outside any arena; z1 / z05 / z03 =
// Papr.predict of the default pair at z = 1, 0.5, 0.3; prop05 = its proposer stage at z = 0.5; and the
// time ratios z05 / z1 and z03 / z1.
const root = process.argv[2] ?? "..";
const { createMobileNetV3, mobilenetV3Spec } = await import(`${root}/src/models/mobilenetv3.ts`);
const { syntheticWeights } = await import(`${root}/src/models/synthetic.ts`);
const { syntheticTensor } = await import(`${root}/src/tensor/random.ts`);
const { setBackend } = await import(`${root}/src/tensor/backend.ts`);
const { Papr } = await import(`${root}/src/papr/papr.ts`);
const { loadModelDir } = await import(`${root}/src/cli/files.ts`);
setBackend(process.env.B ?? "wasm");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const config = { variant: "small" };
const mobilenet = createMobileNetV3(config, syntheticWeights(mobilenetV3Spec(config)));
const image = syntheticTensor("compare.image", [1, 3, 224, 224], 1);
const backbone = loadModelDir(`${root}/weights/vit-scenes`, "backbone");
const proposer = loadModelDir(`${root}/weights/mobilenetv3-scenes`, "proposer");
const papr = new Papr(backbone.vit, proposer.convnet);
const times: Record<string, number[]> = { feat: [], z1: [], z05: [], z03: [], prop05: [] };
for (let round = 0; round < 12; round++) {
  let t0 = performance.now();
  mobilenet.features(image);
  if (round >= 2) times.feat.push(performance.now() - t0);
  for (const [name, z] of [
    ["z1", 1],
    ["z05", 0.5],
    ["z03", 0.3],
  ] as const) {
    t0 = performance.now();
    const result = papr.predict(image, { z });
    if (round < 2) continue;
    times[name].push(performance.now() - t0);
    if (z === 0.5) times.prop05.push(result.timeMs.proposer);
  }
}
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
console.log(
  Object.entries(m)
    .map(([k, v]) => `${k}=${v.toFixed(1)}`)
    .join(" "),
  `ratio05=${(m.z05 / m.z1).toFixed(3)} ratio03=${(m.z03 / m.z1).toFixed(3)}`,
);
