/**
 * kill -9 at every step boundary of a PostgreSQL rotation whose primary store is the aws store (its
 * local server): no lockout. Plus the kill that lands inside finish's stage move: AWS moves
 * AWSCURRENT onto the new version and then takes AWSPENDING off it, in two calls.
 */
import { ListSecretVersionIdsCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli } from './helpers/cli.js';
import { crashSuiteOnStore, keyturn } from './helpers/crash-suite.js';
import { outsideStoreFixture, type OutsideStoreFixture } from './helpers/outside-stores.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';

crashSuiteOnStore('aws');

describe('kill -9 between the two calls of finish on the aws store', () => {
  let store: OutsideStoreFixture;
  let fx: RotationFixture;
  beforeAll(async () => {
    store = await outsideStoreFixture('aws');
    fx = await rotationFixture('postgres', 'single-user', { env: { ...store.env, KEYTURN_STORE_FILE: store.storeFile() } });
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
    await store?.close();
  });

  const stages = async (): Promise<{ current: string | null; pending: string | null }> => {
    const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      return { current: (await kt.store.get(fx.path))?.id ?? null, pending: (await kt.store.get(fx.path, { stage: 'pending' }))?.id ?? null };
    } finally {
      await kt.close();
    }
  };

  it('AWSCURRENT landed on the new version, AWSPENDING still on it: the resumed run takes pending off, and ends done', { timeout: 120_000 }, async () => {
    const killed = await keyturn({ ...fx.env, KEYTURN_CRASH_AT: 'finish:before' }, ['rotate', fx.path]);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const before = await stages();
    expect(before.pending, 'the killed run left its pending version').not.toBeNull();
    // The first of finish's two calls, as the killed process would have made it: AWSCURRENT moves to the pending version.
    const config = store.config as { region: string; endpoint: string };
    const sm = new SecretsManagerClient({ region: config.region, endpoint: config.endpoint });
    try {
      const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: fx.path }))).Versions ?? [];
      const holder = (label: string) => versions.find((v) => v.VersionStages?.includes(label))?.VersionId;
      await sm.send(new UpdateSecretVersionStageCommand({ SecretId: fx.path, VersionStage: 'AWSCURRENT', MoveToVersionId: holder('AWSPENDING'), RemoveFromVersionId: holder('AWSCURRENT') }));
    } finally {
      sm.destroy();
    }
    expect(await stages(), 'current and pending on the same version').toEqual({ current: before.pending, pending: before.pending });

    const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
    const active = (await (await kt.engine()).runs.list({ path: fx.path })).find((r) => r.status === 'running' || r.status === 'retrying');
    await kt.close();
    expect(active, 'the killed run is unfinished').toBeDefined();
    const resumed = await runCli(['runs', 'resume', active!.id], { env: { ...fx.env, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await stages()).toEqual({ current: before.pending, pending: null });
    const after = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      const current = (await after.store.get(fx.path))!.value as { username: string; password: string };
      expect(await fx.logsIn(current as never), 'the current credential logs in').toBe(true);
      expect((await (await after.engine()).runs.get(active!.id)).status).toBe('done');
    } finally {
      await after.close();
    }
  });
});
