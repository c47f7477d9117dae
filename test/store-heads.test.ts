/**
 * With an outside primary store (Vault, through its local server), the scheduler still finds what
 * is due: each write through Keyturn keeps the secret's head (`store_heads`, src/stores/heads.ts),
 * the due time comes from it, and a scheduler pass on a manual clock rotates the secret when its
 * schedule says, in the outside store; the secret age metric reads the same head, and a
 * certificate secret's expiry is exported from the store's current version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { initHome, openKeyturn } from '../src/runtime/keyturn.js';
import { Scheduler, SCHEDULER_CONTEXT, type DueOutcome } from '../src/schedule/scheduler.js';
import { DueRepo } from '../src/schedule/due-repo.js';
import { storeHead } from '../src/stores/heads.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { outsideStoreFixture, type OutsideStoreFixture } from './helpers/outside-stores.js';
import { applyYaml, tempDir } from './helpers/state.js';
import { makeCa, makeLeaf } from './helpers/certs.js';

const MINUTE_MS = 60_000;
// The service's clock is Keyturn's: the due time counts from when the store says the value was made.
const clock: ManualClock = manualClock(Date.UTC(2026, 11, 6, 4, 0, 0));
let vault: OutsideStoreFixture;
beforeAll(async () => {
  vault = await outsideStoreFixture('vault', { clock });
});
afterAll(async () => vault?.close());

describe('the scheduler with an outside primary store', () => {
  it('apply keeps the head; the due time comes from it; a pass rotates the secret in the store when due', async () => {
    const tmp = tempDir();
    const settings = loadSettings({ KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', KEYTURN_STORE_FILE: vault.storeFile() });
    await initHome(settings);
    const kt = await openKeyturn(settings, { clock });
    try {
      expect(kt.store.kind).toBe('vault');
      await applyYaml(kt, 'version: 1\nsecrets:\n  app/key:\n    type: app-secret\n    schedule: { every: 1h }\n');
      const head = await storeHead(kt.state, 'app/key');
      const first = (await kt.store.versions('app/key')).find((v) => v.stages.includes('current'))!;
      expect(head).toMatchObject({ current_version_id: first.id, deleted_at: null });
      expect(await kt.state.db.selectFrom('secrets').select('path').execute(), 'nothing in the embedded tables').toEqual([]);

      const due = await new DueRepo(kt.state, clock).decide('app/key');
      expect(due?.row.reason).not.toBe('no-value');
      expect(Number(head!.current_at)).toBe(clock.now());
      expect(due?.row.dueAt).toBeGreaterThan(clock.now());
      expect(due?.row.dueAt).toBeLessThanOrEqual(clock.now() + 60 * MINUTE_MS);

      const engine = kt.engineFor(SCHEDULER_CONTEXT);
      const scheduler = new Scheduler({ state: kt.state, clock, log: kt.log, engine: () => engine, holder: 'heads-test' }, { intervalMs: 1000, concurrency: 1, targetConcurrency: 1, claimMs: 60_000 });
      const pass = async () => {
        const outcomes: DueOutcome[] = [];
        await scheduler.runOnce((o) => {
          outcomes.push(o);
        });
        return outcomes.map((o) => ({ path: o.path, status: o.run?.status ?? null }));
      };
      clock.advance(30 * MINUTE_MS);
      expect(await pass(), 'not due yet').toEqual([]);
      clock.advance(31 * MINUTE_MS);
      expect(await pass()).toEqual([{ path: 'app/key', status: 'done' }]);
      const now = (await kt.store.versions('app/key')).find((v) => v.stages.includes('current'))!;
      expect(now.id).not.toBe(first.id);
      expect((await storeHead(kt.state, 'app/key'))?.current_version_id).toBe(now.id);
      expect(await pass(), 'done for this hour').toEqual([]);

      // The metrics read the head too: the secret's age counts from the rotation, in the outside store.
      clock.advance(5 * MINUTE_MS);
      // A certificate secret in the outside store: its notAfter is exported as for the embedded store.
      const leaf = await makeLeaf(await makeCa(tmp.dir), { name: 'web', cn: 'web.test', sans: ['DNS:web.test'], days: 30 });
      await kt.store.put('certs/web', { cert: leaf.cert, key: leaf.key, notAfter: new Date(leaf.notAfterMs).toISOString() });
      const metrics = createMetrics(kt, { cacheMs: 0 });
      try {
        const text = await metrics.scrape();
        expect(text).toContain('keyturn_secret_age_seconds{path="app/key"} 300');
        expect(text).toContain(`keyturn_certificate_expiry_timestamp_seconds{path="certs/web"} ${Math.floor(leaf.notAfterMs / 1000)}`);
        expect(text, 'the app secret is no certificate').not.toContain('keyturn_certificate_expiry_timestamp_seconds{path="app/key"}');
      } finally {
        metrics.close();
      }

      // Deleted through Keyturn: the head says so and nothing is due.
      await kt.store.remove('app/key');
      expect((await storeHead(kt.state, 'app/key'))?.deleted_at).not.toBeNull();
      expect((await new DueRepo(kt.state, clock).decide('app/key'))?.row.reason).toBe('deleted');
    } finally {
      await kt.close();
      tmp.remove();
    }
  });
});
