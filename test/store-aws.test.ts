/**
 * The AWS Secrets Manager store through the official SDK against the local server
 * (test/servers/aws): the SecretStore contract, then what is particular to AWS: config checks,
 * credentials refused, the service down or throttling, values kept out of errors, what an
 * application reading AWS directly sees, idempotent retries, pages and the name prefix.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { GetSecretValueCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient, DescribeSecretCommand, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { expectCode, rejection, runStoreContract, type ContractOptions } from '../src/contracts/store-contract.js';
import { DAY_MS, manualClock, type Clock } from '../src/core/clock.js';
import type { StoreDeps } from '../src/stores/deps.js';
import type { SecretStore } from '../src/stores/store.js';
import type { Version } from '../src/core/types.js';
import { create } from '../src/stores/aws/module.js';
import { awsStoreEntry } from '../src/stores/aws/entry.js';
import { finalLabel, infoLabel, tokenFor } from '../src/stores/aws/labels.js';
import { AWS_TEST_ACCESS_KEY_ID, AWS_TEST_SECRET_ACCESS_KEY, startAwsServer, type AwsServer } from './servers/aws/server.js';

const saved: Record<string, string | undefined> = {};
const ENV = { AWS_ACCESS_KEY_ID: AWS_TEST_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: AWS_TEST_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined } as const;

beforeAll(() => {
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** The module's factory with a config as a YAML file would hold it (checked by the factory). */
function createAws(config: Record<string, unknown>, d: StoreDeps): SecretStore {
  return create(config as { type: string }, d);
}

function deps(clock: Clock, options: Partial<ContractOptions> = {}): StoreDeps {
  return {
    clock,
    settings: {
      maxValueBytes: options.maxValueBytes ?? 64 * 1024,
      maxVersions: options.maxVersions ?? 100,
      retentionDays: (options.retentionMs ?? 7 * DAY_MS) / DAY_MS,
      purgeProtection: options.purgeProtection ?? true,
    },
  } as unknown as StoreDeps;
}

runStoreContract({
  name: 'aws through @aws-sdk/client-secrets-manager against the local server',
  make: async ({ clock, options }) => {
    const server = await startAwsServer({ clock });
    const store = createAws({ type: 'aws', region: 'us-east-1', endpoint: server.url }, deps(clock, options));
    return {
      store,
      close: async () => {
        await store.close?.();
        await server.close();
      },
    };
  },
});

describe('aws store', () => {
  let server: AwsServer;
  let store: SecretStore;
  const clock = manualClock();
  const opened: Array<SecretStore> = [];
  const open = (extra: Record<string, unknown> = {}, d: StoreDeps = deps(clock)): SecretStore => {
    const s = createAws({ type: 'aws', region: 'us-east-1', endpoint: server.url, ...extra }, d);
    opened.push(s);
    return s;
  };
  const app = (): SecretsManagerClient => new SecretsManagerClient({ region: 'us-east-1', endpoint: server.url });

  beforeAll(async () => {
    server = await startAwsServer({ clock });
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close?.();
    server.faults.clear();
  });
  afterAll(async () => {
    await server.close();
  });

  test('the entry loads the module; a config that does not check is KT_STORE_CONFIG_INVALID, naming the key, never a credential', async () => {
    const module = await awsStoreEntry.load();
    expect(module.configSchema.safeParse({ type: 'aws', region: 'eu-west-1', prefix: 'keyturn/', profile: 'ops' }).success).toBe(true);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'aws' }, /region/],
      [{ type: 'aws', region: 'Europe' }, /region/],
      [{ type: 'aws', region: 'eu-west-1', endpoint: 'not a url' }, /endpoint/],
      [{ type: 'aws', region: 'eu-west-1', prefix: 'has space/' }, /prefix/],
      [{ type: 'aws', region: 'eu-west-1', secretAccessKey: 'wJalrXUtnFEMI-do-not-print' }, /secretAccessKey/],
    ];
    for (const [config, key] of bad) {
      const e = await rejection(async () => createAws(config, deps(clock)));
      expect(e.code).toBe('KT_STORE_CONFIG_INVALID');
      expect(e.message).toMatch(key);
      expect(e.message).not.toContain('wJalrXUtnFEMI');
    }
  });

  test('opens no connection until first used', async () => {
    const before = [...server.calls.values()].reduce((a, b) => a + b, 0);
    const s = open();
    expect([...server.calls.values()].reduce((a, b) => a + b, 0)).toBe(before);
    await s.describe('nothing/here');
    expect([...server.calls.values()].reduce((a, b) => a + b, 0)).toBe(before + 1);
  });

  test('an application reading GetSecretValue(AWSCURRENT) directly sees Keyturn current, as it was put', async () => {
    store = open();
    const v1 = await store.put('app/direct', { username: 'app', password: 'p1' });
    const v2 = await store.put('app/direct', { username: 'app', password: 'p2' }, { stages: ['pending'] });
    const sm = app();
    const read = async (stage: string) => (await sm.send(new GetSecretValueCommand({ SecretId: 'app/direct', VersionStage: stage }))).SecretString;
    expect(JSON.parse((await read('AWSCURRENT'))!)).toEqual({ username: 'app', password: 'p1' });
    expect(JSON.parse((await read('AWSPENDING'))!)).toEqual({ username: 'app', password: 'p2' });
    await store.moveStage('app/direct', 'current', v2.id, v1.id);
    expect(JSON.parse((await read('AWSCURRENT'))!)).toEqual({ username: 'app', password: 'p2' });
    expect(JSON.parse((await read('AWSPREVIOUS'))!)).toEqual({ username: 'app', password: 'p1' });
    // Keyturn's own labels ride along: its id, its kind and its number; the VersionId is the id's token.
    const raw = await sm.send(new GetSecretValueCommand({ SecretId: 'app/direct' }));
    expect(raw.VersionId).toBe(tokenFor(v2.id));
    expect(raw.VersionStages?.sort()).toEqual(['AWSCURRENT', finalLabel(2, 'json', v2.id)].sort());
    sm.destroy();
  });

  test('a string that looks like JSON comes back a string; an app reads it as stored', async () => {
    store = open();
    await store.put('app/jsonish', '{"a":1}');
    expect(await store.get('app/jsonish')).toMatchObject({ kind: 'string', value: '{"a":1}' });
    const sm = app();
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'app/jsonish' }))).SecretString).toBe('{"a":1}');
    sm.destroy();
  });

  test('the first version of a secret is AWSCURRENT whatever its stages (AWS attaches it); Keyturn reports what AWS holds', async () => {
    store = open();
    const p = await store.put('app/first-pending', 'p', { stages: ['pending'] });
    expect(p).toMatchObject({ number: 1, stages: ['current', 'pending'] });
    expect((await store.get('app/first-pending'))?.id).toBe(p.id);
    const sm = app();
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'app/first-pending' }))).SecretString).toBe('p');
    // A later pending version leaves current alone, as everywhere.
    const p2 = await store.put('app/first-pending', 'p2', { stages: ['pending'] });
    expect(await store.versions('app/first-pending')).toMatchObject([
      { id: p2.id, stages: ['pending'] },
      { id: p.id, stages: ['current'] },
    ]);
    sm.destroy();
  });

  test('a put retried with the same version id (another process) writes no second version', async () => {
    store = open();
    await store.put('app/retry', 'one');
    const first = await store.put('app/retry', 'two', { versionId: 'run-42', expectCurrentVersion: 1 });
    const other = open();
    const again = await other.put('app/retry', 'two', { versionId: 'run-42', expectCurrentVersion: 1 });
    expect(again).toMatchObject({ id: 'run-42', number: first.number, stages: ['current'] });
    const sm = app();
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'app/retry', IncludeDeprecated: true }));
    expect(all.Versions).toHaveLength(2);
    sm.destroy();
  });

  test('a put that stopped after writing its version (before its number) is finished by its retry', async () => {
    store = open();
    await store.put('app/crash', 'one');
    // What a process killed after PutSecretValue leaves: the version with its id label, no number, no stage.
    const sm = app();
    await sm.send(new PutSecretValueCommand({ SecretId: 'app/crash', ClientRequestToken: tokenFor('run-9'), SecretString: 'two', VersionStages: [infoLabel('string', 'run-9')] }));
    expect((await store.versions('app/crash')).map((v) => v.number)).toEqual([1]);
    const v = await store.put('app/crash', 'two', { versionId: 'run-9', expectCurrentVersion: 1 });
    expect(v).toMatchObject({ id: 'run-9', number: 2, stages: ['current'], value: 'two' });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'app/crash' }))).SecretString).toBe('two');
    sm.destroy();
  });

  test('a put that loses its race leaves no listed version (its labels are removed)', async () => {
    store = open();
    await store.put('app/lost', 'one');
    await store.put('app/lost', 'two');
    await expectCode(() => store.put('app/lost', 'three', { versionId: 'late-run', expectCurrentVersion: 1, stages: ['current'] }), 'KT_VERSION_MISMATCH');
    expect((await store.versions('app/lost')).map((v) => v.number)).toEqual([2, 1]);
    // The same id put again over the right version gets its labels back and becomes current.
    expect(await store.put('app/lost', 'three', { versionId: 'late-run', expectCurrentVersion: 2 })).toMatchObject({ id: 'late-run', number: 3, stages: ['current'] });
    await expectCode(() => store.put('app/lost', 'other', { versionId: 'late-run' }), 'KT_VERSION_CONFLICT');
    const pending = await store.put('app/lost', 'four', { versionId: 'late-pending', stages: ['pending'], expectCurrentVersion: 1 }).catch(() => null);
    expect(pending).toBeNull();
    expect((await store.versions('app/lost')).map((v) => v.number)).toEqual([3, 2, 1]);
  });

  test('five processes putting at once get five different numbers; of four expecting the same current, one wins', async () => {
    const writers = [1, 2, 3, 4, 5].map(() => open());
    await writers[0]!.put('app/many', 'v1');
    const made = await Promise.all(writers.map((w, i) => w.put('app/many', `w${i}`)));
    expect(made.map((v) => v.number).sort()).toEqual([2, 3, 4, 5, 6]);
    expect((await writers[0]!.versions('app/many')).map((v) => v.number)).toEqual([6, 5, 4, 3, 2, 1]);
    const current = (await writers[0]!.get('app/many'))!.number;
    const raced = await Promise.allSettled(writers.slice(0, 4).map((w, i) => w.put('app/many', `c${i}`, { expectCurrentVersion: current })));
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of raced) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: current, actual: 7 } });
    expect((await writers[0]!.versions('app/many')).map((v) => v.number)).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  test('within AWS quota of 20 staging labels a secret: the oldest unstaged versions leave the history, newest 15 stay', async () => {
    store = open();
    const made: Version[] = [];
    for (let i = 1; i <= 20; i++) made.push(await store.put('app/long', `v${i}`));
    const kept = await store.versions('app/long');
    // One label a version, two AWS stages, room for a put's four: 15 versions.
    expect(kept.map((v) => v.number)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6]);
    expect(kept.slice(0, 2).map((v) => v.stages)).toEqual([['current'], ['previous']]);
    const sm = app();
    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'app/long' }));
    expect(Object.values(d.VersionIdsToStages ?? {}).flat().length).toBeLessThanOrEqual(20);
    // The dropped versions' values are still AWS's (deprecated, kept at least a day), readable by VersionId.
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'app/long', VersionId: tokenFor(made[0]!.id) }))).SecretString).toBe('v1');
    await expectCode(() => store.get('app/long', { versionId: made[0]!.id }), 'KT_VERSION_NOT_FOUND');
    sm.destroy();
  });

  test('wrong secret key -> KT_STORE_AUTH_FAILED; unknown access key too; the value is never in the message', async () => {
    const wrong = { ...process.env };
    try {
      process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret-key';
      const e = await rejection(() => open().put('app/auth', 'value-that-must-not-leak'));
      expect(e.code).toBe('KT_STORE_AUTH_FAILED');
      expect(e.message).toContain('InvalidSignatureException');
      expect(e.message).not.toContain('value-that-must-not-leak');
      expect(e.message).not.toContain('not-the-secret-key');
      process.env.AWS_ACCESS_KEY_ID = 'AKIAUNKNOWNKEY000000';
      expect((await rejection(() => open().get('app/auth'))).code).toBe('KT_STORE_AUTH_FAILED');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = wrong.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY = wrong.AWS_SECRET_ACCESS_KEY;
    }
  });

  test('the server refuses an unsigned request in the AWS error shape', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });

  test('the service down -> KT_STORE_UNAVAILABLE naming the endpoint', async () => {
    const down = await startAwsServer({ clock });
    await down.close();
    const s = createAws({ type: 'aws', region: 'us-east-1', endpoint: down.url }, deps(clock));
    opened.push(s);
    const e = await rejection(() => s.put('app/down', 'value-that-must-not-leak'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).toContain(down.url);
    expect(e.message).not.toContain('value-that-must-not-leak');
  });

  test('throttling and 500s are absorbed by the SDK retries; past them -> KT_STORE_UNAVAILABLE', async () => {
    store = open();
    await store.put('app/busy', 'one');
    server.faults.throttle(2, 'GetSecretValue');
    expect((await store.get('app/busy'))?.value).toBe('one');
    server.faults.internalError(1, 'DescribeSecret');
    expect((await store.describe('app/busy'))?.versionCount).toBe(1);
    server.faults.throttle(50, 'GetSecretValue');
    const e = await rejection(() => store.get('app/busy'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).toContain('ThrottlingException');
  });

  test('a different value under a used version id is KT_VERSION_CONFLICT without either value in the message', async () => {
    store = open();
    await store.put('app/conflict', 'first-secret-value', { versionId: 'v-1' });
    const e = await rejection(() => store.put('app/conflict', 'second-secret-value', { versionId: 'v-1' }));
    expect(e.code).toBe('KT_VERSION_CONFLICT');
    expect(e.message).not.toMatch(/first-secret-value|second-secret-value/);
  });

  test('recovery windows past AWS 30 days are refused; the window and its end are AWS own', async () => {
    store = open();
    await store.put('app/window', 'v');
    const e = await rejection(() => store.remove('app/window', { recoveryDays: 31 }));
    expect(e).toMatchObject({ code: 'KT_RECOVERY_DAYS_INVALID' });
    expect(e.message).toContain('30');
    const info = await store.remove('app/window', { recoveryDays: 10 });
    expect(info.purgeAfter! - info.deletedAt!).toBe(10 * DAY_MS);
    const sm = app();
    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'app/window' }));
    expect(d.DeletedDate?.getTime()).toBe(info.deletedAt);
    await expectCode(() => store.purge('app/window'), 'KT_PURGE_PROTECTED');
    expect(await store.describe('app/window')).toMatchObject({ deletedAt: info.deletedAt });
    await store.restore('app/window');
    sm.destroy();
  });

  test('ListSecrets is eventually consistent: a new secret may be missing from list for a while, never from reads by path', async () => {
    const lagging = await startAwsServer({ clock, listLagMs: 5 * 60_000 });
    try {
      const s = createAws({ type: 'aws', region: 'us-east-1', endpoint: lagging.url }, deps(clock));
      opened.push(s);
      await s.put('app/new', 'v');
      const listed = async () => {
        const out: string[] = [];
        for await (const p of s.list('')) out.push(p);
        return out;
      };
      expect(await listed()).toEqual([]);
      expect((await s.get('app/new'))?.value).toBe('v');
      clock.advance(5 * 60_000);
      expect(await listed()).toEqual(['app/new']);
    } finally {
      await lagging.close();
    }
  });

  test('lists through every page and only under the store prefix', async () => {
    const paged = await startAwsServer({ clock, maxPageSize: 2 });
    try {
      const s = createAws({ type: 'aws', region: 'us-east-1', endpoint: paged.url, prefix: 'keyturn/' }, deps(clock));
      opened.push(s);
      const paths = ['a/1', 'a/2', 'a/3', 'b/1', 'a/4'];
      for (const p of paths) await s.put(p, 'v');
      const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: paged.url });
      await sm.send(new CreateSecretCommand({ Name: 'other-team/a/9', SecretString: 'x' }));
      // A name under the prefix that is no Keyturn path ("+") is not listed either.
      await sm.send(new CreateSecretCommand({ Name: 'keyturn/a/5+x', SecretString: 'x' }));
      sm.destroy();
      const all: string[] = [];
      for await (const p of s.list('')) all.push(p);
      expect(all).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'b/1']);
      const under: string[] = [];
      for await (const p of s.list('a')) under.push(p);
      expect(under).toEqual(['a/1', 'a/2', 'a/3', 'a/4']);
      expect(paged.model.names()).toContain('keyturn/a/1');
      expect(paged.calls.get('ListSecrets')).toBeGreaterThanOrEqual(3);
    } finally {
      await paged.close();
    }
  });
});
