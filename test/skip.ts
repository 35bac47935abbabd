// The one way a test that needs something from its environment (../shared, Chromium, Python, the
// Fashion-MNIST train files) says it cannot run here: it is registered as skipped (uvu counts it),
// and test/run.ts prints its name and reason at the end.
import { test } from "uvu";

export interface SkippedTest {
  name: string;
  reason: string;
}

const skipped: SkippedTest[] = [];

/**
 * `skipUnless(condition, reason)(name, body)` registers the test when `condition` is truthy;
 * otherwise the test counts as skipped, with `reason` (for example "../shared absent").
 */
export function skipUnless(condition: unknown, reason: string) {
  return (name: string, body: () => unknown): void => {
    if (condition) {
      test(name, body as () => void);
    } else {
      skipped.push({ name, reason });
      test.skip(name, body as () => void);
    }
  };
}

/** Every test skipped so far, in registration order. */
export function skippedTests(): readonly SkippedTest[] {
  return skipped;
}
