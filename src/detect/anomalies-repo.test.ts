import { afterEach, describe, expect, it } from 'vitest';
import { openTestHome } from '../../test/helpers/state.js';
import { AnomaliesRepo } from './anomalies-repo.js';
import type { Anomaly } from './detector.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

const anomaly: Anomaly = {
  type: 'concurrent-use',
  seq: 7,
  time: Date.parse('2026-12-05T03:00:00.000Z'),
  actor: 'token:tk_ci',
  path: 'prod/db/app',
  address: '2001:db8::5',
  score: 1.5,
  reason: 'token:tk_ci used from 3 addresses within 60 s (usually 1)',
  details: { addresses: 3, usual: 1 },
};

describe('AnomaliesRepo', () => {
  it('records an anomaly once (by type, trigger and identity), with its audit event, and lists it', async () => {
    const home = await openTestHome();
    close = home.close;
    const { kt } = home;
    const repo = new AnomaliesRepo(kt.state, kt.audit, kt.clock);
    const size = (await kt.audit.head()).size;
    const id = await repo.record(anomaly);
    expect(id).toMatch(/^an_[0-9a-f]{20}$/);
    expect(await repo.record(anomaly)).toBeNull();
    expect(await repo.record({ ...anomaly, actor: 'token:tk_other' })).toMatch(/^an_/);
    const events = (await kt.audit.between(size)).map((r) => JSON.parse(r.leaf) as Record<string, unknown>);
    expect(events.map((e) => [e.action, e.actor, e.source, e.path, e.address, e.outcome])).toEqual([
      ['anomaly.concurrent-use', 'token:tk_ci', 'detector', 'prod/db/app', '2001:db8::5', 'success'],
      ['anomaly.concurrent-use', 'token:tk_other', 'detector', 'prod/db/app', '2001:db8::5', 'success'],
    ]);
    expect(events[0]!.correlationId).toBe(id);
    const listed = await repo.list({ since: anomaly.time });
    expect(listed).toHaveLength(2);
    const { seq, ...rest } = anomaly;
    expect(listed.find((a) => a.id === id)).toEqual({ ...rest, id, triggerSeq: seq, rotation: null });
    expect(await repo.list({ since: anomaly.time + 1 })).toEqual([]);
    expect(await repo.list({ type: 'failed-burst' })).toEqual([]);
    await repo.setRotation(id!, 'refused:KT_RUN_ACTIVE');
    expect((await repo.get(id!))?.rotation).toBe('refused:KT_RUN_ACTIVE');
  });
});
