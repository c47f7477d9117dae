/**
 * `GET /v1/events`, the change stream, over a real listening server and a real SSE client
 * (test/helpers/sse.ts): puts and stage moves reach a subscriber with their path, version id,
 * stages and run id and never the value; the prefix and the token's policies filter it;
 * `Last-Event-ID` resumes right after the last event seen, across a restart too; two servers on
 * one PostgreSQL serve the same stream; heartbeats move the resume point and re-check the token;
 * closing the server ends the stream and the close completes.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import type { ServerOptions } from '../src/server/app.js';
import { sse, type SseEvent, type SseStream } from './helpers/sse.js';
import { listeningServer, type ListeningServer } from './helpers/api-home.js';
import { applyYaml } from './helpers/state.js';
import { streamHome } from './helpers/stream-home.js';

/** The audit head is never polled: only this process's own appends wake a stream. */
const NO_POLL: ServerOptions = { events: { pollMs: 3_600_000 } };
const MARKER = `marker-${randomBytes(8).toString('hex')}`;

type Server = ListeningServer;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh home (on a PostgreSQL schema of its own with `postgres`), with an admin and an app/** reader token. */
const home = (postgres = false) => streamHome(cleanups, { postgres, prefix: 'keyturn-events-' });

async function serve(env: Record<string, string>, options: ServerOptions = {}): Promise<Server> {
  const s = await listeningServer(env, options);
  cleanups.push(s.close);
  return s;
}

async function stream(s: Server, token: string, query = '', lastEventId?: string): Promise<SseStream> {
  const st = await sse(`${s.base}/v1/events${query}`, token, lastEventId);
  cleanups.push(() => st.close());
  expect(st.status).toBe(200);
  return st;
}

async function put(s: Server, token: string, path: string, body: object): Promise<{ id: string; number: number }> {
  const r = await fetch(`${s.base}/v1/secrets/${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as { id: string; number: number };
}

const dataOf = (e: SseEvent) => JSON.parse(e.data) as Record<string, unknown>;
const onPath = (path: string, kind?: string) => (e: SseEvent) => (kind === undefined || e.event === kind) && dataOf(e).path === path;

describe('GET /v1/events', () => {
  it('a put and a stage move reach a subscriber with path, version id, stages and run id, never the value', async () => {
    const h = await home();
    // No poll in this test's time: what arrives was woken by this process's commit.
    const s = await serve(h.env, NO_POLL);
    const st = await stream(s, h.admin);
    const v1 = await put(s, h.admin, 'app/db', { value: `${MARKER}-1` });
    const first = await st.waitFor(onPath('app/db', 'version'));
    expect(Number(first.id)).toBeGreaterThan(0);
    expect(dataOf(first)).toEqual({ seq: Number(first.id), path: 'app/db', versionId: v1.id, stages: ['current'], runId: null, action: 'secret.put', outcome: 'success', time: expect.any(String) });

    const v2 = await put(s, h.admin, 'app/db', { value: { password: `${MARKER}-2` }, stages: ['pending'] });
    await s.kt.store.moveStage('app/db', 'current', v2.id, v1.id);
    const moved = await st.waitFor(onPath('app/db', 'stage'));
    expect(dataOf(moved)).toMatchObject({ path: 'app/db', versionId: v2.id, stage: 'current', action: 'secret.stage.current', runId: null });
    expect(dataOf(moved).stages).toContain('current');
    // The pending put came in between, in log order.
    const ids = st.events.filter(onPath('app/db')).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(st.events.filter(onPath('app/db')).map((e) => e.event)).toEqual(['version', 'version', 'stage']);
    // A value read is not a change: it is not streamed.
    expect((await fetch(`${s.base}/v1/secrets/app/db`, { headers: { authorization: `Bearer ${h.admin}` } })).status).toBe(200);
    await put(s, h.admin, 'app/after-read', { value: 'x' });
    await st.waitFor(onPath('app/after-read'));
    expect(st.events.map((e) => dataOf(e).action)).not.toContain('secret.read');
    expect(st.raw()).not.toContain(MARKER);
  });

  it('a rotation run streams its version and stage moves with the run id', async () => {
    const h = await home();
    const s = await serve(h.env, NO_POLL);
    await applyYaml(s.kt, 'version: 1\nsecrets:\n  app/token:\n    type: app-secret\n    password: { length: 24 }\n');
    const st = await stream(s, h.admin, '?prefix=app/token');
    const run = await (await s.kt.engine()).rotate('app/token');
    expect(run.status).toBe('done');
    const done = await st.waitFor((e) => e.event === 'rotation' && dataOf(e).outcome === 'success');
    expect(dataOf(done)).toMatchObject({ path: 'app/token', runId: run.id, versionId: run.pendingVersionId });
    const pending = st.events.find((e) => e.event === 'version')!;
    expect(dataOf(pending)).toMatchObject({ versionId: run.pendingVersionId, runId: run.id, stages: ['current'] });
    expect(st.events.filter((e) => e.event === 'stage').map((e) => dataOf(e).runId)).toEqual([run.id]);
    const value = (await s.kt.store.get('app/token'))!.value as string;
    expect(st.raw()).not.toContain(value);
  });

  it('filters by prefix and by the token: a reader of app/** never sees another path', async () => {
    const h = await home();
    const s = await serve(h.env);
    const reader = await stream(s, h.reader);
    const other = await stream(s, h.admin, '?prefix=other');
    await put(s, h.admin, 'other/secret', { value: 'o' });
    await put(s, h.admin, 'application/x', { value: 'a' });
    await put(s, h.admin, 'app/seen', { value: 's' });
    await reader.waitFor(onPath('app/seen'));
    await other.waitFor(onPath('other/secret'));
    expect(reader.events.map((e) => dataOf(e).path)).toEqual(['app/seen']);
    await put(s, h.admin, 'other/last', { value: 'l' });
    await other.waitFor(onPath('other/last'));
    expect(other.events.map((e) => dataOf(e).path)).toEqual(['other/secret', 'other/last']);
    // A bad prefix or a missing token is refused before the stream starts.
    expect((await fetch(`${s.base}/v1/events?prefix=..`, { headers: { authorization: `Bearer ${h.admin}` } })).status).toBe(400);
    expect((await fetch(`${s.base}/v1/events`)).status).toBe(401);
  });

  it('Last-Event-ID resumes right after the last event seen, also after a restart on the same home', async () => {
    const h = await home();
    let s = await serve(h.env);
    const first = await stream(s, h.reader);
    await put(s, h.admin, 'app/a', { value: '1' });
    const a = await first.waitFor(onPath('app/a'));
    first.close();
    await put(s, h.admin, 'app/b', { value: '2' });
    await put(s, h.admin, 'app/c', { value: '3' });
    const resumed = await stream(s, h.reader, '', first.lastId());
    expect(first.lastId()).toBe(a.id);
    await resumed.waitFor(onPath('app/c'));
    expect(resumed.events.map((e) => dataOf(e).path)).toEqual(['app/b', 'app/c']);
    const seen = resumed.lastId();
    resumed.close();

    await put(s, h.admin, 'app/d', { value: '4' });
    await s.close();
    s = await serve(h.env);
    await put(s, h.admin, 'app/e', { value: '5' });
    const afterRestart = await stream(s, h.reader, '', seen);
    await afterRestart.waitFor(onPath('app/e'));
    expect(afterRestart.events.map((e) => dataOf(e).path)).toEqual(['app/d', 'app/e']);

    // An id that is not one, or past the log's end, is refused.
    for (const bad of ['x', '-1', String(Number.MAX_SAFE_INTEGER)]) {
      const r = await fetch(`${s.base}/v1/events`, { headers: { authorization: `Bearer ${h.reader}`, 'last-event-id': bad } });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('KT_USAGE');
    }
  });

  it('two servers on one PostgreSQL: a change written through server A reaches a client of server B', async () => {
    const h = await home(true);
    const a = await serve(h.env);
    const b = await serve(h.env);
    const onB = await stream(b, h.reader);
    const v = await put(a, h.admin, 'app/shared', { value: MARKER });
    const e = await onB.waitFor(onPath('app/shared'));
    expect(dataOf(e)).toMatchObject({ versionId: v.id, stages: ['current'] });
    // And the other way round, resumed on A from what B's client had seen before the change (read
    // first: B's own client may get the new event before the put's answer comes back).
    const seen = onB.lastId();
    await put(b, h.admin, 'app/back', { value: MARKER });
    const onA = await stream(a, h.reader, '', seen);
    await onA.waitFor(onPath('app/back'));
    expect(onA.events.map((x) => dataOf(x).path)).toEqual(['app/back']);
    expect(onB.raw() + onA.raw()).not.toContain(MARKER);
  });

  it('heartbeats move the resume point past hidden events and end the stream of a revoked token', async () => {
    const h = await home();
    const s = await serve(h.env, { events: { heartbeatMs: 20 } });
    const st = await stream(s, h.reader);
    await put(s, h.admin, 'other/hidden', { value: 'h' });
    const { size } = await s.kt.audit.head();
    await expect.poll(() => Number(st.lastId()), { timeout: 10_000, interval: 10 }).toBe(size - 1);
    expect(st.comments).toContain('heartbeat');
    expect(st.events).toEqual([]);

    // Revoked through another process's view of the database: the server notices within its auth cache time.
    await new AccessRepo(s.kt.state, s.kt.clock).revokeToken(h.readerId);
    await st.ended;
  });

  it('closing the server ends open streams, and the close completes', async () => {
    const h = await home();
    const s = await serve(h.env);
    const st = await stream(s, h.reader);
    await put(s, h.admin, 'app/x', { value: 'x' });
    await st.waitFor(onPath('app/x'));
    await s.close();
    await st.ended;
    await expect(fetch(`${s.base}/healthz`)).rejects.toThrow();
  });
});
