// A longer seeded mutation campaign than `npm test` runs, on demand:
//   node --import tsx scripts/fuzz-campaign.ts --cases 5000 --seed 7 [--format pth] [--timeout 10]
//   node --import tsx scripts/fuzz-campaign.ts --seed 7 --format pth --only 1234    (replay one case, print its outcome)
// Every format in FORMATS gets --cases mutants; case i of a format uses the seed (seed, i), so any
// case replays alone. The cases run in a child process, which the campaign kills and restarts past
// a case that runs longer than --timeout seconds (a hang) or that kills the process (a crash); both
// are reported as bad outcomes, as is any result test/fuzz/loaders_formats.ts judges wrong.
// Exit status 1 when any case was bad.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { LOADER_FORMATS, judgeMutant, type FuzzFormat } from "../test/fuzz/loaders_formats.ts";
import { Rng } from "../test/fuzz/mutate.ts";

/** The formats fuzzed, by name. Other suites (images) add theirs here. */
const FORMATS: FuzzFormat[] = [...LOADER_FORMATS];

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    format: { type: "string" },
    timeout: { type: "string", default: "10" },
    only: { type: "string" },
    worker: { type: "boolean", default: false },
    from: { type: "string", default: "0" },
    scratch: { type: "string" },
  },
});
const seed = Number(values.seed);
const cases = Number(values.cases);
const formats = values.format ? FORMATS.filter((f) => f.name === values.format) : FORMATS;
if (formats.length === 0)
  throw new Error(`--format ${values.format}: not one of ${FORMATS.map((f) => f.name).join(", ")}`);

/** Case i of a format has its own generator, so it replays without the cases before it. */
function caseRng(i: number): Rng {
  return new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
}

/** Runs cases [from, cases) of one format in `scratch`, printing "start i" before and "done i <verdict>" after each. */
function work(format: FuzzFormat, from: number, scratch: string): void {
  for (let i = from; i < cases; i++) {
    console.log(`start ${i}`);
    const { run, file } = format.mutant(caseRng(i), join(scratch, String(i)));
    let refused = false;
    const wrong = judgeMutant(format, file, () => {
      try {
        return run();
      } catch (e) {
        refused = true;
        throw e;
      }
    });
    console.log(`done ${i} ${wrong ? `bad ${JSON.stringify(wrong)}` : refused ? "refused" : "loaded"}`);
    rmSync(join(scratch, String(i)), { recursive: true, force: true });
  }
}

interface Tally {
  loaded: number;
  refused: number;
  bad: string[];
}

/** One child from case `from`; resolves with the next case to run (cases when finished). */
function runChild(format: FuzzFormat, from: number, tally: Tally, scratch: string): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const args = [
    "--worker",
    "--format",
    format.name,
    "--seed",
    String(seed),
    "--cases",
    String(cases),
    "--from",
    String(from),
    "--scratch",
    scratch,
  ];
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let current = from;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        tally.bad.push(`${format.name} case ${current}: no answer within ${values.timeout} s (hang)`);
        child.kill("SIGKILL");
      },
      1000 * Number(values.timeout),
    );
  };
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const [word, index, verdict, ...rest] = line.split(" ");
      if (word === "start") {
        current = Number(index);
        watch();
      } else if (word === "done") {
        if (verdict === "loaded") tally.loaded++;
        else if (verdict === "refused") tally.refused++;
        else tally.bad.push(`${format.name} case ${index}: ${JSON.parse(rest.join(" "))}`);
        finished = Number(index) === cases - 1;
      }
    }
  });
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (finished) return resolve(cases);
      if (signal !== "SIGKILL")
        tally.bad.push(`${format.name} case ${current}: the process died (exit ${code ?? signal})`);
      resolve(current + 1);
    });
  });
}

async function campaign(): Promise<void> {
  let anyBad = false;
  for (const format of formats) {
    const tally: Tally = { loaded: 0, refused: 0, bad: [] };
    const start = performance.now();
    const scratch = mkdtempSync(join(tmpdir(), `papr-campaign-${format.name}-`)); // removed here, as a killed child cannot
    try {
      for (let next = 0; next < cases;) next = await runChild(format, next, tally, scratch);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    console.log(
      `${format.name}: ${cases} cases, seed ${seed}: ${tally.loaded} loaded, ${tally.refused} refused cleanly, ${tally.bad.length} bad (${seconds} s)`,
    );
    for (const line of tally.bad.slice(0, 20)) console.log(`  ${line}`);
    if (tally.bad.length > 20) console.log(`  ... and ${tally.bad.length - 20} more`);
    anyBad ||= tally.bad.length > 0;
  }
  if (anyBad) process.exitCode = 1;
}

function replay(format: FuzzFormat, i: number): void {
  const scratch = mkdtempSync(join(tmpdir(), "papr-replay-"));
  try {
    const { run, file } = format.mutant(caseRng(i), scratch);
    let outcome = "loaded";
    const wrong = judgeMutant(format, file, () => {
      try {
        return run();
      } catch (e) {
        outcome = `refused: ${(e as Error).name}: ${(e as Error).message}`;
        throw e;
      }
    });
    console.log(`${format.name} case ${i} (seed ${seed}): ${outcome}${wrong ? `\n  BAD: ${wrong}` : ""}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (values.worker) work(formats[0], Number(values.from), values.scratch!);
else if (values.only !== undefined) for (const f of formats) replay(f, Number(values.only));
else await campaign();
