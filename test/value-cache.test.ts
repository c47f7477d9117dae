/**
 * The embedded store's value cache (KEYTURN_VALUE_CACHE_SECONDS, src/stores/embedded/embedded-store.ts):
 * a value opened for a stage read answers the next reads of that stage, while the stage read's
 * rows are cached (nothing written since, by this connection or any other) and for at most the
 * configured time. Every read is still audited. Counted by spying on the key ring's `openValue`
 * (the real one runs: the spy only counts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { openTestHome, postgresSchemaUrl } from './helpers/state.js';

type Home = Awaited<ReturnType<typeof openTestHome>>;
const homes: Home[] = [];
afterEach(async () => {
  for (const h of homes.splice(0)) await h.close();
  vi.restoreAllMocks();
});

async function home(env: Record<string, string> = {}, clock = manualClock(Date.parse('2026-12-06T12:00:00Z'))): Promise<Home & { clock: typeof clock; opens: () => number }> {
  const h = await openTestHome({ clock, env });
  homes.push(h);
  const spy = vi.spyOn(h.kt.ring, 'openValue');
  return { ...h, clock, opens: () => spy.mock.calls.length };
}

/** Reads the current value `n` times (each must be `value`); how many of them opened it. */
async function opensFor(h: Awaited<ReturnType<typeof home>>, n: number, value: string): Promise<number> {
  const before = h.opens();
  for (let i = 0; i < n; i++) expect((await h.kt.store.get('app/db'))?.value).toBe(value);
  return h.opens() - before;
}

const reads = async (h: Home): Promise<number> => (await h.kt.audit.tail(1000)).filter((r) => (JSON.parse(r.leaf) as { action: string; outcome: string }).action === 'secret.read').length;

describe('the embedded store value cache', () => {
  it('opens a stage once for repeated reads, each read still audited; the value shared is frozen, the version a copy', async () => {
    const h = await home();
    await h.kt.store.put('app/db', { username: 'app', password: 'pw-1' });
    const before = h.opens();
    const a = await h.kt.store.get('app/db', { stage: 'current' });
    const b = await h.kt.store.get('app/db', { stage: 'current' });
    const c = await h.kt.store.get('app/db');
    expect(h.opens() - before).toBe(1);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a?.value).toEqual({ username: 'app', password: 'pw-1' });
    expect(await reads(h)).toBe(3);
    // A caller's change to its version stays its own; the shared value and stages cannot be changed.
    (a as { number: number }).number = 99;
    expect((await h.kt.store.get('app/db'))?.number).toBe(1);
    expect(() => ((b!.value as Record<string, string>).password = 'x')).toThrow(TypeError);
    expect(() => b!.stages.push('previous')).toThrow(TypeError);
    expect((await h.kt.store.get('app/db'))?.value).toEqual({ username: 'app', password: 'pw-1' });
  });

  it('a put, a stage move or a delete through the store drops it: the next read opens what is stored now', async () => {
    const h = await home();
    const v1 = await h.kt.store.put('app/db', 'one');
    expect((await h.kt.store.get('app/db'))?.value).toBe('one');
    const v2 = await h.kt.store.put('app/db', 'two');
    expect((await h.kt.store.get('app/db'))?.value).toBe('two');
    await h.kt.store.moveStage('app/db', 'current', v1.id, v2.id);
    expect((await h.kt.store.get('app/db'))?.value).toBe('one');
    expect((await h.kt.store.get('app/db', { stage: 'previous' }))?.value).toBe('two');
    await h.kt.store.remove('app/db');
    await expect(h.kt.store.get('app/db')).rejects.toMatchObject({ code: 'KT_SECRET_DELETED' });
  });

  it('a write by another connection to the same home (another process, the CLI) drops it', async () => {
    const h = await home();
    await h.kt.store.put('app/db', 'one');
    expect((await h.kt.store.get('app/db'))?.value).toBe('one');
    const other = await openKeyturn(loadSettings({ KEYTURN_HOME: h.kt.settings.home, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      await other.store.put('app/db', 'two');
    } finally {
      await other.close();
    }
    // The next event-loop turn: a new read batch sees the other connection's commit.
    await new Promise((r) => setImmediate(r));
    expect((await h.kt.store.get('app/db'))?.value).toBe('two');
  });

  it('keeps a value no longer than KEYTURN_VALUE_CACHE_SECONDS, then opens it again', async () => {
    const h = await home({ KEYTURN_VALUE_CACHE_SECONDS: '5' });
    expect(h.kt.settings.valueCacheMs).toBe(5000);
    await h.kt.store.put('app/db', 'one');
    const before = h.opens();
    await h.kt.store.get('app/db');
    h.clock.advance(4999);
    await h.kt.store.get('app/db');
    expect(h.opens() - before).toBe(1);
    h.clock.advance(1);
    await h.kt.store.get('app/db');
    expect(h.opens() - before).toBe(2);
  });

  it('with KEYTURN_VALUE_CACHE_SECONDS=0 every read opens the value', async () => {
    const h = await home({ KEYTURN_VALUE_CACHE_SECONDS: '0' });
    await h.kt.store.put('app/db', 'one');
    expect(await opensFor(h, 3, 'one')).toBe(3);
  });

  it('refuses a value out of range with KT_CONFIG_INVALID naming the variable', () => {
    for (const bad of ['-1', '3601', 'soon']) {
      expect(() => loadSettings({ KEYTURN_VALUE_CACHE_SECONDS: bad })).toThrow(expect.objectContaining({ code: 'KT_CONFIG_INVALID', message: expect.stringContaining('KEYTURN_VALUE_CACHE_SECONDS') }));
    }
  });

  it('on PostgreSQL (no version token for the rows) every read opens the value', async () => {
    const pg = await postgresSchemaUrl('kt_value_cache');
    try {
      const h = await home({ KEYTURN_DATABASE_URL: pg.url });
      await h.kt.store.put('app/db', 'one');
      expect(await opensFor(h, 3, 'one')).toBe(3);
      await h.close();
      homes.splice(homes.indexOf(h), 1);
    } finally {
      await pg.drop();
    }
  });
});
