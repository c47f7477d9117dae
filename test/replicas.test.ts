/**
 * Replicas (src/replicas/): a secret's `replicas:` get each new current value in the propagate
 * step, each with its own status; a replica whose service is down never undoes the rotation, its
 * lag grows (in `replicas status` and `keyturn_replica_lag_seconds`), and the catch-up pass copies
 * the value once it answers again. The replicas are real outside stores through their SDKs
 * against their local servers (test/helpers/outside-stores.ts: vault and kubernetes here), on a
 * manual clock for the lag; the secret an app-secret, and in the last test a PostgreSQL
 * credential whose replica copy logs in once caught up.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { createMetrics } from '../src/metrics/metrics.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { REPLICAS_CONTEXT } from '../src/replicas/sync.js';
import { useOutsideStores, type OutsideStoreFixture } from './helpers/outside-stores.js';
import { applyYaml, openTestHome } from './helpers/state.js';
import { runCli } from './helpers/cli.js';
import { rotationFixture } from './helpers/rotation-fixtures.js';

const outside = useOutsideStores('vault', 'kubernetes');
let vault: OutsideStoreFixture;
let k8s: OutsideStoreFixture;
beforeAll(() => void ({ vault, kubernetes: k8s } = outside.stores));

function replicaCurrent(fx: OutsideStoreFixture, path: string) {
  return fx.current(path);
}

/** `secret.replicate` events in the audit log: source (replica), path, version and outcome. */
async function replicateEvents(kt: Keyturn): Promise<Array<{ source: string; path: string | null; versionId: string | null; outcome: string; errorCode: string | null }>> {
  const out = [];
  for (const row of await kt.audit.between(0)) {
    const e = JSON.parse(row.leaf) as { action: string; source: string; path: string | null; versionId: string | null; outcome: string; errorCode: string | null };
    if (e.action === 'secret.replicate') out.push({ source: e.source, path: e.path, versionId: e.versionId, outcome: e.outcome, errorCode: e.errorCode });
  }
  return out;
}

function lagFrom(metrics: string, replica: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`keyturn_replica_lag_seconds{replica="${replica}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

const yaml = (storesYaml: string) => `version: 1
stores:
${storesYaml}
secrets:
  app/key:
    type: app-secret
    replicas: [vault-a, k8s-b]
`;

describe('replicas of an app-secret (vault and kubernetes local servers, manual clock)', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = manualClock(Date.UTC(2026, 11, 6, 3, 0, 0));
    home = await openTestHome({ clock });
    await applyYaml(home.kt, yaml(`  vault-a: ${JSON.stringify(vault.config)}\n  k8s-b: ${JSON.stringify(k8s.config)}`));
  });
  afterEach(async () => {
    await vault.down(false);
    await home.close();
  });

  it('a rotation copies the new current value to each replica under the same version id, audited per replica', async () => {
    const { kt } = home;
    const run = await (await kt.engine()).rotate('app/key', { wait: true });
    expect(run.status).toBe('done');
    const primary = (await kt.store.get('app/key'))!;
    for (const fx of [vault, k8s]) {
      const copy = await replicaCurrent(fx, 'app/key');
      expect(copy?.id, fx.kind).toBe(primary.id);
      expect(copy?.value, fx.kind).toEqual(primary.value);
    }
    const events = await replicateEvents(kt);
    expect(events.filter((e) => e.versionId === primary.id)).toEqual([
      { source: 'replica:vault-a', path: 'app/key', versionId: primary.id, outcome: 'success', errorCode: null },
      { source: 'replica:k8s-b', path: 'app/key', versionId: primary.id, outcome: 'success', errorCode: null },
    ]);
    const sync = await kt.replicasFor(REPLICAS_CONTEXT);
    await sync.note();
    expect((await sync.repo.all()).map((r) => [r.replica, r.version_id === primary.id, r.attempts])).toEqual([
      ['k8s-b', true, 0],
      ['vault-a', true, 0],
    ]);
    // A pass with nothing behind copies nothing.
    expect(await sync.catchUp()).toEqual({ checked: 1, copied: 0, failed: 0 });
  });

  it('a replica down for 2 minutes: the rotation finishes, its lag grows in status and /metrics, then it catches up by itself', async () => {
    const { kt } = home;
    await (await kt.engine()).rotate('app/key', { wait: true });
    await vault.down(true);
    const run = await (await kt.engine()).rotate('app/key', { wait: true });
    expect(run.status).toBe('done');
    const propagate = (await (await kt.engine()).runs.steps(run.id)).filter((s) => s.step === 'propagate').at(-1);
    expect(propagate).toMatchObject({ outcome: 'failed' });
    expect(propagate?.detail).toContain('1 of 2 replicas have the value');
    const primary = (await kt.store.get('app/key'))!;
    expect((await replicaCurrent(k8s, 'app/key'))?.id).toBe(primary.id);

    const metrics = createMetrics(kt, { cacheMs: 0 });
    try {
      const sync = await kt.replicasFor(REPLICAS_CONTEXT);
      for (let second = 0; second < 120; second += 30) {
        clock.advance(30_000);
        await sync.catchUp({ all: true });
        const row = (await sync.repo.all()).find((r) => r.replica === 'vault-a')!;
        expect(row.error_code).toBe('KT_STORE_UNAVAILABLE');
        expect(lagFrom(await metrics.scrape(), 'vault-a')).toBe(second + 30);
        expect(lagFrom(await metrics.scrape(), 'k8s-b')).toBe(0);
      }
      const status = await runCli(['replicas', 'status', '--json'], { env: { KEYTURN_HOME: home.kt.settings.home } });
      expect(status.code, status.stderr).toBe(0);
      const behind = (JSON.parse(status.stdout) as { replicas: Array<{ replica: string; inSync: boolean; attempts: number; error: { code: string } | null }> }).replicas.find(
        (r) => r.replica === 'vault-a',
      );
      expect(behind).toMatchObject({ inSync: false, error: { code: 'KT_STORE_UNAVAILABLE' } });
      expect(behind!.attempts).toBeGreaterThanOrEqual(4);

      // Back up: the pass copies it once its back-off has passed, with no one asking.
      await vault.down(false);
      clock.advance(60_000);
      expect(await sync.catchUp()).toMatchObject({ copied: 1, failed: 0 });
      expect((await replicaCurrent(vault, 'app/key'))?.id).toBe(primary.id);
      expect(lagFrom(await metrics.scrape(), 'vault-a')).toBe(0);
      const failures = (await replicateEvents(kt)).filter((e) => e.outcome === 'failure');
      expect(failures.length).toBeGreaterThanOrEqual(5);
      expect(new Set(failures.map((e) => `${e.source} ${e.errorCode}`))).toEqual(new Set(['replica:vault-a KT_STORE_UNAVAILABLE']));
    } finally {
      metrics.close();
    }
  });

  it('a rollback on the primary moves the replicas back to that version too', async () => {
    const { kt } = home;
    await (await kt.engine()).rotate('app/key', { wait: true });
    const before = (await kt.store.get('app/key'))!;
    await (await kt.engine()).rotate('app/key', { wait: true });
    const after = (await kt.store.get('app/key'))!;
    await kt.store.moveStage('app/key', 'current', before.id, after.id);
    const sync = await kt.replicasFor(REPLICAS_CONTEXT);
    expect(await sync.catchUp()).toMatchObject({ copied: 2, failed: 0 });
    for (const fx of [vault, k8s]) expect((await replicaCurrent(fx, 'app/key'))?.id, fx.kind).toBe(before.id);
  });

  it('apply refuses a replica naming an undeclared store, and a store config its own schema refuses', async () => {
    await expect(applyYaml(home.kt, yaml(`  vault-a: ${JSON.stringify(vault.config)}`))).rejects.toMatchObject({
      code: 'KT_CONFIG_FILE_INVALID',
      message: expect.stringContaining('unknown store "k8s-b"; declared stores: vault-a'),
    });
    await expect(applyYaml(home.kt, yaml(`  vault-a: { type: vault, address: 'not a url' }\n  k8s-b: ${JSON.stringify(k8s.config)}`))).rejects.toMatchObject({
      code: 'KT_CONFIG_INVALID',
      message: expect.stringContaining('stores.vault-a.'),
    });
  });
});

describe('a PostgreSQL credential replicated to vault', () => {
  it('rotated through the CLI while the replica is down; once caught up the replica holds a password that logs in', async () => {
    const storeLine = `stores:\n  vault-a: ${JSON.stringify(vault.config)}\n`;
    const fx = await rotationFixture('postgres', 'single-user', { secretExtra: '    replicas: [vault-a]\n', configExtra: storeLine, env: vault.env });
    try {
      // `keyturn apply` copied the first value to the replica already, with no catch-up pass.
      const first = await replicaCurrent(vault, fx.path);
      expect(await fx.logsIn(first!.value as { username: string; password: string }), 'apply copied the first value').toBe(true);
      await vault.down(true);
      const r = await runCli(['rotate', fx.path], { env: fx.env });
      expect(r.code, r.stderr).toBe(0);
      const status = await runCli(['replicas', 'status', '--json'], { env: fx.env });
      expect((JSON.parse(status.stdout) as { replicas: Array<{ inSync: boolean }> }).replicas).toMatchObject([{ inSync: false }]);
      await vault.down(false);
      const sync = await runCli(['replicas', 'sync', '--json'], { env: fx.env });
      expect(sync.code, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({ copied: 1, failed: 0 });
      const copy = await replicaCurrent(vault, fx.path);
      expect(await fx.logsIn(copy!.value as { username: string; password: string }), 'the replica holds a password that logs in').toBe(true);
    } finally {
      await vault.down(false);
      await fx.close();
    }
  });
});
