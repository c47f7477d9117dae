/**
 * The contract suites (target, store, consumer) refuse a skip that names no test of the suite,
 * or gives no reason, while the suite is defined: each suite given such a skip is collected by a
 * child vitest (test/fixtures/bad-skips/), which must fail naming the skip; and the skip rules
 * themselves on a recording registrar.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { contractTests, skippedName, type TestRegistrar } from '../src/contracts/skips.js';
import { SPAWN_MS } from './helpers/cli.js';

const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/bad-skips/vitest.config.ts', import.meta.url));

function collectBadSkips(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG, '--reporter=default'], { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

function recorder(): TestRegistrar & { names: string[] } {
  const names: string[] = [];
  return { names, run: (name) => void names.push(name), skip: (name, reason) => void names.push(`skip: ${skippedName(name, reason)}`) };
}

const noop = async () => undefined;

describe('contract skips', () => {
  it('each contract suite given a skip that names no test fails to be defined, naming the skip', { timeout: 2 * SPAWN_MS }, async () => {
    const { code, output } = await collectBadSkips();
    expect(code, output).not.toBe(0);
    for (const [suite, test] of [
      ['Target contract: bad skip', 'no such target test'],
      ['SecretStore contract: bad skip', 'no such store test'],
      ['Consumer contract: bad skip', 'no such consumer test'],
    ]) {
      expect(output).toContain(`${suite}: skip names a test that does not exist in the suite: "${test}"`);
    }
    // No test of those suites ran (their fixtures would have thrown "never made").
    expect(output).not.toContain('never made');
  });

  it('a skip by exact name is skipped with its reason in the name; the others run', () => {
    const r = recorder();
    const { test, checkSkips } = contractTests('S', { b: 'no server' }, r);
    test('a', noop);
    test('b', noop);
    checkSkips();
    expect(r.names).toEqual(['a', 'skip: b (skipped: no server)']);
  });

  it("a skip naming no test throws, listing the suite's tests", () => {
    const { test, checkSkips } = contractTests('S', { 'a typo': 'reason' }, recorder());
    test('a', noop);
    test('b', noop);
    expect(checkSkips).toThrow('S: skip names a test that does not exist in the suite: "a typo". The suite\'s tests are:\n  - a\n  - b');
  });

  it('a skip without a reason throws', () => {
    const { test, checkSkips } = contractTests('S', { a: ' ' }, recorder());
    test('a', noop);
    expect(checkSkips).toThrow('S: a skip needs a reason; none given for "a"');
  });

  it('two tests of the same name throw', () => {
    const { test } = contractTests('S', undefined, recorder());
    test('a', noop);
    expect(() => test('a', noop)).toThrow('S: two tests are named "a"');
  });
});
