/**
 * The server's periodic jobs (src/server/housekeeping.ts): a configured audit sink is fed while the
 * server runs, not only when it stops; expired tokens are deleted after their keeping time, each
 * deletion audited; a job that fails runs again at its next tick.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { manualClock } from '../src/core/clock.js';
import { createLogger } from '../src/core/logger.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer, EXPIRED_TOKENS_KEPT_MS } from '../src/server/app.js';
import { startJobs } from '../src/server/housekeeping.js';
import { tempDir } from './helpers/state.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function home(env: Record<string, string> = {}): Promise<{ kt: Keyturn; dir: string }> {
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent', ...env });
  await initHome(settings);
  const kt = await openKeyturn(settings, { clock: manualClock() });
  cleanups.push(() => kt.close());
  return { kt, dir: tmp.dir };
}

describe('server housekeeping', () => {
  it('feeds a configured audit sink while the server runs', async () => {
    const { kt, dir } = await home({ KEYTURN_AUDIT_JSONL: 'audit.jsonl' });
    const app = await buildServer(kt, { auditDeliveryMs: 20, breakGlassSweepMs: false });
    cleanups.push(() => app.close());
    const { token } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'] });
    expect((await app.inject({ method: 'PUT', url: '/v1/secrets/prod/x', headers: { authorization: `Bearer ${token}` }, payload: { value: 'v' } })).statusCode).toBe(200);
    const file = join(dir, 'audit.jsonl');
    // The server is still running: only its delivery job can have written the put's event.
    await vi.waitFor(() => expect(existsSync(file) && readFileSync(file, 'utf8').includes('"action":"secret.put"')).toBe(true), { timeout: 10_000, interval: 20 });
  });

  it('deletes tokens expired longer than the keeping time, each deletion audited; live and recently expired ones stay', async () => {
    const { kt } = await home();
    const clock = kt.clock as ReturnType<typeof manualClock>;
    const access = new AccessRepo(kt.state, kt.clock);
    const old = await access.createToken({ policies: ['admin'], ttlMs: 1000 });
    const recent = await access.createToken({ policies: ['admin'], ttlMs: EXPIRED_TOKENS_KEPT_MS });
    const live = await access.createToken({ policies: ['admin'] });
    clock.advance(EXPIRED_TOKENS_KEPT_MS + 2000);
    const before = (await kt.audit.head()).size;
    const { accessAuditHook } = await import('../src/audit/hooks.js');
    const audited = new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, { actor: 'system:server', source: 'api', correlationId: null }));
    expect(await audited.deleteExpiredTokens(kt.clock.now() - EXPIRED_TOKENS_KEPT_MS)).toBe(1);
    expect((await access.tokens()).map((t) => t.id).sort()).toEqual([recent.info.id, live.info.id].sort());
    const events = (await kt.audit.between(before)).map((r) => JSON.parse(r.leaf) as { action: string; path: string });
    expect(events).toEqual([expect.objectContaining({ action: 'access.token.delete', path: old.info.id })]);
    expect(await audited.deleteExpiredTokens(kt.clock.now() - EXPIRED_TOKENS_KEPT_MS)).toBe(0);
  });

  it('a job that fails is logged by code and runs again; one still running is not started twice', async () => {
    const lines: string[] = [];
    const log = createLogger(
      'warn',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    let runs = 0;
    let concurrent = 0;
    let most = 0;
    const stop = startJobs(
      [
        {
          name: 'flaky',
          everyMs: 5,
          run: async () => {
            runs++;
            concurrent++;
            most = Math.max(most, concurrent);
            await new Promise((r) => setTimeout(r, 20));
            concurrent--;
            throw Object.assign(new Error('secret-value-never-logged'), { code: 'KT_DATABASE_UNAVAILABLE' });
          },
        },
      ],
      log,
    );
    cleanups.push(stop);
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
    stop();
    expect(most).toBe(1);
    expect(lines.join('\n')).toContain('"job":"flaky"');
    expect(lines.join('\n')).not.toContain('secret-value-never-logged');
  });
});
