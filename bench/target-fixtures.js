/**
 * The target test fixtures (test/fixtures/targets/*.ts) for the benchmarks, which are plain JS on
 * dist/: esbuild bundles the fixture index (drivers left in node_modules) into bench/.cache/
 * (git-ignored) at each run, so the benchmark makes and drops users, and checks logins, with the
 * very code the tests use, not a copy.
 *
 * @example
 * ```js
 * const { targetFixture } = await loadTargetFixtures();
 * const fx = await targetFixture('postgres');
 * ```
 */
import { build } from 'esbuild';

const entry = new URL('../test/fixtures/targets/index.ts', import.meta.url).pathname;
const outfile = new URL('./.cache/target-fixtures.js', import.meta.url).pathname;

/** Bundles and imports test/fixtures/targets/index.ts. */
export async function loadTargetFixtures() {
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node22', packages: 'external', logLevel: 'warning' });
  return import(outfile);
}
