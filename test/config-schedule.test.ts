/**
 * `schedule:` in keyturn.yaml: presets, defaults by type and path prefix and their precedence
 * with the source of each value, the errors (each at its dot-path and line), and what `keyturn
 * apply` stores and reads back (the effective schedule with the policy).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, planConfig } from '../src/config/apply.js';
import { parseConfig } from '../src/config/load.js';
import { isRotatable } from '../src/config/schema.js';
import { isKeyturnError } from '../src/core/errors.js';
import { manualClock } from '../src/core/clock.js';
import { resolveSchedule } from '../src/schedule/resolve.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { openTestHome } from './helpers/state.js';

/** The effective schedule of `path` in a parsed file. */
function effective(yaml: string, path: string) {
  const c = parseConfig(yaml, {});
  const s = c.secrets[path]!;
  return resolveSchedule({ path, type: s.type, rotatable: isRotatable(s), own: s.schedule, defaults: c.schedules }).schedule;
}

/** The message of the KT_CONFIG_FILE_INVALID that parsing `yaml` gives. */
function problem(yaml: string): string {
  try {
    parseConfig(yaml, {});
  } catch (e) {
    if (isKeyturnError(e, 'KT_CONFIG_FILE_INVALID')) return e.message;
    throw e;
  }
  throw new Error('the file was accepted');
}

const LAYERED = `version: 1
schedules:
  all: { expiryWarning: 3d, retainPrevious: 14d }
  types:
    app-secret: { preset: app-secret, jitter: 1h }
  paths:
    prod: { window: { days: [mon-fri], hours: "22:00-02:00", timezone: Europe/Paris }, jitter: 30m }
    prod/api: { preset: api-token }
secrets:
  prod/api/token:
    type: app-secret
    schedule: { jitter: 10m, maxAge: 70d }
  prod/api/other:
    type: app-secret
  prod/web/session:
    type: app-secret
  dev/thing:
    type: app-secret
    schedule: { preset: jwt-secret, window: null }
  admin/db:
    type: database-credential
    initial: { username: a, password: b }
`;

describe('defaults and presets', () => {
  it('the secret wins over the longest prefix, over shorter prefixes, over its type, over all, over the built-in defaults; each value says where it came from', () => {
    const s = effective(LAYERED, 'prod/api/token');
    expect(s.cadence).toEqual({ every: '60d' });
    expect(s.sources.cadence).toEqual({ from: 'preset', preset: 'api-token', key: 'schedules.paths.prod/api.preset' });
    expect(s.window).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '22:00-02:00', timezone: 'Europe/Paris' });
    expect(s.sources.window).toEqual({ from: 'prefix', key: 'schedules.paths.prod' });
    expect([s.jitter, s.sources.jitter]).toEqual(['10m', { from: 'secret', key: 'secrets.prod/api/token.schedule' }]);
    expect([s.maxAge, s.sources.maxAge]).toEqual(['70d', { from: 'secret', key: 'secrets.prod/api/token.schedule' }]);
    // The preset's 7d warning (prefix prod/api) wins over all's 3d.
    expect([s.expiryWarning, s.sources.expiryWarning]).toEqual(['7d', { from: 'preset', preset: 'api-token', key: 'schedules.paths.prod/api.preset' }]);
    expect([s.retainPrevious, s.sources.retainPrevious]).toEqual(['14d', { from: 'all', key: 'schedules.all' }]);
    expect([s.grace, s.sources.grace]).toEqual([null, { from: 'built-in' }]);
  });

  it('without a block of its own a secret takes the defaults: a prefix over the type', () => {
    const other = effective(LAYERED, 'prod/api/other');
    expect([other.jitter, other.sources.jitter]).toEqual(['30m', { from: 'prefix', key: 'schedules.paths.prod' }]);
    const web = effective(LAYERED, 'prod/web/session');
    expect([web.cadence, web.sources.cadence]).toEqual([{ every: '90d' }, { from: 'preset', preset: 'app-secret', key: 'schedules.types.app-secret.preset' }]);
    expect(web.sources.window).toEqual({ from: 'prefix', key: 'schedules.paths.prod' });
    expect([web.expiryWarning, web.sources.expiryWarning]).toEqual(['3d', { from: 'all', key: 'schedules.all' }]);
  });

  it('a preset named by the secret counts below its own keys; window: null removes an inherited window', () => {
    const s = effective(LAYERED, 'dev/thing');
    expect([s.cadence, s.sources.cadence]).toEqual([{ every: '180d' }, { from: 'preset', preset: 'jwt-secret', key: 'secrets.dev/thing.schedule.preset' }]);
    expect([s.window, s.sources.window]).toEqual([null, { from: 'secret', key: 'secrets.dev/thing.schedule' }]);
    expect([s.jitter, s.sources.jitter]).toEqual(['1h', { from: 'type', key: 'schedules.types.app-secret' }]);
  });

  it('a prefix matches whole segments only', () => {
    const s = effective(
      `version: 1
schedules:
  paths:
    prod: { every: 1d }
secrets:
  production/x: { type: app-secret }
  prod: { type: app-secret }
`,
      'production/x',
    );
    expect(s.sources.cadence).toEqual({ from: 'built-in' });
  });

  it('a secret that is not rotated (no target) keeps no inherited cadence, and says why', () => {
    const s = effective(LAYERED.replace('app-secret: { preset: app-secret, jitter: 1h }', 'app-secret: { preset: app-secret, jitter: 1h }\n    database-credential: { every: 30d }'), 'admin/db');
    expect([s.cadence, s.sources.cadence]).toEqual([{ manual: true }, { from: 'built-in' }]);
    expect(s.notes).toEqual(['every 30d from schedules.types.database-credential does not apply: a database-credential without a target is stored, not rotated']);
  });

  it('every preset of the table', () => {
    const every = (preset: string) => effective(`version: 1\nsecrets:\n  a:\n    type: app-secret\n    schedule: { preset: ${preset} }\n`, 'a');
    expect(
      Object.fromEntries(
        ['service-principal-certificate', 'api-token', 'signing-key', 'siem', 'telemetry', 'root-key', 'admin-key', 'database-password', 'app-secret', 'jwt-secret'].map((p) => [
          p,
          (every(p).cadence as { every: string }).every,
        ]),
      ),
    ).toEqual({
      'service-principal-certificate': '90d',
      'api-token': '60d',
      'signing-key': '90d',
      siem: '30d',
      telemetry: '30d',
      'root-key': '30d',
      'admin-key': '30d',
      'database-password': '90d',
      'app-secret': '90d',
      'jwt-secret': '180d',
    });
    expect(every('api-token').expiryWarning).toBe('7d');
  });

  it('the built-in defaults: manual, no window, no jitter, warning 7d, previous versions kept 7d', () => {
    const s = effective('version: 1\nsecrets:\n  a: { type: app-secret }\n', 'a');
    expect(s).toMatchObject({ cadence: { manual: true }, window: null, jitter: '0s', maxAge: null, expiryWarning: '7d', retainPrevious: '7d', grace: null });
  });

  it('cron with its time zone, and rate down to a second', () => {
    expect(effective('version: 1\nsecrets:\n  a:\n    type: app-secret\n    schedule: { cron: "0 2 * * 1", timezone: Europe/Paris }\n', 'a').cadence).toEqual({
      cron: '0 2 * * 1',
      timezone: 'Europe/Paris',
    });
    expect(effective('version: 1\nsecrets:\n  a:\n    type: app-secret\n    schedule: { cron: "@daily" }\n', 'a').cadence).toEqual({ cron: '@daily', timezone: 'UTC' });
    expect(effective('version: 1\nsecrets:\n  a:\n    type: app-secret\n    schedule: { rate: 1s }\n', 'a').cadence).toEqual({ rate: '1s' });
  });
});

describe('errors name the dot-path and the line', () => {
  const one = (block: string) => `version: 1\nsecrets:\n  app/x:\n    type: app-secret\n    schedule: ${block}\n`;

  it.each([
    ['{ every: 90d, rate: 20m }', 'keyturn.yaml:5: secrets.app/x.schedule.rate: one cadence per schedule: every and rate are both set'],
    ['{ every: 90 }', 'secrets.app/x.schedule.every: Invalid input: expected string, received number'],
    ['{ every: 1.5h }', 'secrets.app/x.schedule.every: must be a duration: a whole number and s, m, h or d (90s, 20m, 24h, 90d)'],
    ['{ every: 0s }', 'secrets.app/x.schedule.every: must be a duration'],
    ['{ cron: "0 2 * * 1", timezone: Mars/Olympus }', 'secrets.app/x.schedule.timezone: must be an IANA time zone such as Europe/Paris or America/New_York, or UTC'],
    ['{ cron: "0 2 * * 1", timezone: "+01:00" }', 'secrets.app/x.schedule.timezone: must be an IANA time zone'],
    ['{ cron: "61 2 * * 1" }', 'secrets.app/x.schedule.cron: not a cron expression'],
    ['{ cron: "0 0 31 2 *" }', 'secrets.app/x.schedule.cron: the cron expression never fires'],
    ['{ every: 1d, timezone: UTC }', 'secrets.app/x.schedule.timezone: timezone goes with cron (a window has its own timezone)'],
    ['{ every: 1d, window: { hours: "22:00" } }', 'secrets.app/x.schedule.window.hours: must be HH:MM-HH:MM'],
    ['{ every: 1d, window: { hours: "02:00-02:00" } }', 'secrets.app/x.schedule.window.hours: must be HH:MM-HH:MM'],
    ['{ every: 1d, window: { days: [monday] } }', 'secrets.app/x.schedule.window.days.0: must be a day (mon, tue, wed, thu, fri, sat, sun) or a range of days (mon-fri)'],
    ['{ every: 1d, window: { timezone: UTC } }', 'secrets.app/x.schedule.window: a window needs days, hours or both'],
    ['{ every: 1d, window: { days: [mon], hour: "01:00-02:00" } }', 'secrets.app/x.schedule.window: Unrecognized key: "hour"'],
    ['{ every: 1d, jitter: 1d }', 'secrets.app/x.schedule: jitter 1d (from secrets.app/x.schedule) must be shorter than every 1d (from secrets.app/x.schedule)'],
    ['{ rate: 1h, maxAge: 30m }', 'secrets.app/x.schedule: maxAge 30m (from secrets.app/x.schedule) is shorter than rate 1h: the secret would be overdue before it is due'],
    ['{ preset: api-tokens }', 'secrets.app/x.schedule.preset: Invalid option'],
    ['{ jitter: 5m }', 'secrets.app/x.schedule: no cadence: set one of every, rate, cron or manual: true, or a preset'],
    ['{ every: 1d, retain: 7d }', 'secrets.app/x.schedule: Unrecognized key: "retain"'],
    ['{ manual: false }', 'secrets.app/x.schedule.manual: Invalid input: expected true'],
  ])('%s', (block, message) => {
    const got = problem(one(block));
    expect(got).toContain(message);
    expect(got).toMatch(/^keyturn\.yaml:\d+: /);
  });

  it('a combination of defaults is checked for each secret it reaches', () => {
    const got = problem(`version: 1
schedules:
  all: { jitter: 2h }
  paths:
    fast: { rate: 1h }
secrets:
  fast/a: { type: app-secret }
`);
    expect(got).toContain('keyturn.yaml:7: secrets.fast/a.schedule: jitter 2h (from schedules.all) must be shorter than rate 1h (from schedules.paths.fast)');
  });

  it('a cadence on a secret Keyturn does not rotate', () => {
    expect(problem('version: 1\nsecrets:\n  admin/db:\n    type: database-credential\n    initial: { username: a, password: b }\n    schedule: { every: 30d }\n')).toContain(
      'secrets.admin/db.schedule: a database-credential without a target is stored, not rotated: use manual: true to track its age, or give it a target',
    );
    expect(effective('version: 1\nsecrets:\n  admin/db:\n    type: database-credential\n    schedule: { manual: true, maxAge: 90d }\n', 'admin/db').maxAge).toBe('90d');
  });

  it('the defaults section is strict too', () => {
    expect(problem('version: 1\nschedules:\n  type: {}\n')).toContain('keyturn.yaml:3: schedules: Unrecognized key: "type"');
    expect(problem('version: 1\nschedules:\n  types:\n    api-token: { every: 1d }\n')).toContain('schedules.types: Unrecognized key: "api-token"');
    expect(problem('version: 1\nschedules:\n  paths:\n    /prod: { every: 1d }\n')).toContain('keyturn.yaml:4: schedules.paths./prod: Invalid key in record');
    expect(problem('version: 1\nschedules:\n  paths:\n    prod: { every: 1d, rate: 1h }\n')).toContain('schedules.paths.prod.rate: one cadence per schedule');
  });
});

describe('apply stores the effective schedule with the policy', () => {
  let home: Awaited<ReturnType<typeof openTestHome>>;
  let kt: Keyturn;
  const clock = manualClock(Date.parse('2026-02-01T00:00:00Z'));
  beforeEach(async () => {
    home = await openTestHome({ clock });
    kt = home.kt;
  });
  afterEach(() => home.close());

  const apply = async (yaml: string) => {
    const c = parseConfig(yaml, {});
    const plan = await planConfig(kt.state, kt.store, c);
    await applyPlan(kt.state, kt.store, c, plan, kt.clock);
    return plan;
  };

  const rows = async () => new Map((await kt.state.db.selectFrom('secret_policies').selectAll().execute()).map((r) => [r.path, JSON.parse(r.config) as Record<string, unknown>]));

  it('a secret that keyturn.yaml says nothing about the schedule of is stored as before, without one', async () => {
    await apply('version: 1\nsecrets:\n  a: { type: app-secret }\n');
    expect((await rows()).get('a')).toEqual({ type: 'app-secret', consumers: [], rotation: { attempts: 5, backoffBaseMs: 10_000, backoffCapMs: 300_000, timeoutMs: 30_000 } });
    expect((await kt.applied.policy('a')).effectiveSchedule).toEqual(effective('version: 1\nsecrets:\n  a: { type: app-secret }\n', 'a'));
  });

  it('the others have theirs stored, read back with their sources', async () => {
    await apply(LAYERED);
    const stored = await rows();
    expect(stored.get('admin/db')!.effectiveSchedule).toMatchObject({ cadence: { manual: true }, expiryWarning: '3d', sources: { cadence: { from: 'built-in' }, expiryWarning: { from: 'all' } } });
    expect(stored.get('prod/api/token')!.schedule).toEqual({ jitter: '10m', maxAge: '70d' });
    expect(stored.get('prod/api/token')!.effectiveSchedule).toMatchObject({ cadence: { every: '60d' }, jitter: '10m', sources: { window: { from: 'prefix', key: 'schedules.paths.prod' } } });
    const policy = await kt.applied.policy('prod/api/token');
    expect(policy.effectiveSchedule).toEqual(effective(LAYERED, 'prod/api/token'));
    expect(policy.schedule).toEqual({ jitter: '10m', maxAge: '70d' });
    expect((await kt.applied.policy('admin/db')).effectiveSchedule.sources.cadence).toEqual({ from: 'built-in' });
    expect((await kt.applied.policies()).map((p) => [p.path, (p.effectiveSchedule.cadence as { every?: string }).every ?? 'manual'])).toEqual([
      ['admin/db', 'manual'],
      ['dev/thing', '180d'],
      ['prod/api/other', '60d'],
      ['prod/api/token', '60d'],
      ['prod/web/session', '90d'],
    ]);
  });

  it('applying again is unchanged; a changed default shows as a change of each policy it reaches', async () => {
    await apply(LAYERED);
    expect((await apply(LAYERED)).every((e) => e.action === 'unchanged')).toBe(true);
    const plan = await apply(LAYERED.replace('prod/api: { preset: api-token }', 'prod/api: { preset: api-token, grace: 1h }'));
    expect(plan.filter((e) => e.action !== 'unchanged')).toEqual([
      { kind: 'policy', name: 'prod/api/other', action: 'change', changed: ['effectiveSchedule'] },
      { kind: 'policy', name: 'prod/api/token', action: 'change', changed: ['effectiveSchedule'] },
    ]);
    expect((await kt.applied.policy('prod/api/other')).effectiveSchedule.grace).toBe('1h');
  });
});
