/**
 * Skips for the contract suites (target, store, consumer): a test may be skipped only by its
 * exact name and with a reason, printed in the skipped test's name. A skip that names no test of
 * the suite (a typo, a renamed test) or gives no reason makes the suite throw while its tests are
 * defined, so it can never silently skip nothing while the test it meant still runs, or the reverse.
 *
 * @example
 * ```ts
 * describe('Store contract: vault', () => {
 *   const { test, checkSkips } = contractTests('Store contract: vault', spec.skip);
 *   test('stores a string and reads it back as current', async () => { ... });
 *   checkSkips(); // after the last test
 * });
 * ```
 */
import { it } from 'vitest';

/** How tests are registered: vitest's `it` and `it.skip` (a test may pass a recorder). A skipped test's name ends with its reason. */
export interface TestRegistrar {
  run(name: string, fn: () => Promise<void>): void;
  skip(name: string, reason: string, fn: () => Promise<void>): void;
}

/** The name a skipped contract test is shown under: the reason is part of it. */
export const skippedName = (name: string, reason: string): string => `${name} (skipped: ${reason})`;

const vitestRegistrar: TestRegistrar = { run: (name, fn) => it(name, fn), skip: (name, reason, fn) => it.skip(skippedName(name, reason), fn) };

/** Throws when `skip` names a test that is not in `defined`, or gives a blank reason. */
export function assertSkipsExist(suite: string, defined: readonly string[], skip: Record<string, string> | undefined): void {
  const names = new Set(defined);
  const unknown = Object.keys(skip ?? {}).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `${suite}: skip names ${unknown.length === 1 ? 'a test' : 'tests'} that ${unknown.length === 1 ? 'does' : 'do'} not exist in the suite: ${unknown.map((n) => JSON.stringify(n)).join(', ')}. The suite's tests are:\n${defined.map((n) => `  - ${n}`).join('\n')}`,
    );
  }
  const blank = Object.entries(skip ?? {}).filter(([, reason]) => typeof reason !== 'string' || reason.trim() === '');
  if (blank.length > 0) throw new Error(`${suite}: a skip needs a reason; none given for ${blank.map(([n]) => JSON.stringify(n)).join(', ')}`);
}

/** The suite's `test` (skipping by name, with the reason in the test name) and `checkSkips`, to call after the last test. */
export function contractTests(
  suite: string,
  skip: Record<string, string> | undefined,
  registrar: TestRegistrar = vitestRegistrar,
): { test(name: string, fn: () => Promise<void>): void; checkSkips(): void } {
  const defined: string[] = [];
  return {
    test(name, fn) {
      if (defined.includes(name)) throw new Error(`${suite}: two tests are named ${JSON.stringify(name)}`);
      defined.push(name);
      const reason = skip?.[name];
      if (reason !== undefined) registrar.skip(name, reason, fn);
      else registrar.run(name, fn);
    },
    checkSkips: () => assertSkipsExist(suite, defined, skip),
  };
}
