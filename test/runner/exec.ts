// Runs the suites that uvu queued (one group per test file) and counts the results exactly, from the
// numbers uvu's own runners return, instead of reading them back from its printed summary.
import type { RunCounts } from "./summary.ts";

/** What one queued uvu runner resolves to: [errors or true, passed, skipped, ran]. */
type RunnerResult = [string | true, number, number, number];
export type QueuedRunner = () => Promise<RunnerResult>;

/** Runs every group ([file name, ...runners]) in order; failures are printed as uvu prints them. */
export async function runQueuedTests(
  groups: unknown[][],
  write: (text: string) => void,
): Promise<Omit<RunCounts, "brokenFiles">> {
  const counts = { ran: 0, passed: 0, skipped: 0 };
  for (const [name, ...runners] of groups) {
    write(`\n${String(name)}\n`);
    for (const runner of runners as QueuedRunner[]) {
      const [errors, passed, skipped, ran] = await runner();
      counts.ran += ran;
      counts.passed += passed;
      counts.skipped += skipped;
      if (errors !== true) write(`\n${errors}\n`);
    }
  }
  return counts;
}
