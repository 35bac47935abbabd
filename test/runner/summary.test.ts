import { suite, test } from "uvu";
import * as assert from "uvu/assert";
import { runQueuedTests, type QueuedRunner } from "./exec.ts";
import { closingLine } from "./summary.ts";

test("closing line: uvu's 'ran' excludes skipped tests, so skips are not subtracted again", () => {
  assert.is(closingLine({ ran: 10, passed: 10, skipped: 0, brokenFiles: 0 }), "tests: 10 passed, 0 failed, 0 skipped");
  assert.is(
    closingLine({ ran: 421, passed: 421, skipped: 1, brokenFiles: 0 }),
    "tests: 421 passed, 0 failed, 1 skipped",
  );
  assert.is(closingLine({ ran: 5, passed: 4, skipped: 1, brokenFiles: 0 }), "tests: 4 passed, 1 failed, 1 skipped");
  assert.is(closingLine({ ran: 5, passed: 2, skipped: 3, brokenFiles: 1 }), "tests: 2 passed, 4 failed, 3 skipped");
  assert.is(closingLine({ ran: 0, passed: 0, skipped: 2, brokenFiles: 1 }), "tests: 0 passed, 1 failed, 2 skipped");
});

/** Queues a throwaway uvu suite in a slot of its own and takes its runner back out. */
function queuedRunner(define: (s: ReturnType<typeof suite>) => void): QueuedRunner {
  const globals = globalThis as { UVU_INDEX?: number; UVU_QUEUE?: unknown[][] };
  const queue = globals.UVU_QUEUE!;
  const index = globals.UVU_INDEX;
  globals.UVU_INDEX = queue.length;
  queue.push([]);
  try {
    const s = suite("mixed");
    define(s);
    s.run();
    return queue.pop()![0] as QueuedRunner;
  } finally {
    globals.UVU_INDEX = index;
  }
}

test("a real uvu suite with passes, a failure and skips gives the right closing line", async () => {
  const runner = queuedRunner((s) => {
    s("passes", () => {});
    s("passes too", async () => {});
    s("fails", () => assert.is(1, 2));
    s.skip("skipped", () => {});
    s.skip("skipped too", () => {});
  });
  const printed: string[] = [];
  const stdoutWrite = process.stdout.write;
  process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
  let counts;
  try {
    counts = await runQueuedTests([["mixed.test.ts", runner]], (text) => printed.push(text));
  } finally {
    process.stdout.write = stdoutWrite;
  }
  assert.equal(counts, { ran: 3, passed: 2, skipped: 2 });
  assert.is(closingLine({ ...counts, brokenFiles: 1 }), "tests: 2 passed, 2 failed, 2 skipped");
  assert.match(printed.join(""), "fails");
});
test.run();
