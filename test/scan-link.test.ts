/**
 * The scan linkage (src/scan/link/) against real homes: a found value is hashed under the audit
 * HMAC keys and looked up in the value index, never compared by opening secrets. A current value
 * found is rotated at once (a real run) and recorded as `secret.leaked` with the finding's
 * fingerprint and FILE:LINE and no value; an old value is reported as "old value of PATH",
 * recorded, not rotated; an unrelated value matches nothing. A fields secret is matched on one
 * field's value: a leaked PostgreSQL password (password-auth cluster, 55432) found through
 * `linkAndMaybeRotate` is rotated, after which it no longer logs in and the new one does. The
 * index is kept on a PostgreSQL state database and with an outside primary store (the repo's local
 * Vault server, test/servers/vault/), and backfilled from the audit log by migration 0020.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/cli/app.js';
import { localClient } from '../src/client/local.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { linkAndMaybeRotate } from '../src/scan/link/index.js';
import { rotateLeaked } from '../src/scan/link/leaked.js';
import { linkFindings } from '../src/scan/link/link.js';
import type { LinkableFinding } from '../src/scan/link/types.js';
import { runCli } from './helpers/cli.js';
import { stoppedRun } from './helpers/stopped-run.js';
import { outsideStoreFixture } from './helpers/outside-stores.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { applyYaml, openTestHome, postgresSchemaUrl, tempDir } from './helpers/state.js';
import { initHome } from '../src/runtime/keyturn.js';
import { sql } from 'kysely';

const YAML = `version: 1
secrets:
  app/token:
    type: app-secret
  app/other:
    type: app-secret
`;

const finding = (secret: string, n = 1): LinkableFinding => ({ ruleId: 'generic-api-key', secret, fingerprint: `fp${n}0a1b2c3d`, file: `src/config-${n}.ts`, line: 10 + n, column: 7 });

/** Every audit leaf of a home, as stored. */
function leaves(kt: Keyturn): Promise<string[]> {
  return kt.state.db
    .selectFrom('audit_leaves')
    .select('leaf')
    .orderBy('seq')
    .execute()
    .then((rows) => rows.map((r) => r.leaf));
}

const leakEvents = async (kt: Keyturn) => (await leaves(kt)).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.action === 'secret.leaked');

describe('linkFindings and rotateLeaked on a local home', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  let kt: Keyturn;
  let leaked: string;

  beforeEach(async () => {
    home = await openTestHome();
    kt = home.kt;
    await applyYaml(kt, YAML);
    leaked = `sk_live_${randomBytes(18).toString('base64url')}`;
    await kt.store.put('app/token', leaked, { stages: ['current'] });
    await kt.store.put('app/other', `other-${randomBytes(12).toString('hex')}`, { stages: ['current'] });
  });
  afterEach(async () => home.close());

  it('a current value found: a rotation run is started and done, secret.leaked carries fingerprint and location, no value anywhere in the log', async () => {
    const before = await kt.store.get('app/token');
    const linked = await linkFindings([finding(leaked)], { kt });
    expect(linked[0]!.match).toEqual({ path: 'app/token', versionId: before!.id, stage: 'current', label: 'managed secret app/token' });

    const actions = await rotateLeaked(linked, { kt, runs: localClient(kt).runs });
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ path: 'app/token', stage: 'current', action: 'rotated', runStatus: 'done', error: null });
    const after = await kt.store.get('app/token');
    expect(after!.id).not.toBe(before!.id);
    expect(after!.value).not.toBe(leaked);
    const run = await localClient(kt).runs.get(actions[0]!.runId!);
    expect(run).toMatchObject({ path: 'app/token', status: 'done' });

    const events = await leakEvents(kt);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'secret.leaked', outcome: 'success', path: 'app/token', versionId: before!.id, fingerprint: 'fp10a1b2c3d', location: 'src/config-1.ts:11' });
    const all = (await leaves(kt)).join('\n');
    expect(all).not.toContain(leaked);
    expect(all).toContain('"action":"scan.link"');
    // The emergency request was settled by the new value: nothing stays due for it.
    const due = await kt.state.db.selectFrom('schedule_due').select(['priority', 'requested_at']).where('path', '=', 'app/token').executeTakeFirst();
    expect(due?.requested_at ?? null).toBeNull();
  });

  it('the previous value found: "old value of PATH", audited as leaked, not rotated', async () => {
    const runs = localClient(kt).runs;
    const first = await kt.store.get('app/token');
    const rotated = await runs.rotate('app/token', { wait: false });
    expect(rotated.run.status).toBe('done');
    const runsBefore = (await runs.list({ path: 'app/token', limit: 50 })).length;

    const linked = await linkFindings([finding(leaked, 2)], { kt });
    expect(linked[0]!.match).toEqual({ path: 'app/token', versionId: first!.id, stage: 'previous', label: 'old value of app/token' });
    const actions = await rotateLeaked(linked, { kt, runs });
    expect(actions[0]).toMatchObject({ path: 'app/token', stage: 'previous', action: 'not-rotated', runId: null });
    expect(actions[0]!.note).toContain('old value of app/token: already rotated');
    expect((await runs.list({ path: 'app/token', limit: 50 })).length).toBe(runsBefore);
    expect(await leakEvents(kt)).toEqual([expect.objectContaining({ path: 'app/token', versionId: first!.id, fingerprint: 'fp20a1b2c3d', location: 'src/config-2.ts:12' })]);
    expect((await leaves(kt)).join('\n')).not.toContain(leaked);
  });

  it('a pending value found (an unfinished run would make it current): that run is cancelled, a fresh run rotates, the leaked value is current nowhere', async () => {
    const stopped = await stoppedRun(kt, 'app/token');
    expect(stopped.status).toBe('retrying');
    const pending = await kt.store.get('app/token', { stage: 'pending' });
    expect(pending).not.toBeNull();
    const linked = await linkFindings([finding(pending!.value as string, 8)], { kt });
    expect(linked[0]!.match).toMatchObject({ path: 'app/token', versionId: pending!.id, stage: 'pending', label: 'managed secret app/token' });

    const runs = localClient(kt).runs;
    const [action] = await rotateLeaked(linked, { kt, runs });
    expect(action).toMatchObject({ path: 'app/token', stage: 'pending', action: 'rotated', cancelledRunId: stopped.id, runStatus: 'done' });
    expect(action!.runId).not.toBe(stopped.id);
    expect((await runs.get(stopped.id)).status).toBe('cancelled');
    const current = await kt.store.get('app/token');
    expect(current!.value).not.toBe(pending!.value);
    expect(current!.value).not.toBe(leaked);
    expect((await leaves(kt)).join('\n')).not.toContain(pending!.value as string);
  });

  it('an unrelated value matches nothing, records no leak and rotates nothing', async () => {
    const linked = await linkFindings([finding(`sk_live_${randomBytes(18).toString('base64url')}`, 3), finding('', 4)], { kt });
    expect(linked.map((l) => l.match)).toEqual([null, null]);
    expect(await rotateLeaked(linked, { kt, runs: localClient(kt).runs })).toEqual([]);
    expect(await leakEvents(kt)).toEqual([]);
  });

  it('a fields value is matched on one field; the same value twice is one rotation; a value put before an HMAC key rotation still matches', async () => {
    const password = `pw-${randomBytes(16).toString('hex')}`;
    const v = await kt.store.put('app/conn', { host: 'db.internal', username: 'app', password }, { stages: ['current'] });
    await kt.audit.rotateHmacKey();
    const linked = await linkFindings([finding(password, 5), finding(password, 6), finding(leaked, 7)], { kt });
    expect(linked[0]!.match).toEqual({ path: 'app/conn', versionId: v.id, stage: 'current', label: 'managed secret app/conn', field: 'password' });
    expect(linked[1]!.match).toEqual(linked[0]!.match);
    expect(linked[2]!.match).toMatchObject({ path: 'app/token', stage: 'current' });
    // app/conn has no policy: the leak is recorded, the request refused, nothing rotated.
    const actions = await rotateLeaked(linked, { kt, runs: localClient(kt).runs });
    expect(actions.map((a) => [a.path, a.action])).toEqual([
      ['app/conn', 'not-rotated'],
      ['app/token', 'rotated'],
    ]);
    expect(actions[0]!.error?.code).toBe('KT_POLICY_NOT_FOUND');
    expect((await leakEvents(kt)).map((e) => [e.path, e.location])).toEqual([
      ['app/conn', 'src/config-5.ts:15'],
      ['app/conn', 'src/config-6.ts:16'],
      ['app/token', 'src/config-7.ts:17'],
    ]);
    expect((await leaves(kt)).join('\n')).not.toContain(password);
  });

  it('the index is backfilled from the audit log for a home from before it (whole values only)', async () => {
    // As a home from before migration 0020: no index table, the migration not applied.
    const raw = new DatabaseSync(join(home.dir, 'home', 'keyturn.db'));
    raw.exec("DROP TABLE value_hmacs; DELETE FROM kysely_migration WHERE name = '0020_value_hmacs'");
    raw.close();
    const reopened = await openKeyturn(loadSettings({ KEYTURN_HOME: join(home.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      const linked = await linkFindings([finding(leaked)], { kt: reopened });
      expect(linked[0]!.match).toMatchObject({ path: 'app/token', stage: 'current' });
    } finally {
      await reopened.close();
    }
  });
});

describe('the value index on a PostgreSQL state database', () => {
  it('is kept by each put and backfilled by migration 0020 from the audit log', async () => {
    const tmp = tempDir();
    const pg = await postgresSchemaUrl('kt_scanlink');
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', KEYTURN_DATABASE_URL: pg.url };
    try {
      await initHome(loadSettings(env));
      const value = `tok_${randomBytes(16).toString('hex')}`;
      const password = `pw_${randomBytes(16).toString('hex')}`;
      let kt = await openKeyturn(loadSettings(env));
      try {
        await kt.store.put('app/token', value, { stages: ['current'] });
        await kt.store.put('app/conn', { username: 'app', password }, { stages: ['current'] });
        const linked = await linkFindings([finding(value), finding(password, 2)], { kt });
        expect(linked.map((l) => [l.match?.path, l.match?.field])).toEqual([
          ['app/token', undefined],
          ['app/conn', 'password'],
        ]);
        await sql`DROP TABLE value_hmacs`.execute(kt.state.db);
        await sql`DELETE FROM kysely_migration WHERE name = '0020_value_hmacs'`.execute(kt.state.db);
      } finally {
        await kt.close();
      }
      kt = await openKeyturn(loadSettings(env));
      try {
        // Backfilled: whole values only (a field's own hash was never in the audit log).
        const linked = await linkFindings([finding(value), finding(password, 2)], { kt });
        expect(linked.map((l) => l.match?.path ?? null)).toEqual(['app/token', null]);
      } finally {
        await kt.close();
      }
    } finally {
      await pg.drop();
      tmp.remove();
    }
  });
});

describe('the value index with an outside primary store (Vault, through its local server)', () => {
  it('a put and a rotation in the outside store are linked, fields too; a leaked current value is rotated there', async () => {
    const vault = await outsideStoreFixture('vault');
    const tmp = tempDir();
    try {
      const settings = loadSettings({ KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', KEYTURN_STORE_FILE: vault.storeFile() });
      await initHome(settings);
      const kt = await openKeyturn(settings);
      try {
        expect(kt.store.kind).toBe('vault');
        await applyYaml(kt, YAML);
        const value = `tok_${randomBytes(16).toString('hex')}`;
        const password = `pw_${randomBytes(16).toString('hex')}`;
        await kt.store.put('app/token', value, { stages: ['current'] });
        await kt.store.put('app/conn', { username: 'app', password }, { stages: ['current'] });
        const linked = await linkFindings([finding(value), finding(password, 2)], { kt });
        expect(linked.map((l) => [l.match?.path, l.match?.stage, l.match?.field])).toEqual([
          ['app/token', 'current', undefined],
          ['app/conn', 'current', 'password'],
        ]);
        const [action] = await rotateLeaked(linked.slice(0, 1), { kt, runs: localClient(kt).runs });
        expect(action).toMatchObject({ path: 'app/token', action: 'rotated', runStatus: 'done' });
        // The rotated-to version was indexed too: its value is found as current, the leaked one as previous.
        const current = await kt.store.get('app/token');
        const after = await linkFindings([finding(value), finding(current!.value as string, 3)], { kt });
        expect(after.map((l) => l.match?.stage)).toEqual(['previous', 'current']);
      } finally {
        await kt.close();
      }
    } finally {
      tmp.remove();
      await vault.close();
    }
  });
});

describe('linkAndMaybeRotate, as keyturn scan --rotate calls it', () => {
  let fx: RotationFixture<'postgres'>;
  beforeEach(async () => {
    fx = await rotationFixture('postgres', 'single-user');
  });
  afterEach(async () => fx.close());

  const app = (env: Record<string, string>) => createApp({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env: { ...env, KEYTURN_LOG_LEVEL: 'silent' } });

  it('a leaked PostgreSQL password (a field of app/db) is rotated: it no longer logs in, the new one does', async () => {
    const got = await runCli(['secret', 'get', 'app/db', '--json'], { env: fx.env });
    expect(got.code, got.stderr).toBe(0);
    const old = (JSON.parse(got.stdout) as { value: { username: string; password: string } }).value;
    expect(await fx.logsIn(old)).toBe(true);

    const linked = await linkAndMaybeRotate([finding(old.password, 8)], { rotate: true, app: app(fx.env), opts: {} });
    expect(linked[0]!.match).toMatchObject({ path: 'app/db', stage: 'current', label: 'managed secret app/db', field: 'password' });
    expect(linked[0]!.action).toMatchObject({ action: 'rotated', runStatus: 'done' });
    expect(linked[0]!.finding.secret).toBe(old.password);

    const now = (JSON.parse((await runCli(['secret', 'get', 'app/db', '--json'], { env: fx.env })).stdout) as { value: { username: string; password: string } }).value;
    expect(now.password).not.toBe(old.password);
    expect(await fx.logsIn(old)).toBe(false);
    expect(await fx.logsIn(now)).toBe(true);

    const log = await runCli(['audit', 'tail', '--json', '-n', '200'], { env: fx.env });
    expect(log.stdout).not.toContain(old.password);
    expect(log.stdout).toContain('secret.leaked');
  });

  it('without --rotate: linked, nothing recorded as leaked, nothing rotated', async () => {
    const got = JSON.parse((await runCli(['secret', 'get', 'app/db', '--json'], { env: fx.env })).stdout) as { version: { id: string }; value: { password: string } };
    const linked = await linkAndMaybeRotate([finding(got.value.password, 9)], { rotate: false, app: app(fx.env), opts: {} });
    expect(linked[0]).toMatchObject({ match: { path: 'app/db', stage: 'current' }, action: null });
    const after = JSON.parse((await runCli(['secret', 'get', 'app/db', '--json'], { env: fx.env })).stdout) as { value: { password: string } };
    expect(after.value.password).toBe(got.value.password);
    const log = (await runCli(['audit', 'tail', '--json', '-n', '200'], { env: fx.env })).stdout;
    expect(log).toContain('scan.link');
    expect(log).not.toContain('secret.leaked');
    expect(log).not.toContain(got.value.password);
  });
});
