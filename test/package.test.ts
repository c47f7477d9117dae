/**
 * The package as others get it: `import ... from 'keyturn'` resolves through package.json's
 * `exports` to the built dist/index.js and has the public API (src/index.ts), which opens a home
 * and stores a value as its example says; `keyturn --version` is package.json's version, in the
 * bundle (a real process) and in-process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { runCli, SPAWN_MS, spawnCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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

let scratch: ReturnType<typeof tempDir> | undefined;
afterEach(() => scratch?.remove());

describe('the package entry (package.json exports)', () => {
  it('points at a built file, with its types next to it', () => {
    const entry = PACKAGE.exports['.']!;
    expect(existsSync(join(ROOT, entry.default)), 'run npm run build first').toBe(true);
    expect(existsSync(join(ROOT, entry.types))).toBe(true);
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

describe('keyturn --version', () => {
  it("is package.json's version, in the bundle and in-process", { timeout: SPAWN_MS }, async () => {
    expect(spawnCli(['--version'])).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n`, stderr: '' });
    expect(await runCli(['-V'])).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n` });
  });
});
