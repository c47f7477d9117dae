/**
 * keyturn.yaml: parsing with dot-path errors, ${env:} only in bootstrap values, frozen results,
 * round-trip stability of what is stored, the generated JSON Schema, and plan/apply.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, planConfig } from '../src/config/apply.js';
import { renderJsonSchema } from '../src/config/json-schema.js';
import { parseConfig } from '../src/config/load.js';
import { secretPolicySchema } from '../src/config/schema.js';
import { ERRORS, isKeyturnError } from '../src/core/errors.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { targetConfigSchema } from '../src/targets/registry.js';
import type { Transaction } from 'kysely';
import { KeyturnError } from '../src/core/errors.js';
import { systemClock } from '../src/core/clock.js';
import type { SecretValue } from '../src/core/types.js';
import type { Schema } from '../src/state/schema.js';
import { EmbeddedStore } from '../src/stores/embedded/embedded-store.js';
import type { PutOptions } from '../src/stores/store.js';
import { openTestHome, postgresState, sqliteState, type TestState } from './helpers/state.js';

const FULL = `version: 1
targets:
  pg:
    type: postgres
    host: 127.0.0.1
    port: 55432
    database: app
    admin: admin/pg
  maria:
    type: mysql
    host: 127.0.0.1
    port: 3306
  cache:
    type: redis
    host: 127.0.0.1
    port: 6379
secrets:
  admin/pg:
    type: database-credential
    initial: { username: keyturn_admin, password: "\${env:PG_ADMIN}" }
  prod/db/app:
    type: database-credential
    target: pg
    strategy: alternating-users
    password: { length: 24, symbols: 2 }
    consumers:
      - { type: file, path: /tmp/app.env, template: "U={{username}}\\nP={{password}}\\n", mode: "0640" }
      - { type: exec, argv: [/bin/true], timeoutMs: 5000 }
      - { type: signal, pidFile: /run/app.pid, signal: usr1 }
    rotation: { attempts: 3, backoffBaseMs: 100, backoffCapMs: 1000 }
  prod/cache/app:
    type: database-credential
    target: cache
  app/jwt:
    type: app-secret
    description: JWT key
`;

function parseError(yaml: string, env: Record<string, string> = {}): string {
  try {
    parseConfig(yaml, env);
  } catch (e) {
    expect(isKeyturnError(e, 'KT_CONFIG_FILE_INVALID')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected KT_CONFIG_FILE_INVALID');
}

describe('parsing keyturn.yaml', () => {
  it('parses every target and consumer type with defaults, and freezes the result', () => {
    const c = parseConfig(FULL, { PG_ADMIN: 'admin-pw' });
    expect(c.secrets['admin/pg']!.initial).toEqual({ username: 'keyturn_admin', password: 'admin-pw' });
    expect(c.secrets['prod/db/app']!.rotation).toEqual({ attempts: 3, backoffBaseMs: 100, backoffCapMs: 1000, timeoutMs: 30_000 });
    expect(c.secrets['app/jwt']!.rotation.backoffBaseMs).toBe(10_000);
    expect(Object.isFrozen(c.secrets['prod/db/app']!.consumers[0])).toBe(true);
  });

  it('what is stored parses again to itself (policies and targets are re-read from the database)', () => {
    const c = parseConfig(FULL, { PG_ADMIN: 'x' });
    for (const s of Object.values(c.secrets)) {
      const { initial: _initial, ...stored } = s;
      const again = secretPolicySchema.parse(JSON.parse(JSON.stringify(stored)));
      expect(again).toEqual(stored);
    }
    for (const t of Object.values(c.targets)) {
      const { admin: _admin, ...stored } = t as Record<string, unknown>;
      expect(targetConfigSchema.parse(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
    }
  });

  it('reports problems by dot-path', () => {
    expect(parseError('version: 1\nsecrets:\n  app/x:\n    type: app-secret\n    target: pg\n')).toContain('secrets.app/x.target: unknown target "pg"');
    expect(parseError('version: 1\nsecrets:\n  app/x:\n    type: database-credential\n    strategy: simple\n    target: t\ntargets:\n  t: { type: redis, host: h, port: 1 }\n')).toContain(
      'secrets.app/x.strategy',
    );
    expect(parseError('version: 2\n')).toContain('version');
    expect(parseError('version: 1\nsecrets:\n  /bad: { type: app-secret }\n')).toContain('secrets./bad');
    expect(parseError('version: 1\nsecrets:\n  a: { type: app-secret, colour: blue }\n')).toContain('secrets.a');
    expect(parseError('version: 1\ntargets:\n  t: { type: oracle, host: h }\n')).toContain('targets.t');
    expect(parseError('version: 1\nsecrets:\n  a:\n    type: app-secret\n    consumers: [{ type: file, path: relative.txt }]\n')).toContain('secrets.a.consumers.0.path');
    expect(parseError('version: 1\ntargets:\n  t: { type: redis, host: h, port: 1, admin: nope/x }\n')).toContain('targets.t.admin');
    expect(parseError('version: 1\n  bad: [yaml\n')).toMatch(/^keyturn\.yaml:\d+: YAML error: /);
  });

  it('a problem in the file is KT_CONFIG_FILE_INVALID at file:line and key path, with a fix that speaks of the file', () => {
    const yaml = 'version: 1\ntargets:\n  t: { type: redis, host: h, port: 1 }\nsecrets:\n  app/x:\n    type: app-secret\n    target: pg\n  app/y:\n    type: app-secret\n    colour: blue\n';
    let caught: unknown;
    try {
      parseConfig(yaml, {}, 'conf/keyturn.yaml');
    } catch (e) {
      caught = e;
    }
    expect(isKeyturnError(caught, 'KT_CONFIG_FILE_INVALID')).toBe(true);
    const e = caught as Error & { fix: string; status: number; details: { issues: string[] } };
    expect(e.details.issues).toEqual([
      expect.stringMatching(/^conf\/keyturn\.yaml:7: secrets\.app\/x\.target: unknown target "pg"/),
      expect.stringMatching(/^conf\/keyturn\.yaml:10: secrets\.app\/y: /),
    ]);
    expect(e.status).toBe(400);
    expect(e.fix).toBe(ERRORS.KT_CONFIG_FILE_INVALID.fix);
    expect(e.fix).toContain('keyturn.yaml');
    expect(e.fix).not.toMatch(/environment variable or option/);
    expect(parseError('version: 1\nsecrets:\n  a:\n    type: app-secret\n    initial: "${env:NOT_SET_ANYWHERE}"\n')).toMatch(/^keyturn\.yaml:5: secrets\.a\.initial: /);
  });

  it('expands ${env:VAR} only in initial values, and names a missing variable without echoing values', () => {
    const msg = parseError('version: 1\nsecrets:\n  a:\n    type: app-secret\n    initial: "${env:NOT_SET_ANYWHERE}"\n');
    expect(msg).toContain('secrets.a.initial: environment variable NOT_SET_ANYWHERE is not set');
    const c = parseConfig('version: 1\nsecrets:\n  a:\n    type: app-secret\n    description: "${env:HOME}"\n', { HOME: '/root' });
    expect(c.secrets.a!.description).toBe('${env:HOME}');
  });
});

describe('the JSON Schema', () => {
  it('schema/keyturn.schema.json is up to date (run `npm run schema`)', () => {
    const committed = readFileSync(new URL('../schema/keyturn.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(renderJsonSchema());
    const schema = JSON.parse(committed);
    expect(schema.properties.targets).toBeDefined();
    expect(schema.properties.secrets).toBeDefined();
  });
});

describe('plan and apply', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  let kt: Keyturn;
  beforeEach(async () => {
    home = await openTestHome();
    kt = home.kt;
  });
  afterEach(() => home.close());

  it('creates, then reports unchanged, changed and removed entries; never overwrites a stored value', async () => {
    const env = { PG_ADMIN: 'first' };
    const c1 = parseConfig(FULL, env);
    const p1 = await planConfig(kt.state, kt.store, c1);
    expect(p1.filter((p) => p.action !== 'create')).toEqual([]);
    await applyPlan(kt.state, kt.store, c1, p1, kt.clock);
    expect((await kt.store.get('admin/pg'))!.value).toEqual({ username: 'keyturn_admin', password: 'first' });
    expect(typeof (await kt.store.get('app/jwt'))!.value).toBe('string');

    const again = await planConfig(kt.state, kt.store, parseConfig(FULL, { PG_ADMIN: 'second' }));
    expect(again.every((p) => p.action === 'unchanged')).toBe(true);

    const changed = FULL.replace('port: 6379', 'port: 6380').replace(/ {2}app\/jwt:\n {4}type: app-secret\n {4}description: JWT key\n/, '');
    const c3 = parseConfig(changed, env);
    const p3 = await planConfig(kt.state, kt.store, c3);
    expect(p3.filter((p) => p.action !== 'unchanged')).toEqual([
      { kind: 'target', name: 'cache', action: 'change', changed: ['port'] },
      { kind: 'policy', name: 'app/jwt', action: 'remove' },
    ]);
    await applyPlan(kt.state, kt.store, c3, p3, kt.clock);
    expect((await planConfig(kt.state, kt.store, c3)).every((p) => p.action === 'unchanged')).toBe(true);
    expect((await kt.store.get('admin/pg'))!.value).toEqual({ username: 'keyturn_admin', password: 'first' });
    expect(await kt.store.describe('app/jwt')).not.toBeNull();
    const rows = await kt.state.db.selectFrom('secret_policies').select('config').execute();
    expect(rows.map((r) => r.config).join('')).not.toContain('first');
  });
});

describe('the backups: section in plan and apply', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  beforeEach(async () => {
    home = await openTestHome();
  });
  afterEach(() => home.close());

  it('is stored whole in kt_settings (name backups), with its defaults, and planned as create, unchanged, change, remove', async () => {
    const { kt } = home;
    const base = 'version: 1\nbackups:\n  folder: /var/backups/keyturn\n  recipient: /etc/keyturn/backup.pub\n';
    const plan = async (yaml: string) => (await planConfig(kt.state, kt.store, parseConfig(yaml, {}))).filter((p) => p.kind === 'backups');
    const apply = async (yaml: string) => {
      const config = parseConfig(yaml, {});
      await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
    };
    expect(await plan(base)).toEqual([{ kind: 'backups', name: 'backups', action: 'create' }]);
    await apply(base);
    const row = await kt.state.db.selectFrom('kt_settings').select('value').where('name', '=', 'backups').executeTakeFirstOrThrow();
    expect(JSON.parse(row.value)).toEqual({ folder: '/var/backups/keyturn', every: '24h', keep: 7, recipient: '/etc/keyturn/backup.pub' });
    expect(await plan(base)).toEqual([{ kind: 'backups', name: 'backups', action: 'unchanged' }]);
    expect(await plan(`${base}  keep: 30\n`)).toEqual([{ kind: 'backups', name: 'backups', action: 'change', changed: ['keep'] }]);
    expect(await plan('version: 1\n')).toEqual([{ kind: 'backups', name: 'backups', action: 'remove' }]);
    await apply('version: 1\n');
    expect(await kt.state.db.selectFrom('kt_settings').select('value').where('name', '=', 'backups').executeTakeFirst()).toBeUndefined();
  });
});

describe.each([
  ['SQLite', sqliteState],
  ['PostgreSQL', postgresState],
] as const)('applyPlan is all or nothing on %s', (_name, open) => {
  let t: TestState;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.close());

  /** A store whose put of `failOn` fails after the puts before it went through, as a write that breaks midway. */
  class FailingStore extends EmbeddedStore {
    constructor(
      t: TestState,
      private readonly failOn: string,
    ) {
      super(t.state, t.ring);
    }
    override async putWithin(trx: Transaction<Schema>, path: string, value: SecretValue, options?: PutOptions) {
      if (path === this.failOn) throw new KeyturnError('KT_DATABASE_UNAVAILABLE', 'the connection broke');
      return super.putWithin(trx, path, value, options);
    }
  }

  it('a put failing on the second value leaves no first value, policy or audit record; the same plan then applies in full', async () => {
    const config = parseConfig('version: 1\nsecrets:\n  a/first:\n    type: app-secret\n    initial: one\n  b/second:\n    type: app-secret\n    initial: two\n', {});
    const failing = new FailingStore(t, 'b/second');
    const plan = await planConfig(t.state, failing, config);
    const audited: string[] = [];
    const audit = async (_trx: Transaction<Schema>, applied: readonly { name: string }[]) => {
      audited.push(...applied.map((a) => a.name));
    };
    await expect(applyPlan(t.state, failing, config, plan, systemClock, audit)).rejects.toMatchObject({ code: 'KT_DATABASE_UNAVAILABLE' });
    expect(await t.state.db.selectFrom('secrets').select('path').execute()).toEqual([]);
    expect(await t.state.db.selectFrom('secret_versions').select('id').execute()).toEqual([]);
    expect(await t.state.db.selectFrom('secret_policies').select('path').execute()).toEqual([]);
    expect(audited).toEqual([]);

    const store = new EmbeddedStore(t.state, t.ring);
    await applyPlan(t.state, store, config, plan, systemClock, audit);
    expect((await store.get('a/first'))?.value).toBe('one');
    expect((await store.get('b/second'))?.value).toBe('two');
    expect(audited).toEqual(['a/first', 'b/second']);
  });

  it('a policy write failing after the values rolls the values back too', async () => {
    const config = parseConfig('version: 1\nsecrets:\n  a/first:\n    type: app-secret\n    initial: one\n', {});
    const store = new EmbeddedStore(t.state, t.ring);
    const plan = await planConfig(t.state, store, config);
    const audit = async () => {
      throw new KeyturnError('KT_AUDIT_WRITE_FAILED', 'no room for the event');
    };
    await expect(applyPlan(t.state, store, config, plan, systemClock, audit)).rejects.toMatchObject({ code: 'KT_AUDIT_WRITE_FAILED' });
    expect(await store.describe('a/first')).toBeNull();
    expect(await t.state.db.selectFrom('secret_policies').select('path').execute()).toEqual([]);
  });
});
