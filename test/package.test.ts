/**
 * The package as others get it: `import ... from 'keyturn'` resolves through package.json's
 * `exports` to the built dist/index.js and has the public API (src/index.ts), which opens a home
 * and stores a value as its example says; `keyturn/contracts` resolves to dist/contracts/ and has
 * the three contract suites, which a third-party consumer passes in a child vitest, while
 * `keyturn` loads neither vitest nor the suites (the files a real process loads, not a guess);
 * `keyturn --version` is package.json's version, in the bundle (a real process) and in-process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { runCli, SPAWN_MS, spawnCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRACE = fileURLToPath(new URL('./helpers/load-trace.mjs', import.meta.url));
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, { types: string; default: string }> };

/** What the package must export: the names a library caller and a third-party adapter use. */
const RUNTIME_EXPORTS = [
  'openKeyturn',
  'initHome',
  'isHomeInitialized',
  'loadSettings',
  'KeyturnError',
  'isKeyturnError',
  'ERRORS',
  'EXIT_CODES',
  'exitCodeOf',
  'STAGES',
  'STRATEGIES',
  'canPutWithin',
  'cloneUsername',
  'standbyUsername',
  'DEFAULT_RECOVERY_DAYS',
  'MIN_RECOVERY_DAYS',
  'MAX_RECOVERY_DAYS',
].sort();

/** What `keyturn/contracts` must export at run time: the suites and the helpers for an implementation's own tests. */
const CONTRACT_EXPORTS = [
  'runStoreContract',
  'runTargetContract',
  'runConsumerContract',
  'runRenewContract',
  'newPassword',
  'uniqueName',
  'expectCode',
  'rejection',
  'caught',
  'contractValues',
  'errorText',
  'recordingContext',
  'version',
].sort();

/** Runs `script` (an ES module) in a real process at the package root; what it printed, and every module file it loaded (relative to the root). */
function runModule(script: string): { stdout: string; loaded: string[] } {
  const r = spawnSync(process.execPath, ['--import', TRACE, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const loaded = r.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOAD file://'))
    .map((line) => relative(ROOT, fileURLToPath(line.slice('LOAD '.length))));
  return { stdout: r.stdout, loaded };
}

const isVitest = (file: string) => /(^|\/)node_modules\/(vitest|@vitest)\//.test(file);
const isContracts = (file: string) => file.startsWith('dist/contracts/');

let scratch: ReturnType<typeof tempDir> | undefined;
afterEach(() => scratch?.remove());

describe('the package entry (package.json exports)', () => {
  it('each export points at a built file, with its types next to it', () => {
    expect(Object.keys(PACKAGE.exports).sort()).toEqual(['.', './contracts']);
    for (const entry of Object.values(PACKAGE.exports)) {
      expect(existsSync(join(ROOT, entry.default)), `${entry.default}: run npm run build first`).toBe(true);
      expect(existsSync(join(ROOT, entry.types)), entry.types).toBe(true);
    }
  });

  it("`import('keyturn')` in a real process resolves to dist/index.js and has the public API", { timeout: SPAWN_MS }, () => {
    const script = "const m = await import('keyturn'); console.log(JSON.stringify({ url: import.meta.resolve('keyturn'), names: Object.keys(m).sort() }));";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { url: string; names: string[] };
    expect(fileURLToPath(out.url)).toBe(join(ROOT, 'dist', 'index.js'));
    expect(out.names).toEqual(RUNTIME_EXPORTS);
  });

  it('the sources export the same names (src/index.ts)', () => {
    expect(Object.keys(api).sort()).toEqual(RUNTIME_EXPORTS);
    expect(new api.KeyturnError('KT_SECRET_NOT_FOUND')).toBeInstanceOf(Error);
    expect(api.exitCodeOf('KT_SECRET_NOT_FOUND')).toBe(3);
  });

  it("the module example runs: open a home, put and read a value, a store's stages move as store.ts says", async () => {
    scratch = tempDir('kt-package-');
    const settings = api.loadSettings({}, { home: scratch.dir });
    await api.initHome(settings);
    const kt = await api.openKeyturn(settings);
    try {
      const store: api.SecretStore = kt.store;
      const v1 = await store.put('prod/api/key', 'k1');
      const v2 = await store.put('prod/api/key', 'k2', { stages: ['pending'] });
      await store.moveStage('prod/api/key', 'current', v2.id, v1.id);
      await store.put('prod/api/key', 'k3', { expectCurrentVersion: 2 });
      expect((await store.get('prod/api/key', { stage: 'previous' }))?.value).toBe('k2');
      const stale = await store.put('prod/api/key', 'k4', { expectCurrentVersion: 2 }).catch((e: unknown) => e);
      expect(api.isKeyturnError(stale, 'KT_VERSION_MISMATCH')).toBe(true);
    } finally {
      await kt.close();
    }
  });
});

describe('keyturn/contracts (package.json exports), for third-party stores, targets and consumers', () => {
  it("`import('keyturn')` in a real process loads neither vitest nor the contract suites", { timeout: SPAWN_MS }, () => {
    const { loaded } = runModule("await import('keyturn');");
    expect(loaded).toContain('dist/index.js');
    expect(loaded.filter((f) => isVitest(f) || isContracts(f))).toEqual([]);
  });

  it("`import('keyturn/contracts')` resolves to dist/contracts/index.js, exports the four suites, and loads vitest (which the check above would see)", { timeout: SPAWN_MS }, () => {
    const script =
      "const m = await import('keyturn/contracts'); console.log(JSON.stringify({ url: import.meta.resolve('keyturn/contracts'), names: Object.keys(m).sort(), kinds: [m.runStoreContract, m.runTargetContract, m.runConsumerContract, m.runRenewContract].map((f) => typeof f) }));";
    const { stdout, loaded } = runModule(script);
    const out = JSON.parse(stdout) as { url: string; names: string[]; kinds: string[] };
    expect(fileURLToPath(out.url)).toBe(join(ROOT, 'dist/contracts/index.js'));
    expect(out.names).toEqual(CONTRACT_EXPORTS);
    expect(out.kinds).toEqual(['function', 'function', 'function', 'function']);
    expect(loaded.some(isVitest)).toBe(true);
  });

  it('a third-party consumer passes the Consumer contract imported from keyturn/contracts (a child vitest)', { timeout: 2 * SPAWN_MS }, async () => {
    const config = join(ROOT, 'test/fixtures/third-party/vitest.config.ts');
    scratch = tempDir('kt-third-party-');
    const reportFile = join(scratch.dir, 'report.json');
    const child = spawn(process.execPath, [VITEST, 'run', '--config', config, '--reporter=json', `--outputFile=${reportFile}`], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr + stdout).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { numTotalTests: number; numPassedTests: number; testResults: Array<{ name: string }> };
    expect(report.testResults.map((r) => relative(ROOT, r.name))).toEqual(['test/fixtures/third-party/json-file.third-party.ts']);
    expect(report.numTotalTests).toBeGreaterThan(0);
    expect(report.numPassedTests).toBe(report.numTotalTests);
  });
});

describe('keyturn --version', () => {
  it("is package.json's version, in the bundle and in-process", { timeout: SPAWN_MS }, async () => {
    expect(spawnCli(['--version'])).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n`, stderr: '' });
    expect(await runCli(['-V'])).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n` });
  });
});

describe('the published files (package.json files)', () => {
  it('hold what the docs point at: the deploy examples, the example scripts and the web dashboard (dist/ui)', { timeout: 60_000 }, () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 55_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const f of ['deploy/github/rotate.yml', 'deploy/systemd/keyturn.service', 'examples/keyturn.yaml', 'examples/scripts/keytab-rotate.sh', 'bin/keyturn.js', 'schema/keyturn.schema.json']) {
      expect(files, f).toContain(f);
    }
    // The dashboard's built assets (npm run build:ui, part of prepare): an installed package serves /ui without building.
    expect(files, 'dist/ui/index.html').toContain('dist/ui/index.html');
    expect(files.some((f) => /^dist\/ui\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true);
  });
});
