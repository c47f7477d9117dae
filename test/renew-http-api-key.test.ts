/**
 * The http-api-key target when the provider makes the keys (`create.response.key`, strategy
 * `renew`), against the local API-key provider of this process (test/helpers/api-key-provider.ts:
 * a create without a key makes one and answers it; at most two active keys per account):
 *
 * - `runRenewContract` (src/contracts/renew-contract.ts), on a provider allowing many keys (the
 *   contract's tests issue without retiring all they made); the foreign value is a key of the same
 *   shape the provider never made. An issue retried for one version id cannot give the same key
 *   back (the provider shows a key once): it ends the key the earlier attempt made and makes
 *   another, which the contract accepts (one live value per version id).
 * - what is particular: a first key from nothing (`account`), the limit of two keys, retire (by
 *   the stored id, and the hand-made first key by the provider's hint), an issue retried after a
 *   create whose answer was lost (the account never holds more than two keys), an answer without
 *   the key, no key or admin token in an error or log line.
 * - `crashRenewSuite` (test/helpers/crash-renew.ts): a real home whose `app/key` (a
 *   database-credential, strategy renew, its first key made by hand) is rotated by a real
 *   `keyturn rotate` SIGKILLed at each step boundary and at seeded random moments. Usable: the key
 *   is active at the provider. After recovery: every active key of the account is one the store
 *   holds. The grace is 1s, and the cleanups due run (the engine's `tend` on a clock an hour ahead)
 *   before each case and before a recovery that is a new rotation, as the scheduler would between
 *   rotations: the provider allows only two keys.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { runRenewContract } from '../src/contracts/renew-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import type { SecretValue } from '../src/core/types.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { keyName } from '../src/targets/http-api-key/keys.js';
import { createTarget } from '../src/targets/registry.js';
import type { Renewer, Target, TargetContext } from '../src/targets/target.js';
import { apiKeyProvider, type ApiKeyProvider } from './helpers/api-key-provider.js';
import { runCli } from './helpers/cli.js';
import { crashRenewSuite, type RenewHome } from './helpers/crash-renew.js';
import { engineWith } from './helpers/engines.js';
import { tempDir } from './helpers/state.js';
import { generatedConfig } from './fixtures/targets/http-api-key.js';

type KeyValue = { username: string; password: string; keyName?: string; keyId?: string };

const firstKey = (): string => `hand_${randomBytes(18).toString('base64url')}`;

runRenewContract({
  name: 'http-api-key (provider-made keys)',
  make: async () => {
    const provider = await apiKeyProvider({ maxActiveKeys: 100 });
    const account = uniqueName('acct');
    provider.addAccount(account);
    return {
      target: createTarget(generatedConfig(provider.url, account)),
      adminValue: { username: 'keyturn', password: provider.adminToken },
      secretParts: (v: SecretValue) => [(v as KeyValue).password],
      // The same shape, a key this provider never made.
      foreign: async () => ({ username: account, password: `pk_${randomBytes(24).toString('base64url')}` }),
      close: () => provider.close(),
    };
  },
});

async function failure(fn: () => Promise<unknown>): Promise<KeyturnError> {
  try {
    await fn();
  } catch (e) {
    if (isKeyturnError(e)) return e;
    throw e;
  }
  throw new Error('expected a KeyturnError');
}

describe('http-api-key target: keys the provider makes', () => {
  let provider: ApiKeyProvider;
  let target: Target;
  let renewer: Renewer;
  const lines: string[] = [];
  const secrets: string[] = [];
  const log = createLogger(
    'trace',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  // A renew run passes the admin secret's value, not a login.
  const ctx = (): TargetContext => ({
    strategy: 'renew',
    admin: null,
    adminValue: { username: 'keyturn', password: provider.adminToken },
    primaryUsername: '',
    log,
    signal: AbortSignal.timeout(30_000),
  });
  const keys = (account: string) => provider.activeKeys(account).map((k) => k.key);
  const issue = async (current: SecretValue | null, versionId = uniqueName('v')): Promise<KeyValue> => {
    const v = (await renewer.issue(ctx(), current, versionId)) as KeyValue;
    secrets.push(v.password);
    return v;
  };
  /** An account with a first key made by hand, as its stored value. */
  function account(): KeyValue {
    const username = uniqueName('acct');
    const key = firstKey();
    secrets.push(key);
    provider.addAccount(username);
    provider.addKey(username, key, 'first-key');
    return { username, password: key };
  }
  const clean = (e: KeyturnError): KeyturnError => {
    const text = `${e.message} ${JSON.stringify(e.toJSON())} ${e.stack ?? ''}`;
    for (const s of [...secrets, provider.adminToken]) expect(text.includes(s), `${e.code} shows a secret`).toBe(false);
    return e;
  };

  beforeAll(async () => {
    provider = await apiKeyProvider();
    target = createTarget(generatedConfig(provider.url, 'acct_default'));
    renewer = target.renewer!;
    provider.addAccount('acct_default');
  });
  afterEach(() => {
    const logs = lines.splice(0).join('');
    for (const s of [...secrets, provider.adminToken]) expect(logs.includes(s), 'a secret reached a log line').toBe(false);
  });
  afterAll(async () => {
    await provider.close();
  });

  it('rotates with renew only; a first key from nothing goes to the configured account, named for its version, with the id the provider gave', async () => {
    expect(target.strategies).toEqual(['renew']);
    const versionId = uniqueName('run');
    const v = await issue(null, versionId);
    const [made] = provider.activeKeys('acct_default');
    expect(v).toEqual({ username: 'acct_default', password: made!.key, keyName: keyName(versionId), keyId: made!.id });
    expect(made!.name).toBe(`keyturn ${keyName(versionId)}`);
    await renewer.check(ctx(), v, { pendingSince: Date.now(), now: Date.now() });
    expect(renewer.renewAt(v)).toBeNull();
    await renewer.retire!(ctx(), v);
    expect(keys('acct_default')).toEqual([]);
  });

  it('the limit of two keys: a renewal during the grace is KT_TARGET_KEY_LIMIT and changes nothing; once the old key is retired it goes through', async () => {
    const first = account();
    const second = await issue({ ...first, host: 'api.example.com' });
    expect(second).toMatchObject({ username: first.username, host: 'api.example.com' });
    expect(keys(first.username)).toEqual([first.password, second.password]);
    const e = clean(await failure(() => issue(second)));
    expect(e.code).toBe('KT_TARGET_KEY_LIMIT');
    expect(keys(first.username)).toEqual([first.password, second.password]);
    // The hand-made first key (no name, no id stored) is found by the provider's hint of it.
    await renewer.retire!(ctx(), first);
    expect(keys(first.username)).toEqual([second.password]);
    const third = await issue(second);
    expect(keys(first.username)).toEqual([second.password, third.password]);
  });

  it('retire ends the key (its id stored), is idempotent, and check then refuses it with KT_TARGET_AUTH_FAILED', async () => {
    const first = account();
    const v = await issue(first);
    await renewer.retire!(ctx(), v);
    await renewer.retire!(ctx(), v);
    expect(keys(first.username)).toEqual([first.password]);
    const e = clean(await failure(() => renewer.check(ctx(), v, { pendingSince: 0, now: Date.now() })));
    expect(e.code).toBe('KT_TARGET_AUTH_FAILED');
    // Without the stored id, the key is found through list by its name.
    const w = await issue(first);
    const { keyId: _id, ...withoutId } = w;
    await renewer.retire!(ctx(), withoutId);
    expect(keys(first.username)).toEqual([first.password]);
  });

  it('an issue retried after a create whose answer was lost revokes the key that attempt made and makes another; the account never holds more than two keys', async () => {
    const first = account();
    const versionId = uniqueName('run');
    provider.dropNext(1, 'create');
    const lost = clean(await failure(() => issue(first, versionId)));
    expect(lost.code).toBe('KT_TARGET_UNAVAILABLE');
    // The provider made it: a key nobody holds, named for the version.
    const orphan = provider.activeKeys(first.username).find((k) => k.name.includes(keyName(versionId)));
    expect(orphan).toBeDefined();
    expect(provider.activeKeys(first.username)).toHaveLength(2);
    const before = provider.requests.length;
    const v = await issue(first, versionId);
    expect(v.password).not.toBe(orphan!.key);
    expect(keys(first.username)).toEqual([first.password, v.password]);
    // list, revoke the orphan, then create: never a third key.
    expect(provider.requests.slice(before).map((r) => `${r.route} ${r.status}`)).toEqual(['list 200', 'revoke 204', 'create 201']);
    await renewer.check(ctx(), v, { pendingSince: 0, now: Date.now() });
  });

  it('a 429 on create is waited out; a 500 is KT_TARGET_UNAVAILABLE and makes nothing', async () => {
    const first = account();
    provider.rateLimitNext(1, 0, 'create');
    const v = await issue(first);
    expect(keys(first.username)).toEqual([first.password, v.password]);
    await renewer.retire!(ctx(), v);
    provider.failNext(1, 'create');
    expect(clean(await failure(() => issue(first))).code).toBe('KT_TARGET_UNAVAILABLE');
    expect(keys(first.username)).toEqual([first.password]);
  });

  it('an answer without the key at create.response.key is KT_TARGET_FAILED, and the key it made is revoked', async () => {
    const other = createTarget({ ...generatedConfig(provider.url), create: { ...generatedConfig(provider.url).create, response: { key: 'data.secret', id: 'id' } } } as never);
    const first = account();
    const e = clean(await failure(() => other.renewer!.issue(ctx(), first, uniqueName('run'))));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('no key at create.response.key (data.secret)');
    expect(keys(first.username)).toEqual([first.password]);
  });

  it('without an account and a current value, issue is KT_TARGET_CONFIG_INVALID; an unknown account is KT_TARGET_USER_MISSING', async () => {
    const noAccount = createTarget(generatedConfig(provider.url));
    expect((await failure(() => noAccount.renewer!.issue(ctx(), null, uniqueName('run')))).code).toBe('KT_TARGET_CONFIG_INVALID');
    expect((await failure(() => renewer.issue(ctx(), { username: 'nobody', password: 'x'.repeat(20) }, uniqueName('run')))).code).toBe('KT_TARGET_USER_MISSING');
  });
});

/** A home whose app/key renews from the local provider (its first key made by hand), with the cleanups the two-key limit needs. */
async function apiKeyHome(): Promise<RenewHome> {
  const provider = await apiKeyProvider();
  const tmp = tempDir('keyturn-renew-api-key-');
  const account = uniqueName('acct');
  provider.addAccount(account);
  const first = firstKey();
  provider.addKey(account, first, 'first-key');
  const home = join(tmp.dir, 'home');
  const env = { KEYTURN_HOME: home };
  const close = async () => {
    await provider.close();
    tmp.remove();
  };
  try {
    const file = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(
      file,
      `version: 1
targets:
  api: ${JSON.stringify({ ...generatedConfig(provider.url), admin: 'admin/api' })}
secrets:
  admin/api:
    type: database-credential
    initial: { username: keyturn, password: "\${env:ADMIN_TOKEN}" }
  app/key:
    type: database-credential
    target: api
    strategy: renew
    initial: { username: ${account}, password: "\${env:FIRST_KEY}" }
    schedule: { every: 90d, grace: 1s }
`,
    );
    for (const argv of [['init'], ['apply', '-f', file]]) {
      const r = await runCli(argv, { env: { ...env, ADMIN_TOKEN: provider.adminToken, FIRST_KEY: first, KEYTURN_LOG_LEVEL: 'silent' } });
      if (r.code !== 0) throw new Error(`keyturn ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    }
  } catch (e) {
    await close();
    throw e;
  }

  /** Runs the cleanups due an hour from now (past the 1s grace); with `onlyCurrent`, then checks the account holds the current key only. */
  async function cleanupsDue(onlyCurrent: boolean): Promise<void> {
    const kt = await openKeyturn(loadSettings({ ...env, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      const engine = engineWith(kt, undefined, { clock: manualClock(Date.now() + 3_600_000) });
      try {
        const { cleanups } = await engine.tend('app/key');
        for (const c of cleanups) expect(c.errorCode, c.detail).toBeNull();
      } catch (e) {
        if (!isKeyturnError(e, 'KT_NOT_DUE')) throw e;
      }
      if (!onlyCurrent) return;
      const current = (await kt.store.get('app/key'))!.value as KeyValue;
      expect(
        provider.activeKeys(account).map((k) => k.key),
        'the account holds a key besides the current one',
      ).toEqual([current.password]);
    } finally {
      await kt.close();
    }
  }

  return {
    env,
    path: 'app/key',
    usable: async (value) => provider.isActive(account, (value as KeyValue).password),
    afterRecovery: async (versions) => {
      const held = new Set(versions.map((v) => (v as KeyValue).password));
      const orphans = provider
        .activeKeys(account)
        .filter((k) => !held.has(k.key))
        .map((k) => `${k.id} ${k.name}`);
      expect(orphans, 'an active key the store does not hold').toEqual([]);
    },
    beforeCase: () => cleanupsDue(true),
    // An unfinished run is resumed by the recovery, which makes no key beyond its own.
    beforeRecovery: async (active) => {
      if (!active) await cleanupsDue(false);
    },
    close,
  };
}

crashRenewSuite('http-api-key (provider-made keys)', apiKeyHome);
