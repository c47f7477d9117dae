import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/state.js';
import { manualClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { AgentCache, openAgentCache } from './cache.js';
import { openCacheStore } from './cache-store.js';

const dirs: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function folder(): string {
  const t = tempDir('keyturn-agent-cache-');
  dirs.push(t);
  return t.dir;
}

/** A logger that keeps each line as `level message JSON-of-fields`. */
function recording(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (fields: object | string, message?: string): void =>
      void lines.push(typeof fields === 'string' ? `${level} ${fields}` : `${level} ${message ?? ''} ${JSON.stringify(fields)}`);
  return { level: 'debug', isLevelEnabled: () => true, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), lines };
}

const secret = (number: number, value: string) => ({ path: 'app/db', versionId: `v_${number}`, number, value });

describe('the cache on disk (cache-store.ts)', () => {
  it('creates a 0700 folder, a 32-byte 0600 key once, and a 0600 sealed file that round-trips; leftovers of a kill are removed', async () => {
    const dir = join(folder(), 'cache');
    const log = recording();
    const store = await openCacheStore({ dir, keyFile: join(dir, 'cache.key'), log });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'cache.key')).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(dir, 'cache.key'));
    expect(key.length).toBe(32);
    expect(await store.load()).toBeNull();
    await store.save({ hello: 'plain-text-here' }, true);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(store.file).includes('plain-text-here')).toBe(false);
    writeFileSync(join(dir, '.cache.sealed.0123456789ab.keyturn-tmp'), 'half');
    // Two agents opening at once keep one key; a leftover temp file is removed.
    const [a, b] = await Promise.all([openCacheStore({ dir, keyFile: join(dir, 'cache.key'), log }), openCacheStore({ dir, keyFile: join(dir, 'cache.key'), log })]);
    expect(readFileSync(join(dir, 'cache.key')).equals(key)).toBe(true);
    expect(await a.load()).toEqual({ hello: 'plain-text-here' });
    expect(await b.load()).toEqual({ hello: 'plain-text-here' });
    expect(readdirSync(dir).sort()).toEqual(['cache.key', 'cache.sealed']);
    expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('ignores with a log line a sealed file moved elsewhere (same key), altered, truncated or foreign; never throws on load', async () => {
    const root = folder();
    const key = join(root, 'shared.key');
    const one = await openCacheStore({ dir: join(root, 'one'), keyFile: key, log: recording() });
    await one.save({ n: 1 }, false);
    const log = recording();
    const two = await openCacheStore({ dir: join(root, 'two'), keyFile: key, log });
    copyFileSync(one.file, two.file);
    expect(await two.load()).toBeNull(); // the additional data names the file's own path
    const original = readFileSync(one.file);
    for (const bytes of [Buffer.concat([original.subarray(0, -1), Buffer.from([original.at(-1)! ^ 1])]), original.subarray(0, 30), Buffer.from('{"entries":[]}')]) {
      writeFileSync(two.file, bytes);
      expect(await two.load()).toBeNull();
    }
    expect(log.lines.filter((l) => l.includes('ignored'))).toHaveLength(4);
    expect(log.lines.every((l) => l.includes('KT_DECRYPT_FAILED'))).toBe(true);
  });

  it('refuses (KT_AGENT_CACHE_UNAVAILABLE) a key of the wrong size, a key or a folder others can write', async () => {
    const root = folder();
    const log = recording();
    writeFileSync(join(root, 'short.key'), 'abc', { mode: 0o600 });
    await expect(openCacheStore({ dir: join(root, 'a'), keyFile: join(root, 'short.key'), log })).rejects.toMatchObject({
      code: 'KT_AGENT_CACHE_UNAVAILABLE',
      message: expect.stringContaining('does not hold 32 bytes'),
    });
    writeFileSync(join(root, 'open.key'), Buffer.alloc(32, 1));
    chmodSync(join(root, 'open.key'), 0o622);
    await expect(openCacheStore({ dir: join(root, 'b'), keyFile: join(root, 'open.key'), log })).rejects.toMatchObject({
      code: 'KT_AGENT_CACHE_UNAVAILABLE',
      message: expect.stringContaining('chmod 600'),
    });
    mkdirSync(join(root, 'open'), { mode: 0o700 });
    chmodSync(join(root, 'open'), 0o777);
    await expect(openCacheStore({ dir: join(root, 'open'), keyFile: join(root, 'open', 'cache.key'), log })).rejects.toMatchObject({
      code: 'KT_AGENT_CACHE_UNAVAILABLE',
      message: expect.stringContaining('writable by group and others'),
    });
  });
});

describe('freshness (cache.ts)', () => {
  const config = (dir: string, ttl = 60_000) => ({ cacheDir: dir, cacheKeyFile: join(dir, 'cache.key'), cacheTtlMs: ttl, templates: [{ secret: 'app/db' }] as never });

  it('a version is fresh for cacheTtl after its confirmation; on the open stream it stays confirmed, and the confirmation stops when the stream closes', async () => {
    const dir = join(folder(), 'c');
    const clock = manualClock(1_000_000);
    const cache = await openAgentCache(config(dir), recording(), clock);
    expect([cache.fresh('app/db'), cache.freshVersion('app/db'), cache.holds('app/db'), cache.holds('app/other')]).toEqual([false, undefined, true, false]);
    await cache.confirmed(secret(1, 'one'));
    clock.advance(59_999);
    expect(cache.freshVersion('app/db')).toMatchObject({ number: 1, value: 'one', fetchedAt: 1_000_000, confirmedAt: 1_000_000 });
    clock.advance(1);
    expect(cache.fresh('app/db')).toBe(false);

    cache.streamOpened();
    await cache.confirmed(secret(1, 'one'));
    clock.advance(10 * 60_000); // an hour on the stream: still confirmed
    expect(cache.fresh('app/db')).toBe(true);
    expect(cache.get('app/db')?.fetchedAt).toBe(1_000_000); // the same version: first fetched then
    cache.streamClosed();
    const closedAt = clock.now();
    clock.advance(59_999);
    expect(cache.confirmedAt('app/db')).toBe(closedAt);
    expect(cache.fresh('app/db')).toBe(true);
    clock.advance(1);
    expect(cache.fresh('app/db')).toBe(false);
    await cache.close();

    // What a restart reads: the confirmation of the stream's end, and the version.
    const again = await openAgentCache(config(dir), recording(), clock);
    expect(again.get('app/db')).toMatchObject({ number: 1, value: 'one', confirmedAt: closedAt });
    await again.close();
  });

  it('a new version is on disk when confirmed() resolves; a refusal forgets the secret; an unreachable read only ends the stream confirmation', async () => {
    const dir = join(folder(), 'c');
    const clock = manualClock(5_000_000);
    const cache = await openAgentCache(config(dir), recording(), clock);
    cache.streamOpened();
    await cache.confirmed(secret(2, 'two'));
    const reread = new AgentCache({ ttlMs: 60_000, paths: ['app/db'], clock, log: recording(), store: await openCacheStore({ dir, keyFile: join(dir, 'cache.key'), log: recording() }) });
    await reread.load();
    expect(reread.get('app/db')?.number).toBe(2);

    cache.failed('app/db', false);
    clock.advance(60_000);
    expect(cache.fresh('app/db')).toBe(false); // no longer vouched for by the stream
    cache.failed('app/db', true);
    expect(cache.get('app/db')).toBeUndefined();
    await cache.close();
    const after = await openAgentCache(config(dir), recording(), clock);
    expect(after.get('app/db')).toBeUndefined();
  });

  it('without a usable folder it keeps the cache in memory and says why', async () => {
    const root = folder();
    writeFileSync(join(root, 'file'), 'not a folder');
    const log = recording();
    const cache = await openAgentCache(config(join(root, 'file', 'sub')), log, manualClock());
    expect(cache.file).toBeNull();
    expect(cache.problem).toContain('cannot create the cache folder');
    await cache.confirmed(secret(1, 'mem'));
    expect(cache.freshVersion('app/db')?.value).toBe('mem');
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('KT_AGENT_CACHE_UNAVAILABLE'))).toBe(true);
    expect(log.lines.join('\n')).not.toContain('mem"');
  });
});
