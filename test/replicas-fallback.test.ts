/**
 * Read-only fallback replicas (src/replicas/fallback.ts, fallback-store.ts): with Vault as the
 * primary store (KEYTURN_STORE_FILE) and a Kubernetes replica marked `fallback: true`, both
 * through their SDKs against their local servers (test/helpers/outside-stores.ts), on a manual
 * clock:
 *
 * - reads fall back to the replica only while the primary is unreachable, say so (`servedBy`, the
 *   CLI's note, the audit event's source), and a secret without a fallback replica still fails;
 * - writes never go to the replica, and a new value waits until the replica holds the current
 *   version: the rotation waits at create (nothing changed anywhere), a put is refused with
 *   KT_REPLICA_BEHIND; once the replica answers, the same run copies it and goes on.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { buildServer } from '../src/server/app.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { REPLICAS_CONTEXT } from '../src/replicas/sync.js';
import { runCli } from './helpers/cli.js';
import { useOutsideStores, type OutsideStoreFixture } from './helpers/outside-stores.js';
import { applyYaml, openTestHome } from './helpers/state.js';

const outside = useOutsideStores('vault', 'kubernetes');
let vault: OutsideStoreFixture;
let k8s: OutsideStoreFixture;
beforeAll(() => void ({ vault, kubernetes: k8s } = outside.stores));

const replicaCurrent = (path: string) => k8s.current(path);

async function readEvents(kt: Keyturn, path: string): Promise<Array<{ source: string; outcome: string; versionId: string | null; errorCode: string | null }>> {
  const out = [];
  for (const row of await kt.audit.between(0)) {
    const e = JSON.parse(row.leaf) as { action: string; path: string | null; source: string; outcome: string; versionId: string | null; errorCode: string | null };
    if (e.action === 'secret.read' && e.path === path) out.push({ source: e.source, outcome: e.outcome, versionId: e.versionId, errorCode: e.errorCode });
  }
  return out;
}

describe('a read-only fallback replica (vault primary, kubernetes fallback, manual clock)', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  let clock: ManualClock;
  let env: Record<string, string>;
  beforeEach(async () => {
    clock = manualClock(Date.UTC(2026, 11, 6, 6, 0, 0));
    env = { KEYTURN_STORE_FILE: vault.storeFile(), ...vault.env };
    home = await openTestHome({ clock, env });
    await applyYaml(
      home.kt,
      `version: 1
stores:
  k8s-dr: ${JSON.stringify({ ...k8s.config, fallback: true })}
secrets:
  app/key: { type: app-secret, replicas: [k8s-dr] }
  app/lonely: { type: app-secret }
`,
    );
    // The first values reach the replica through the catch-up pass.
    await (await home.kt.replicasFor(REPLICAS_CONTEXT)).catchUp();
  });
  afterEach(async () => {
    await Promise.all([vault.down(false), k8s.down(false)]);
    await home.close();
  });

  it('reads fall back to it only while the primary is unreachable, and say so; writes still fail', async () => {
    const { kt } = home;
    const run = await (await kt.engine()).rotate('app/key');
    expect(run.status).toBe('done');
    const current = (await kt.store.get('app/key'))!;
    expect(current.servedBy).toBeUndefined();
    expect((await replicaCurrent('app/key'))?.id).toBe(current.id);

    await vault.down(true);
    const served = (await kt.store.get('app/key'))!;
    expect(served).toMatchObject({ id: current.id, number: current.number, value: current.value, servedBy: 'replica:k8s-dr' });
    expect((await kt.store.versions('app/key')).find((v) => v.stages.includes('current'))?.id).toBe(current.id);
    // Audited as a read, its source naming the replica that answered.
    expect((await readEvents(kt, 'app/key')).at(-1)).toEqual({ source: 'library via replica:k8s-dr', outcome: 'success', versionId: current.id, errorCode: null });

    // A secret with no fallback replica fails as before.
    await expect(kt.store.get('app/lonely')).rejects.toMatchObject({ code: 'KT_STORE_UNAVAILABLE' });
    // A write goes to the primary only: it fails, and the replica is unchanged.
    await expect(kt.store.put('app/key', 'written-while-down')).rejects.toMatchObject({ code: 'KT_STORE_UNAVAILABLE' });
    expect((await replicaCurrent('app/key'))?.id).toBe(current.id);

    // The CLI says on stderr where the value came from; stdout is the value alone.
    const cli = await runCli(['secret', 'get', 'app/key'], { env: { ...env, KEYTURN_HOME: kt.settings.home } });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(current.value);
    expect(cli.stderr).toContain(`version ${current.number} was read from the fallback replica:k8s-dr`);

    // The API says so too, and audits the read with its source and the replica.
    const app = await buildServer(kt, { detection: false, breakGlassSweepMs: false });
    try {
      const { token } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'] });
      const res = await app.inject({ method: 'GET', url: '/v1/secrets/app/key', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: current.id, value: current.value, servedBy: 'replica:k8s-dr' });
      expect((await readEvents(kt, 'app/key')).at(-1)).toMatchObject({ source: 'api via replica:k8s-dr', outcome: 'success', versionId: current.id });
    } finally {
      await app.close();
    }

    // The primary answers again: reads go to it.
    await vault.down(false);
    expect((await kt.store.get('app/key'))?.servedBy).toBeUndefined();
  });

  it('a new value waits until the fallback replica holds the current version, then the same run goes on', async () => {
    const { kt } = home;
    const engine = await kt.engine();
    await k8s.down(true);
    // A rotation while the replica is down finishes; the replica is one version behind.
    const first = await engine.rotate('app/key');
    expect(first.status).toBe('done');
    const current = (await kt.store.get('app/key'))!;
    const versionsBefore = (await kt.store.versions('app/key')).length;

    // The next one waits at create: nothing stored, nothing changed.
    clock.advance(60_000);
    const waiting = await engine.rotate('app/key');
    expect(waiting.status).toBe('retrying');
    const create = (await engine.runs.steps(waiting.id)).filter((s) => s.step === 'create').at(-1);
    expect(create).toMatchObject({ outcome: 'skipped' });
    expect(create?.detail).toContain(`the fallback replica k8s-dr holds version ${current.number - 1}, not the current version ${current.number} (KT_STORE_UNAVAILABLE)`);
    expect((await kt.store.versions('app/key')).length).toBe(versionsBefore);

    // A put is refused the same way, and writes nothing.
    await expect(kt.store.put('app/key', 'manual')).rejects.toMatchObject({ code: 'KT_REPLICA_BEHIND', message: expect.stringContaining('k8s-dr holds version') });
    expect((await kt.store.versions('app/key')).length).toBe(versionsBefore);
    expect((await kt.store.get('app/key'))?.id).toBe(current.id);

    // The replica answers again: the waiting run copies the current version to it first, then rotates, and the copy of its new value lands too.
    await k8s.down(false);
    clock.advance(60_000);
    const done = await engine.resume(waiting.id);
    expect(done.status).toBe('done');
    const next = (await kt.store.get('app/key'))!;
    expect(next.number).toBe(current.number + 1);
    expect((await replicaCurrent('app/key'))?.id).toBe(next.id);
    // With the replica in sync, a put goes ahead.
    expect((await kt.store.put('app/key', 'manual')).number).toBe(next.number + 1);
  });
});
