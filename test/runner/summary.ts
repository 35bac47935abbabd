// The closing line of `npm test`, computed from the counts uvu's runners return.

export interface RunCounts {
  /** tests that ran (uvu's "total": skipped tests are not in it) */
  ran: number;
  /** tests that ran and passed */
  passed: number;
  /** tests registered with test.skip (through skipUnless) */
  skipped: number;
  /** test files that threw while loading: each counts as one failure */
  brokenFiles: number;
}

export function failedCount(counts: RunCounts): number {
  return counts.ran - counts.passed + counts.brokenFiles;
}

export function closingLine(counts: RunCounts): string {
  return `tests: ${counts.passed} passed, ${failedCount(counts)} failed, ${counts.skipped} skipped`;
}
