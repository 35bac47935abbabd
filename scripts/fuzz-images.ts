// On-demand fuzz campaign for the image decoders (the test suite runs a fixed seed; this runs many):
//   node --import tsx scripts/fuzz-images.ts [--cases 20000] [--seed 1] [--max-seconds 2]
// Mutates the PNG / JPEG / BMP fixtures (test/fuzz/image_inputs.ts's mutate; PNGs also with their
// CRCs recomputed) and reports every outcome that is not a decoded image or a clean ImageError, and
// every case slower than --max-seconds, with the seed and case number to replay it.
import { parseArgs } from "node:util";
import { decodeImage } from "../src/image/decode.ts";
import { ImageError } from "../src/image/image.ts";
import { imageBytes, withPngCrcs } from "../test/image/helpers.ts";
import { mutate, random } from "../test/fuzz/image_inputs.ts";

const INPUTS = [
  "rgb8_64x48.png",
  "palette4_33x29.png",
  "gray16_40x50.png",
  "adam7_rgb8_35x27.png",
  "rgba8_64x48.png",
  "gray1_37x23.png",
  "baseline420_64x48.jpg",
  "progressive_64x48.jpg",
  "cmyk_64x48.jpg",
  "gray_64x48.jpg",
  "bgr24_31x17.bmp",
  "bitfields32_18x11.bmp",
];

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "20000" },
    seed: { type: "string", default: "1" },
    "max-seconds": { type: "string", default: "2" },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const maxSeconds = Number(values["max-seconds"]);
const rand = random(seed);
const inputs = INPUTS.map((name) => ({ name, bytes: imageBytes(name) }));
let problems = 0;
let errors = 0;
let slowest = 0;
const start = performance.now();
for (let i = 0; i < cases; i++) {
  const { name, bytes } = inputs[i % inputs.length];
  const fixCrcs = name.endsWith(".png") && i % (2 * inputs.length) >= inputs.length;
  const mutated = fixCrcs ? withPngCrcs(mutate(bytes, rand)) : mutate(bytes, rand);
  const caseStart = performance.now();
  let problem = "";
  try {
    const image = decodeImage(mutated, "m");
    if (image.data.length !== image.width * image.height * 3)
      problem = `decoded ${image.width}x${image.height} with ${image.data.length} bytes`;
  } catch (e) {
    if (!(e instanceof ImageError)) problem = `${(e as Error)?.name}: ${(e as Error)?.message ?? e}`;
    else if (/[\x00-\x1f\x7f-\x9f]/.test(e.message) || e.message.length >= 200)
      problem = `unclean message ${JSON.stringify(e.message)}`;
    else errors++;
  }
  const seconds = (performance.now() - caseStart) / 1000;
  slowest = Math.max(slowest, seconds);
  if (seconds > maxSeconds) problem ||= `took ${seconds.toFixed(1)} s`;
  if (problem) {
    problems++;
    console.log(`seed ${seed} case ${i} (${name}${fixCrcs ? ", CRCs fixed" : ""}): ${problem}`);
  }
}
const seconds = (performance.now() - start) / 1000;
console.log(
  `${cases} cases, seed ${seed}: ${problems} problems, ${errors} clean errors, slowest ${slowest.toFixed(2)} s, ${seconds.toFixed(0)} s in all, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
process.exitCode = problems > 0 ? 1 : 0;
