import { describe, expect, it } from 'vitest';
import { seeded } from '../../../test/helpers/seeded.js';
import type { Capability } from '../../access/capabilities.js';
import type { AccessEvent, Anomaly, Detector, Widening } from '../detector.js';
import { detectorRegistry } from '../registry.js';
import { createPrivilegeEscalationDetector, privilegeEscalationConfigSchema } from './privilege-escalation.js';

const T0 = Date.UTC(2025, 0, 6, 9);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let seq = 0;
function access(time: number, actor: string, capability: Capability | null, path: string | null, more: Partial<AccessEvent> = {}): AccessEvent {
  return { seq: seq++, time, actor, source: 'api', action: 'secret.read', capability, path, outcome: 'success', errorCode: null, address: '10.0.0.5', userAgent: null, ...more };
}

/** A policy change by user:ops widening `actors`' access to `capabilities` under `prefix`. */
function widen(time: number, what: string, actors: string[], prefix: string, capabilities: Capability[] = ['read'], outcome: AccessEvent['outcome'] = 'success'): AccessEvent {
  const widening: Widening = { actors, what, newlyAllowed: (path, capability) => path.startsWith(prefix) && capabilities.includes(capability) };
  return access(time, 'user:ops', 'admin', what.replace(/^policy /, ''), { action: 'access.policy.put', outcome, widening });
}

function detector(config: Record<string, unknown> = {}): Detector {
  return createPrivilegeEscalationDetector(privilegeEscalationConfigSchema.parse({ type: 'privilege-escalation', ...config }));
}

function run(d: Detector, events: readonly AccessEvent[]): Anomaly[] {
  return events.flatMap((e) => d.observe(e));
}

describe('privilege-escalation', () => {
  it('flags the first use of what a widening newly allows, once per identity and widening', () => {
    const d = detector();
    expect(d.observe(widen(T0, 'policy ops', ['token:tk_x', 'token:tk_y'], 'prod/db/'))).toEqual([]);
    expect(d.tracked()).toBe(2);
    // what it was allowed before, and what the widening does not allow, are not
    expect(run(d, [access(T0 + MINUTE, 'token:tk_x', 'read', 'prod/web/api-key'), access(T0 + 2 * MINUTE, 'token:tk_x', 'write', 'prod/db/admin')])).toEqual([]);
    const [a, ...more] = d.observe(access(T0 + 5 * MINUTE, 'token:tk_x', 'read', 'prod/db/admin'));
    expect(more).toEqual([]);
    expect(a).toMatchObject({ type: 'privilege-escalation', actor: 'token:tk_x', path: 'prod/db/admin', address: '10.0.0.5', time: T0 + 5 * MINUTE });
    expect(a!.reason).toBe('token:tk_x read prod/db/admin 5 min after policy ops widened it');
    expect(a!.details).toMatchObject({ widening: 'policy ops', capability: 'read', elapsedMinutes: 5, windowHours: 24 });
    expect(a!.score).toBeGreaterThan(1.99);
    // once per identity and widening: the next reads are not
    expect(run(d, [access(T0 + 6 * MINUTE, 'token:tk_x', 'read', 'prod/db/admin'), access(T0 + 7 * MINUTE, 'token:tk_x', 'read', 'prod/db/other')])).toEqual([]);
    // the other identity of the same widening is its own incident
    expect(d.observe(access(T0 + 3 * HOUR + 20 * MINUTE, 'token:tk_y', 'read', 'prod/db/x'))[0]?.reason).toBe('token:tk_y read prod/db/x 3 h 20 min after policy ops widened it');
  });

  it('counts only successful accesses by the identities named, within windowHours', () => {
    const d = detector({ windowHours: 4 });
    d.observe(widen(T0, 'policy ops', ['token:tk_x'], 'prod/db/'));
    expect(d.observe(access(T0 + MINUTE, 'token:tk_other', 'read', 'prod/db/admin'))).toEqual([]);
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'prod/db/admin', { outcome: 'failure', errorCode: 'KT_SECRET_NOT_FOUND' }))).toEqual([]);
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'prod/db/admin', { outcome: 'intent' }))).toEqual([]);
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', null, null, { action: 'access.authenticate' }))).toEqual([]);
    expect(d.observe(access(T0 + 4 * HOUR + 1, 'token:tk_x', 'read', 'prod/db/admin'))).toEqual([]);
    expect(d.tracked()).toBe(0); // its only widening expired
  });

  it('ignores a change that failed, and reads a widening actor without the token: prefix as a token', () => {
    const d = detector();
    d.observe(widen(T0, 'policy failed', ['token:tk_x'], 'prod/', ['read'], 'failure'));
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'prod/db'))).toEqual([]);
    d.observe(widen(T0 + MINUTE, 'token tk_z', ['tk_z'], 'prod/'));
    expect(d.observe(access(T0 + 2 * MINUTE, 'token:tk_z', 'read', 'prod/db'))[0]?.reason).toBe('token:tk_z read prod/db 1 min after token tk_z widened it');
  });

  it('reports each of several widenings once, citing the latest that allows the access', () => {
    const d = detector();
    d.observe(widen(T0, 'policy a', ['token:tk_x'], 'prod/a/'));
    d.observe(widen(T0 + 10 * MINUTE, 'policy ab', ['token:tk_x'], 'prod/', ['read', 'list']));
    expect(d.observe(access(T0 + 15 * MINUTE, 'token:tk_x', 'read', 'prod/a/db'))[0]?.details).toMatchObject({ widening: 'policy ab', elapsedMinutes: 5 });
    // both are reported now: another path under prod/ is not a new incident
    expect(run(d, [access(T0 + 16 * MINUTE, 'token:tk_x', 'list', 'prod/b'), access(T0 + 17 * MINUTE, 'token:tk_x', 'read', 'prod/a/x')])).toEqual([]);
    // an access a little before the change in time (clocks differ) but after it in the log
    d.observe(widen(T0 + 30 * MINUTE, 'policy c', ['token:tk_x'], 'prod/c/'));
    expect(d.observe(access(T0 + 29 * MINUTE, 'token:tk_x', 'read', 'prod/c/db'))[0]?.reason).toBe('token:tk_x read prod/c/db <1 min after policy c widened it');
  });

  it('keeps at most maxWidenings per identity, dropping the oldest', () => {
    const d = detector({ maxWidenings: 2 });
    d.observe(widen(T0, 'policy p0', ['token:tk_x'], 'p0/'));
    d.observe(widen(T0 + 1, 'policy p1', ['token:tk_x'], 'p1/'));
    d.observe(widen(T0 + 2, 'policy p2', ['token:tk_x'], 'p2/'));
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'p0/db'))).toEqual([]);
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'p1/db'))).toHaveLength(1);
    expect(d.observe(access(T0 + MINUTE, 'token:tk_x', 'read', 'p2/db'))).toHaveLength(1);
  });

  it('keeps at most maxIdentities identities', () => {
    const d = detector({ maxIdentities: 20 });
    for (let i = 0; i < 200; i++) d.observe(widen(T0 + i, `policy p${i}`, [`token:tk_${i}`, `token:tk_${i}b`], `p${i}/`));
    expect(d.tracked()).toBeLessThanOrEqual(20);
    // the most recent ones are still known
    expect(d.observe(access(T0 + HOUR, 'token:tk_199', 'read', 'p199/db'))).toHaveLength(1);
  });

  it('raises nothing on a week of normal reads with widenings nobody uses (seed 424242)', () => {
    const rng = seeded(424242);
    const d = detector();
    const tokens = Array.from({ length: 40 }, (_, i) => `token:tk_${i}`);
    const events: AccessEvent[] = [];
    for (let t = T0; t < T0 + 7 * 24 * HOUR; t += 10_000 + rng() * 20_000) {
      const actor = tokens[Math.floor(rng() * tokens.length)]!;
      events.push(access(t, actor, rng() < 0.9 ? 'read' : 'list', `prod/app${Math.floor(rng() * 10)}/db`));
      if (rng() < 0.0005) events.push(widen(t + 1, `policy archive-${events.length}`, [actor], `archive/${events.length}/`, ['read', 'list']));
    }
    expect(events.filter((e) => e.widening !== undefined).length).toBeGreaterThan(5);
    expect(run(d, events)).toEqual([]);
  });

  it('parses its defaults and refuses bad values', () => {
    expect(detectorRegistry.parse({ type: 'privilege-escalation' })).toEqual({ type: 'privilege-escalation', maxIdentities: 10000, windowHours: 24, maxWidenings: 4 });
    expect(() => detectorRegistry.parse({ type: 'privilege-escalation', windowHours: 0 })).toThrow(/windowHours/);
    expect(() => detectorRegistry.parse({ type: 'privilege-escalation', window: 4 })).toThrow(/window/);
  });
});
