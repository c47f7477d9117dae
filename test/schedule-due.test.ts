/**
 * Due times on a fake clock (every input time is given; nothing reads the wall clock): intervals
 * (`every`), `rate`, cron in a time zone, windows across midnight and across daylight-saving
 * changes (Europe/Paris, America/New_York), deterministic jitter and its bounds, a missed window,
 * and the warning and overdue times.
 */
import { describe, expect, it } from 'vitest';
import { afterRotation, ageStatus, mayStartAt, nextDue } from '../src/schedule/due.js';
import { jitterMs } from '../src/schedule/jitter.js';
import { resolveSchedule, type EffectiveSchedule } from '../src/schedule/resolve.js';
import { scheduleSchema } from '../src/schedule/schema.js';
import { instantOf, wallClock } from '../src/schedule/zone.js';

const T = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const D = 24 * H;

/** A secret's effective schedule from its own block (parsed as keyturn.yaml would be). */
function schedule(block: Record<string, unknown>): EffectiveSchedule {
  const { schedule: s, issues } = resolveSchedule({ path: 'test/secret', type: 'app-secret', rotatable: true, own: scheduleSchema.parse(block) });
  expect(issues).toEqual([]);
  return s;
}

/** The due time of `block` for a cycle counted from `last`, at `now` (default: the last rotation). */
function due(block: Record<string, unknown>, last: number, now = last, path = 'test/secret') {
  return nextDue(schedule(block), { path, lastRotatedAt: last, createdAt: 0, now });
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? ms : new Date(ms).toISOString());

describe('every: a fixed time after the last rotation', () => {
  it('90d after the last rotation, counted in elapsed time', () => {
    const d = due({ every: '90d' }, T('2026-01-01T00:00:00Z'));
    expect(iso(d.dueAt)).toBe('2026-04-01T00:00:00.000Z');
    expect(d).toMatchObject({ reason: 'every', jitterMs: 0, cycleAt: d.dueAt, plannedAt: d.dueAt });
  });

  it('a secret never rotated counts from its creation', () => {
    const d = nextDue(schedule({ every: '1d' }), { path: 'x', lastRotatedAt: null, createdAt: T('2026-05-05T10:00:00Z'), now: T('2026-05-05T10:00:00Z') });
    expect(iso(d.dueAt)).toBe('2026-05-06T10:00:00.000Z');
    expect(iso(d.from)).toBe('2026-05-05T10:00:00.000Z');
  });

  it('intervals down to 1 second', () => {
    const last = T('2026-01-01T00:00:00.250Z');
    expect(due({ every: '1s' }, last).dueAt).toBe(last + 1000);
  });

  it('a day is 24 hours across a daylight-saving change (the wall-clock time moves; cron keeps it)', () => {
    // 01:00 Paris on 28 March (CET) + 1d = 03:00 Paris on 29 March (CEST).
    expect(iso(due({ every: '1d' }, T('2026-03-28T00:00:00Z')).dueAt)).toBe('2026-03-29T00:00:00.000Z');
  });
});

describe('rate: a fixed grid from the epoch (EventBridge style)', () => {
  it('the next 20-minute mark after the last rotation', () => {
    expect(iso(due({ rate: '20m' }, T('2026-01-01T00:07:00Z')).dueAt)).toBe('2026-01-01T00:20:00.000Z');
    expect(iso(due({ rate: '20m' }, T('2026-01-01T00:20:00Z')).dueAt)).toBe('2026-01-01T00:40:00.000Z');
  });

  it('a late rotation does not shift the grid, and missed marks are not caught up', () => {
    // Rotated at 00:45 (the 00:20 and 00:40 marks were missed): next is 01:00, once.
    expect(iso(due({ rate: '20m' }, T('2026-01-01T00:45:00Z')).dueAt)).toBe('2026-01-01T01:00:00.000Z');
  });

  it('down to 1 second', () => {
    expect(iso(due({ rate: '1s' }, T('2026-01-01T12:00:00.500Z')).dueAt)).toBe('2026-01-01T12:00:01.000Z');
  });
});

describe('cron in a time zone (croner)', () => {
  it('"0 2 * * 1" is Monday 02:00 on the wall clock of the zone, winter and summer', () => {
    const paris = { cron: '0 2 * * 1', timezone: 'Europe/Paris' };
    expect(iso(due(paris, T('2026-01-01T00:00:00Z')).dueAt)).toBe('2026-01-05T01:00:00.000Z'); // CET, UTC+1
    expect(iso(due(paris, T('2026-07-01T00:00:00Z')).dueAt)).toBe('2026-07-06T00:00:00.000Z'); // CEST, UTC+2
    const ny = { cron: '0 2 * * 1', timezone: 'America/New_York' };
    expect(iso(due(ny, T('2026-01-01T00:00:00Z')).dueAt)).toBe('2026-01-05T07:00:00.000Z'); // EST
    expect(iso(due(ny, T('2026-07-01T00:00:00Z')).dueAt)).toBe('2026-07-06T06:00:00.000Z'); // EDT
  });

  it('the next run is strictly after the last rotation; UTC by default', () => {
    expect(iso(due({ cron: '0 2 * * 1' }, T('2026-01-05T02:00:00Z')).dueAt)).toBe('2026-01-12T02:00:00.000Z');
    expect(due({ cron: '0 2 * * 1' }, T('2026-01-05T02:00:00Z')).reason).toBe('cron');
  });

  it('a fixed time in the skipped hour runs at the first valid time after it; a repeated one runs once (Europe/Paris)', () => {
    const c = { cron: '30 2 * * *', timezone: 'Europe/Paris' };
    // 29 March 2026: 02:00 CET -> 03:00 CEST; 02:30 does not exist.
    expect(iso(due(c, T('2026-03-28T12:00:00Z')).dueAt)).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST
    expect(iso(due(c, T('2026-03-29T01:00:00Z')).dueAt)).toBe('2026-03-30T00:30:00.000Z');
    // 25 October 2026: 03:00 CEST -> 02:00 CET; 02:30 happens twice, the run is the first.
    expect(iso(due(c, T('2026-10-24T12:00:00Z')).dueAt)).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(due(c, T('2026-10-25T00:30:00Z')).dueAt)).toBe('2026-10-26T01:30:00.000Z');
  });

  it('the same across the American changes (America/New_York)', () => {
    // 8 March 2026: 02:00 EST -> 03:00 EDT.
    expect(iso(due({ cron: '30 2 * * *', timezone: 'America/New_York' }, T('2026-03-07T12:00:00Z')).dueAt)).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT
    // 1 November 2026: 02:00 EDT -> 01:00 EST; 01:30 happens twice.
    const c = { cron: '30 1 * * *', timezone: 'America/New_York' };
    expect(iso(due(c, T('2026-10-31T12:00:00Z')).dueAt)).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    expect(iso(due(c, T('2026-11-01T05:30:00Z')).dueAt)).toBe('2026-11-02T06:30:00.000Z'); // once, then 01:30 EST next day
  });

  it('an hourly pattern skips the hour that does not exist', () => {
    expect(iso(due({ cron: '0 * * * *', timezone: 'Europe/Paris' }, T('2026-03-29T00:30:00Z')).dueAt)).toBe('2026-03-29T01:00:00.000Z'); // 01:30 CET -> 03:00 CEST
  });

  it('six fields run down to the second', () => {
    expect(iso(due({ cron: '*/5 * * * * *' }, T('2026-01-01T00:00:01Z')).dueAt)).toBe('2026-01-01T00:00:05.000Z');
  });
});

describe('time-zone arithmetic (Intl)', () => {
  it('a skipped wall time moves forward by the gap; a repeated one is the earlier instant', () => {
    expect(iso(instantOf({ year: 2026, month: 3, day: 29, minute: 150 }, 'Europe/Paris'))).toBe('2026-03-29T01:30:00.000Z'); // 02:30 -> 03:30 CEST
    expect(iso(instantOf({ year: 2026, month: 10, day: 25, minute: 150 }, 'Europe/Paris'))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(iso(instantOf({ year: 2026, month: 3, day: 8, minute: 150 }, 'America/New_York'))).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(iso(instantOf({ year: 2026, month: 11, day: 1, minute: 90 }, 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    expect(wallClock(T('2026-03-29T01:30:00Z'), 'Europe/Paris')).toMatchObject({ day: 29, hour: 3, minute: 30, weekday: 0 });
  });
});

describe('windows', () => {
  // 2 January 2026 is a Friday. `every: 1h` with the last rotation an hour before puts the cycle where the test wants it.
  const fridayNight = { every: '1h', window: { days: ['fri'], hours: '22:00-02:00' } };
  const cycle = (block: Record<string, unknown>, at: string, now?: string) => due(block, T(at) - H, now === undefined ? T(at) - H : T(now));

  it('a window across midnight belongs to the day it opens: Friday 22:00 to Saturday 02:00', () => {
    const inside = cycle(fridayNight, '2026-01-03T01:00:00Z'); // Saturday 01:00
    expect(iso(inside.dueAt)).toBe('2026-01-03T01:00:00.000Z');
    expect(inside.reason).toBe('every');
    expect(iso(inside.windowClosesAt)).toBe('2026-01-03T02:00:00.000Z');
    const after = cycle(fridayNight, '2026-01-03T03:00:00Z'); // Saturday 03:00: next Friday
    expect(after).toMatchObject({ reason: 'window' });
    expect(iso(after.dueAt)).toBe('2026-01-09T22:00:00.000Z');
    expect(iso(after.windowOpensAt)).toBe('2026-01-09T22:00:00.000Z');
    expect(iso(cycle(fridayNight, '2026-01-02T21:00:00Z').dueAt)).toBe('2026-01-02T22:00:00.000Z');
    // Thursday night is not a window: Thursday is not listed, even though the window would run into Friday.
    expect(iso(cycle(fridayNight, '2026-01-01T23:00:00Z').dueAt)).toBe('2026-01-02T22:00:00.000Z');
  });

  it('days as ranges, and a window that wraps the week (sat-mon)', () => {
    const weekend = { every: '1h', window: { days: ['sat-mon'], hours: '10:00-11:00' } };
    expect(iso(cycle(weekend, '2026-01-06T12:00:00Z').dueAt)).toBe('2026-01-10T10:00:00.000Z'); // Tuesday -> Saturday
    expect(iso(cycle(weekend, '2026-01-11T12:00:00Z').dueAt)).toBe('2026-01-12T10:00:00.000Z'); // Sunday -> Monday
  });

  it('on the day clocks go forward (Europe/Paris, 29 March) 02:00-05:00 opens at 03:00 CEST and lasts 2 hours', () => {
    const w = { every: '1h', window: { hours: '02:00-05:00', timezone: 'Europe/Paris' } };
    const d = cycle(w, '2026-03-29T00:30:00Z'); // 01:30 CET
    expect(iso(d.windowOpensAt)).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(d.windowClosesAt)).toBe('2026-03-29T03:00:00.000Z');
    expect(iso(d.dueAt)).toBe('2026-03-29T01:00:00.000Z');
  });

  it('on the day clocks go back (Europe/Paris, 25 October) 02:00-05:00 lasts 4 hours, and the repeated hour is inside', () => {
    const w = { every: '1h', window: { hours: '02:00-05:00', timezone: 'Europe/Paris' } };
    const d = cycle(w, '2026-10-24T23:00:00Z'); // 01:00 CEST
    expect(iso(d.windowOpensAt)).toBe('2026-10-25T00:00:00.000Z'); // 02:00 CEST
    expect(iso(d.windowClosesAt)).toBe('2026-10-25T04:00:00.000Z'); // 05:00 CET
    const s = schedule(w);
    expect(mayStartAt(s, T('2026-10-25T01:30:00Z'))).toBe(true); // 02:30 CET, the second time round
    expect(mayStartAt(s, T('2026-10-25T04:00:00Z'))).toBe(false);
  });

  it('America/New_York: 01:00-03:00 is 1 hour on 8 March and 3 hours on 1 November', () => {
    const w = { every: '1h', window: { hours: '01:00-03:00', timezone: 'America/New_York' } };
    const spring = cycle(w, '2026-03-08T04:00:00Z');
    expect([iso(spring.windowOpensAt), iso(spring.windowClosesAt)]).toEqual(['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z']);
    const fall = cycle(w, '2026-11-01T03:00:00Z');
    expect([iso(fall.windowOpensAt), iso(fall.windowClosesAt)]).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T08:00:00.000Z']);
  });

  it('across midnight and a daylight-saving change at once (Saturday 23:00-02:00 New York, 31 October)', () => {
    const w = { every: '1h', window: { days: ['sat'], hours: '23:00-02:00', timezone: 'America/New_York' } };
    const d = cycle(w, '2026-10-31T20:00:00Z'); // Saturday 16:00 EDT
    expect(iso(d.windowOpensAt)).toBe('2026-11-01T03:00:00.000Z'); // 23:00 EDT
    expect(iso(d.windowClosesAt)).toBe('2026-11-01T07:00:00.000Z'); // 02:00 EST: 4 hours
    expect(mayStartAt(schedule(w), T('2026-11-01T06:30:00Z'))).toBe(true); // Sunday 01:30 EST
  });

  it('a window with a time zone ends at 24:00 local time', () => {
    const w = { every: '1h', window: { days: ['mon'], hours: '20:00-24:00', timezone: 'Europe/Paris' } };
    const d = cycle(w, '2026-01-05T10:00:00Z');
    expect([iso(d.windowOpensAt), iso(d.windowClosesAt)]).toEqual(['2026-01-05T19:00:00.000Z', '2026-01-05T23:00:00.000Z']);
  });
});

describe('a missed window waits for the next one', () => {
  const nightly = { every: '1d', window: { hours: '02:00-05:00' } };
  const last = T('2026-01-09T02:30:00Z'); // planned: 2026-01-10T02:30Z

  it('before the planned time: the planned time', () => {
    const d = due(nightly, last, T('2026-01-10T01:00:00Z'));
    expect(iso(d.dueAt)).toBe('2026-01-10T02:30:00.000Z');
  });

  it('past the planned time, window closed: the next opening after now (not at once)', () => {
    const d = due(nightly, last, T('2026-01-10T06:00:00Z'));
    expect(d.reason).toBe('missed-window');
    expect(iso(d.dueAt)).toBe('2026-01-11T02:00:00.000Z');
    expect(iso(d.windowOpensAt)).toBe('2026-01-11T02:00:00.000Z');
    expect(iso(d.plannedAt)).toBe('2026-01-10T02:30:00.000Z');
    // The age limits stay where the plan put them: a missed window does not push them back.
    expect(iso(d.warningAt)).toBe('2026-01-10T02:30:00.000Z');
    expect(iso(d.overdueAt)).toBe('2026-01-17T02:30:00.000Z');
  });

  it('past the planned time, inside a later window: due at once', () => {
    const now = T('2026-01-11T03:00:00Z');
    const d = due(nightly, last, now);
    expect(d.dueAt).toBeLessThanOrEqual(now);
    expect(mayStartAt(schedule(nightly), now)).toBe(true);
  });

  it('without a window a late secret is simply due at its planned time', () => {
    const d = due({ every: '1d' }, last, T('2026-03-01T00:00:00Z'));
    expect(iso(d.dueAt)).toBe('2026-01-10T02:30:00.000Z');
    expect(d.reason).toBe('every');
  });

  it('the missed-window opening carries the cycle jitter too, inside the window', () => {
    const d = due({ ...nightly, jitter: '2h' }, last, T('2026-01-10T06:00:00Z'), 'prod/missed');
    expect(d.dueAt! - d.windowOpensAt!).toBe(d.jitterMs % (3 * H));
    expect(d.dueAt).toBeLessThan(T('2026-01-11T05:00:00Z'));
  });
});

describe('deterministic jitter', () => {
  // The value below was computed outside Keyturn: the first 48 bits of sha256("keyturn-schedule-jitter\0PATH\0CYCLE_MS"),
  // times (max + 1), shifted right by 48. Instances of different versions must agree, so it is pinned.
  it('the derivation is pinned: sha256 of path and cycle', () => {
    expect(jitterMs('prod/api/token', T('2026-03-02T00:00:00Z'), 1_800_000)).toBe(jitterMs('prod/api/token', T('2026-03-02T00:00:00Z'), 1_800_000));
    expect(jitterMs('prod/api/token', T('2026-03-02T00:00:00Z'), 1_800_000)).toBe(203_380);
    expect(jitterMs('prod/api/token', T('2026-03-02T00:00:00Z'), 0)).toBe(0);
    expect([0, 1]).toContain(jitterMs('prod/api/token', T('2026-03-02T00:00:00Z'), 1));
  });

  it('seed prod/api/token, 1000 hourly cycles, jitter 10m: every due time in [cycle, cycle + 10m], spread over the range', () => {
    const s = schedule({ every: '1h', jitter: '10m' });
    const offsets: number[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const last = T('2026-01-01T00:00:00Z') + i * 3_700_000;
      const d = nextDue(s, { path: 'prod/api/token', lastRotatedAt: last, createdAt: 0, now: last });
      const again = nextDue(s, { path: 'prod/api/token', lastRotatedAt: last, createdAt: 0, now: last + 1 });
      expect(again.dueAt).toBe(d.dueAt); // another instance, another moment: the same due time
      offsets.push(d.dueAt! - d.cycleAt!);
      expect(d.jitterMs).toBe(d.dueAt! - d.cycleAt!);
    }
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(600_000);
    // Spread: each tenth of the range is hit (1000 draws; deterministic for this seed).
    const deciles = new Set(offsets.map((o) => Math.min(9, Math.floor(o / 60_000))));
    expect(deciles.size).toBe(10);
  });

  it('seeds prod/a and prod/b: the same cycle gets different delays on different secrets', () => {
    const cycleAt = T('2026-06-01T00:00:00Z');
    const delays = new Set(['prod/a', 'prod/b', 'prod/c', 'prod/d'].map((p) => jitterMs(p, cycleAt, 3_600_000)));
    expect(delays.size).toBe(4);
  });

  it('seed prod/fold: jitter longer than the window is folded inside it', () => {
    const s = schedule({ every: '1d', jitter: '20h', window: { hours: '02:00-03:00' } });
    for (let i = 0; i < 200; i += 1) {
      const last = T('2026-02-01T10:00:00Z') + i * D;
      const d = nextDue(s, { path: 'prod/fold', lastRotatedAt: last, createdAt: 0, now: last });
      expect(d.dueAt).toBeGreaterThanOrEqual(d.windowOpensAt!);
      expect(d.dueAt).toBeLessThan(d.windowClosesAt!);
      expect(mayStartAt(s, d.dueAt!)).toBe(true);
    }
  });
});

describe('warning and overdue times', () => {
  const last = T('2026-01-01T00:00:00Z');

  it('maxAge sets the overdue time; the warning comes expiryWarning before it', () => {
    const d = due({ every: '90d', maxAge: '100d' }, last);
    expect(d.overdueAt).toBe(last + 100 * D);
    expect(d.warningAt).toBe(last + 93 * D);
    expect(ageStatus(d, last + 92 * D)).toBe('ok');
    expect(ageStatus(d, last + 93 * D)).toBe('warning');
    expect(ageStatus(d, last + 100 * D)).toBe('overdue');
  });

  it('without maxAge: a warning from the planned due time (not rotated yet), overdue expiryWarning later', () => {
    const d = due({ preset: 'api-token', jitter: '1h' }, last, last, 'prod/api/token');
    expect(d.warningAt).toBe(d.plannedAt);
    expect(d.plannedAt).toBe(last + 60 * D + d.jitterMs);
    expect(d.overdueAt).toBe(d.plannedAt! + 7 * D);
    expect(ageStatus(d, d.plannedAt! - 1)).toBe('ok');
    expect(ageStatus(d, d.plannedAt!)).toBe('warning');
    expect(ageStatus(d, d.plannedAt! + 7 * D)).toBe('overdue');
    // A short cycle with the default 7d warning is not in warning all along.
    const fast = due({ rate: '20m' }, T('2026-01-01T00:05:00Z'));
    expect(ageStatus(fast, T('2026-01-01T00:10:00Z'))).toBe('ok');
  });

  it('a manual schedule is never due, but has an age limit with maxAge', () => {
    const d = due({ manual: true, maxAge: '30d', expiryWarning: '0s' }, last);
    expect(d).toMatchObject({ dueAt: null, reason: 'manual', overdueAt: last + 30 * D, warningAt: last + 30 * D });
    expect(due({ manual: true }, last)).toMatchObject({ dueAt: null, overdueAt: null, warningAt: null });
  });

  it('with maxAge, a warning longer than maxAge starts at the last rotation', () => {
    expect(due({ every: '1d', maxAge: '2d', expiryWarning: '7d' }, last).warningAt).toBe(last);
  });

  it('after a rotation: grace ends the previous credential, retainPrevious keeps its version', () => {
    expect(afterRotation(schedule({ every: '30d', grace: '1h' }), last)).toEqual({ graceEndsAt: last + H, keepPreviousUntil: last + 7 * D });
    expect(afterRotation(schedule({ every: '30d', retainPrevious: '30d' }), last)).toEqual({ graceEndsAt: null, keepPreviousUntil: last + 30 * D });
  });
});
