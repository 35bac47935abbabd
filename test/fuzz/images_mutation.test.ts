// Seeded mutation of valid PNG, JPEG and BMP files (image_inputs.ts's mutate: bit flips, boundary
// bytes, insertions, deletions, truncation). Every case must end in a decoded image of a sane size
// or a clean ImageError, each within 2 s, all within 30 s and ~500 MB of peak memory growth. PNGs are
// mutated twice: as is, where a decode that succeeds must give the original pixels (any change inside
// a chunk fails its CRC), and with the CRCs recomputed, so that mutations reach zlib and the pixels.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeImage } from "../../src/image/decode.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, type RgbImage } from "../../src/image/image.ts";
import { imageBytes, withPngCrcs } from "../image/helpers.ts";
import { mutate, random } from "./image_inputs.ts";

const SEED = 1414;
const CASES_PER_INPUT = 100;
const CASE_SECONDS = 2;
const TOTAL_SECONDS = 30;
const MEGABYTES = 500;
const PNGS = ["rgb8_64x48.png", "palette4_33x29.png", "gray16_40x50.png", "adam7_rgb8_35x27.png", "rgba8_64x48.png"];
const OTHERS = ["baseline420_64x48.jpg", "progressive_64x48.jpg", "cmyk_64x48.jpg", "bgr24_31x17.bmp"];

type Outcome = { image: RgbImage } | { error: Error };

function attempt(bytes: Uint8Array, source: string): Outcome {
  try {
    return { image: decodeImage(bytes, source) };
  } catch (e) {
    return { error: e as Error };
  }
}

/** Throws unless the outcome is a sane image or a clean ImageError naming `source`. */
function checkOutcome(outcome: Outcome, source: string, replay: string): void {
  if ("error" in outcome) {
    const { error } = outcome;
    assert.ok(error instanceof ImageError, `${replay}: ${error?.name}: ${error?.message ?? error}`);
    assert.ok(error.message.startsWith(`${source}: `), `${replay}: does not name the file: ${error.message}`);
    assert.not.match(
      error.message,
      /[\x00-\x1f\x7f-\x9f]/,
      `${replay}: raw control bytes in ${JSON.stringify(error.message)}`,
    );
    assert.ok(error.message.length < 200, `${replay}: message of ${error.message.length} characters`);
    return;
  }
  const { width, height, data } = outcome.image;
  assert.ok(
    width * height <= DEFAULT_IMAGE_LIMITS.maxPixels && data.length === width * height * 3,
    `${replay}: decoded ${width}x${height} with ${data.length} bytes`,
  );
}

test(`${(PNGS.length * 2 + OTHERS.length) * CASES_PER_INPUT} seeded mutations of PNG, JPEG and BMP: a sane image or a clean error, never a crash, a hang or a blow-up`, () => {
  const rand = random(SEED);
  const peakBefore = process.resourceUsage().maxRSS;
  const start = performance.now();
  let errors = 0;
  let cases = 0;
  const run = (name: string, fixCrcs: boolean, original: RgbImage) => {
    const input = imageBytes(name);
    for (let i = 0; i < CASES_PER_INPUT; i++) {
      const mutated = fixCrcs ? withPngCrcs(mutate(input, rand)) : mutate(input, rand);
      const replay = `${name}${fixCrcs ? " (CRCs fixed)" : ""} case ${i} (seed ${SEED})`;
      const caseStart = performance.now();
      const outcome = attempt(mutated, "m.png");
      const seconds = (performance.now() - caseStart) / 1000;
      assert.ok(seconds < CASE_SECONDS, `${replay}: took ${seconds.toFixed(1)} s`);
      checkOutcome(outcome, "m.png", replay);
      if ("error" in outcome) errors++;
      else if (name.endsWith(".png") && !fixCrcs) {
        assert.equal(outcome.image.data, original.data, `${replay}: a corrupted PNG decoded to different pixels`);
      }
      cases++;
    }
  };
  for (const name of PNGS) {
    const original = decodeImage(imageBytes(name), name);
    run(name, false, original);
    run(name, true, original);
  }
  for (const name of OTHERS) run(name, false, decodeImage(imageBytes(name), name));
  const seconds = (performance.now() - start) / 1000;
  const grownMB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
  console.log(
    `  ${cases} mutated images: ${errors} clean errors, ${cases - errors} decoded; ${seconds.toFixed(1)} s, peak memory +${grownMB.toFixed(0)} MB`,
  );
  assert.ok(seconds < TOTAL_SECONDS, `took ${seconds.toFixed(1)} s`);
  assert.ok(grownMB < MEGABYTES, `peak memory grew by ${grownMB.toFixed(0)} MB`);
});

test.run();
