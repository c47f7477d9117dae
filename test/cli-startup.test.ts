/**
 * What the CLI loads at start-up, measured by the modules a real process loads (not by time):
 * `--version` and `--help` load the entry chunk and commander only; `secret get` and `status`
 * load the store and the audit log but no driver, config schema or YAML parser; a rotation of an
 * app secret loads the config code but no database driver; no part of the bundle holds the contract
 * suites or vitest. The timings are in `npm run bench:cli`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, SPAWN_MS, spawnCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRACE = fileURLToPath(new URL('./helpers/load-trace.mjs', import.meta.url));

interface Meta {
  outputs: Record<string, { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

/**
 * What parsing a command line may load: the CLI, the plain core helpers (errors, types, paths,
 * values, store constants), the variables table, the JSON shapes of secrets and runs
 * (src/client/wire.ts, no imports), commander, and light built-ins. Nothing that opens a
 * database, encrypts, audits or connects.
 */
const LIGHT = [
  /^src\/cli\//,
  /^src\/client\/wire\.ts$/,
  /^src\/core\/(errors|types|values|paths|duration)\.ts$/,
  /^src\/config\/env-vars\.ts$/,
  /^src\/stores\/store\.ts$/,
  // The anomaly types (a constant list and types): `anomalies ls --type` offers them as choices.
  /^src\/detect\/detector\.ts$/,
  /node_modules\/commander\//,
  /^builtin-shim:/,
];
const HEAVY_BUILTINS = ['builtin-shim:node:crypto', 'builtin-shim:node:sqlite', 'builtin-shim:node:http', 'builtin-shim:node:https', 'builtin-shim:node:net'];
const META = join(ROOT, 'dist/bundle/meta.json');

let home: string;
let env: Record<string, string>;

/** The source modules and packages a command line loads: bundle chunks mapped to their inputs. */
function loaded(argv: string[]): { sources: string[]; packages: string[] } {
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...argv], { env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as Meta;
  const sources = new Set<string>();
  const packages = new Set<string>();
  const packageOf = (path: string) => {
    const rest = path.split('node_modules/').pop()!;
    return rest
      .split('/')
      .slice(0, rest.startsWith('@') ? 2 : 1)
      .join('/');
  };
  for (const line of r.stderr.split('\n')) {
    if (!line.startsWith('LOAD file://')) continue;
    const file = relative(ROOT, fileURLToPath(line.slice('LOAD '.length)));
    if (file.includes('node_modules/')) packages.add(packageOf(file));
    for (const input of Object.keys(meta.outputs[file]?.inputs ?? {})) {
      if (input.includes('node_modules/')) packages.add(packageOf(input));
      else sources.add(input);
    }
  }
  return { sources: [...sources].sort(), packages: [...packages].sort() };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'kt-startup-'));
  env = { PATH: process.env.PATH ?? '', KEYTURN_HOME: join(home, 'home') };
  expect(spawnCli(['init'], { env }).code).toBe(0);
  expect(spawnCli(['secret', 'put', 'app/token', '--value', 'startup-value'], { env }).code).toBe(0);
}, 2 * SPAWN_MS);

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('CLI start-up loads only what the command needs', () => {
  it.each([['--version'], ['--help'], ['secret', '--help']])('keyturn %s: commander and the CLI files, nothing else', { timeout: SPAWN_MS }, (...argv) => {
    const { sources, packages } = loaded(argv);
    expect(packages).toEqual(['commander']);
    expect(sources.filter((s) => !LIGHT.some((re) => re.test(s)) || HEAVY_BUILTINS.includes(s))).toEqual([]);
  });

  it.each([['secret', 'get', 'app/token'], ['status'], ['secret', 'ls']])(
    'keyturn %s %s: the store and audit log, no driver, config schema, YAML parser or logger',
    { timeout: SPAWN_MS },
    (...argv) => {
      const { sources, packages } = loaded(argv);
      expect(packages.filter((p) => !['commander', 'kysely', 'canonicalize'].includes(p))).toEqual([]);
      expect(sources).toContain('src/stores/embedded/embedded-store.ts');
      expect(sources.filter((s) => /^src\/(targets|engine\/engine|consumers|config\/(schema|load|apply))/.test(s))).toEqual([]);
    },
  );

  it('a rotation of an app secret loads the engine and config, but no database driver', { timeout: 2 * SPAWN_MS }, () => {
    const file = join(home, 'keyturn.yaml');
    writeFileSync(file, 'version: 1\nsecrets:\n  app/session:\n    type: app-secret\n');
    expect(spawnCli(['apply', '-f', file], { env }).code).toBe(0);
    const { sources, packages } = loaded(['rotate', 'app/session']);
    expect(sources).toContain('src/engine/engine.ts');
    expect(packages).not.toContain('pg');
    expect(packages).not.toContain('mysql2');
    expect(packages).not.toContain('ioredis');
    expect(packages).not.toContain('amqplib');
  });
});

describe('what each command module loads before it runs (the bundle metafile)', () => {
  /** The source files and external modules an output file loads before running: itself and its static imports. */
  function loaded(meta: Meta, input: string): { inputs: string[]; externals: string[] } {
    const start = Object.keys(meta.outputs).filter((o) => input in meta.outputs[o]!.inputs);
    expect(start, input).toHaveLength(1);
    const seen = new Set<string>();
    const externals = new Set<string>();
    const visit = (out: string): void => {
      if (seen.has(out)) return;
      seen.add(out);
      for (const imp of meta.outputs[out]!.imports) {
        if (imp.kind !== 'import-statement') continue;
        if (imp.external) externals.add(imp.path);
        else visit(imp.path);
      }
    };
    visit(start[0]!);
    return { inputs: [...seen].flatMap((o) => Object.keys(meta.outputs[o]!.inputs)), externals: [...externals] };
  }

  it('keyturn --help, and the module of every command (so its --help), load nothing heavy', () => {
    expect(existsSync(META), 'run npm run build first').toBe(true);
    const meta = JSON.parse(readFileSync(META, 'utf8')) as Meta;
    const modules = [
      'src/cli/entry.ts',
      ...readdirSync(join(ROOT, 'src/cli/commands'))
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .map((f) => `src/cli/commands/${f}`),
    ];
    const heavy: string[] = [];
    for (const m of modules) {
      const { inputs, externals } = loaded(meta, m);
      for (const i of inputs) if (!LIGHT.some((re) => re.test(i)) || HEAVY_BUILTINS.includes(i)) heavy.push(`${m} loads ${i}`);
      heavy.push(...externals.map((e) => `${m} loads ${e}`));
    }
    expect(heavy).toEqual([]);
    expect(loaded(meta, 'src/cli/commands/audit.ts').inputs).not.toContain('src/cli/commands/audit/event-view.ts');
  });

  it('no file of the bundle, loaded at start-up or later, holds the contract suites (keyturn/contracts) or vitest', () => {
    expect(existsSync(META), 'run npm run build first').toBe(true);
    const meta = JSON.parse(readFileSync(META, 'utf8')) as Meta;
    const found = Object.entries(meta.outputs).flatMap(([out, { inputs, imports }]) => [
      ...Object.keys(inputs).filter((i) => i.startsWith('src/contracts/') || /node_modules\/(vitest|@vitest)\//.test(i)),
      ...imports.filter((imp) => /^(vitest|@vitest)(\/|$)/.test(imp.path)).map((imp) => `${out} imports ${imp.path}`),
    ]);
    expect(Object.keys(meta.outputs).length).toBeGreaterThan(1);
    expect(found).toEqual([]);
  });
});
