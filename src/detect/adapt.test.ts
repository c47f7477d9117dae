import { describe, expect, it } from 'vitest';
import { AccessRepo } from '../access/access-repo.js';
import { makeEvent, GENESIS_PREV } from '../audit/event.js';
import { openTestHome } from '../../test/helpers/state.js';
import { capabilityOf, toAccessEvent } from './adapt.js';
import { PolicyWatch } from './widening.js';

const at = '2026-12-05T03:04:05.678Z';

describe('audit events as the detectors see them', () => {
  it('maps actions to the capability they use', () => {
    expect(
      [
        'secret.read',
        'agent.delivery',
        'secret.put',
        'secret.stage.current',
        'secret.delete',
        'secret.rotate',
        'access.policy.put',
        'audit.export',
        'breakglass.approve',
        'access.denied',
        'audit.nope',
      ].map(capabilityOf),
    ).toEqual(['read', 'read', 'write', 'write', 'delete', 'rotate', 'admin', 'audit', 'approve', null, 'audit']);
  });

  it('keeps the identity, address, agent and time; leaves out system actors, intents and its own anomalies', () => {
    const read = makeEvent(
      { time: at, actor: 'token:tk_1', source: 'api', action: 'secret.read', path: 'prod/db', outcome: 'success', address: '203.0.113.4', userAgent: 'curl/8' },
      4,
      'ab'.repeat(32),
    );
    expect(toAccessEvent(read)).toEqual({
      seq: 4,
      time: Date.parse(at),
      actor: 'token:tk_1',
      source: 'api',
      action: 'secret.read',
      capability: 'read',
      path: 'prod/db',
      outcome: 'success',
      errorCode: null,
      address: '203.0.113.4',
      userAgent: 'curl/8',
    });
    expect(toAccessEvent(makeEvent({ time: at, actor: 'user:alice', source: 'cli', action: 'secret.put', path: 'x', outcome: 'success' }, 0, GENESIS_PREV))).toMatchObject({
      address: null,
      userAgent: null,
      capability: 'write',
    });
    expect(toAccessEvent(makeEvent({ time: at, actor: 'system:scheduler', source: 'engine', action: 'secret.rotate', path: 'x', outcome: 'success' }, 0, GENESIS_PREV))).toBeNull();
    expect(toAccessEvent(makeEvent({ time: at, actor: 'token:tk_1', source: 'api', action: 'secret.rotate', path: 'x', outcome: 'intent' }, 0, GENESIS_PREV))).toBeNull();
    expect(toAccessEvent(makeEvent({ time: at, actor: 'token:tk_1', source: 'detector', action: 'anomaly.failed-burst', path: null, outcome: 'success' }, 0, GENESIS_PREV))).toBeNull();
  });
});

describe('PolicyWatch: which policy changes widen access', () => {
  it('names the bound tokens and what the new rules allow that the old did not; an unchanged or narrower put widens nothing new', async () => {
    const home = await openTestHome();
    try {
      const access = new AccessRepo(home.kt.state, home.kt.clock);
      await access.putPolicy('ops', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n');
      const { info } = await access.createToken({ policies: ['ops'] });
      await access.createToken({ policies: ['admin'] });
      const watch = await PolicyWatch.load(access, home.kt.state);
      const put = (seq: number) => makeEvent({ time: at, actor: 'user:root', source: 'cli', action: 'access.policy.put', path: 'ops', outcome: 'success' }, seq, 'ab'.repeat(32));

      await access.putPolicy('ops', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n');
      expect(await watch.onEvent(put(1))).toBeUndefined();

      await access.putPolicy('ops', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n  - path: prod/db/*\n    capabilities: [read, write]\n');
      const w = await watch.onEvent(put(2));
      expect(w?.actors).toEqual([`token:${info.id}`]);
      expect(w?.what).toBe('policy ops');
      expect(w?.newlyAllowed('prod/db/root', 'read')).toBe(true);
      expect(w?.newlyAllowed('prod/db/root', 'write')).toBe(true);
      expect(w?.newlyAllowed('prod/app/token', 'read')).toBe(false);
      expect(w?.newlyAllowed('prod/db/root', 'delete')).toBe(false);

      // Narrowed again: what it allows now was allowed before, so nothing is newly allowed.
      await access.putPolicy('ops', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n');
      const narrower = await watch.onEvent(put(3));
      expect(narrower?.newlyAllowed('prod/app/token', 'read') ?? false).toBe(false);
      expect(narrower?.newlyAllowed('prod/db/root', 'read') ?? false).toBe(false);
      // Not a policy change: nothing.
      expect(await watch.onEvent(makeEvent({ time: at, actor: 'user:root', source: 'cli', action: 'secret.read', path: 'ops', outcome: 'success' }, 4, 'ab'.repeat(32)))).toBeUndefined();
    } finally {
      await home.close();
    }
  });
});
