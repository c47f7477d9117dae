/**
 * How `keyturn schedule` prints: a secret's schedule as a table of keys, values and where each
 * came from, then its last rotation and next due time (the JSON is ../../../schedule/view-json.ts);
 * the presets as a list. Loaded only when a schedule subcommand runs.
 *
 * @example
 * ```ts
 * scheduleText(view); // "prod/api/token (app-secret)\n\nKEY  VALUE  FROM\ncadence  every 60d  preset api-token (...)\n..."
 * ```
 */
import { spanText } from '../../../core/duration.js';
import { PRESETS, type Preset } from '../../../schedule/presets.js';
import { describeCadence, describeSource, type EffectiveSchedule, type ScheduleKey } from '../../../schedule/resolve.js';
import type { ScheduleView } from '../../../schedule/show.js';
import { describeDays } from '../../../schedule/window.js';
import { isoTime, table } from '../../io.js';

export { scheduleJson } from '../../../schedule/view-json.js';

/** The built-in presets as `schedule presets` lists them. */
export function presetList(): Array<{ name: string; every: string; expiryWarning: string | null; description: string }> {
  return Object.entries(PRESETS).map(([name, p]: [string, Preset]) => ({ name, every: p.every, expiryWarning: p.expiryWarning ?? null, description: p.description }));
}

/** Each key's value as text. */
function valueText(s: EffectiveSchedule, key: ScheduleKey): string {
  switch (key) {
    case 'cadence':
      return describeCadence(s.cadence);
    case 'window':
      return s.window === null ? 'any time' : `${describeDays(s.window.days)} ${s.window.hours} (${s.window.timezone})`;
    case 'jitter':
      return s.jitter === '0s' ? 'none' : `up to ${s.jitter}`;
    case 'maxAge':
      return s.maxAge ?? `none (overdue ${s.expiryWarning} past the due time)`;
    case 'expiryWarning':
      return s.expiryWarning;
    case 'retainPrevious':
      return s.retainPrevious;
    case 'grace':
      return s.grace ?? 'until the next rotation';
  }
}

const KEYS: readonly ScheduleKey[] = ['cadence', 'window', 'jitter', 'maxAge', 'expiryWarning', 'retainPrevious', 'grace'];

/** Why the due time is what it is, in words. */
function dueText(v: ScheduleView): string {
  const d = v.due;
  if (d.dueAt === null) return d.reason === 'manual' ? 'never (manual: rotated only by keyturn rotate)' : 'never (the cron expression does not fire again)';
  if (d.reason === 'renew') return `${isoTime(d.dueAt)}${d.dueAt <= v.now ? ' (due now)' : ''}: the current value needs renewing by itself then (its target's renewBefore), before the schedule's time`;
  const parts = [`${describeCadence(v.schedule.cadence)} from ${isoTime(d.from)}`];
  if (d.jitterMs > 0) parts.push(`jitter ${spanText(d.jitterMs)}`);
  if (d.reason === 'window') parts.push(`moved to the window opening at ${isoTime(d.windowOpensAt)}`);
  if (d.reason === 'missed-window') parts.push(`planned ${isoTime(d.plannedAt)}, window missed: next opening ${isoTime(d.windowOpensAt)}`);
  const now = d.dueAt <= v.now ? (v.mayStartNow ? ' (due now)' : ' (due, waiting for the window)') : '';
  return `${isoTime(d.dueAt)}${now}: ${parts.join('; ')}`;
}

export function scheduleText(v: ScheduleView): string {
  const s = v.schedule;
  const last = v.lastRotation;
  const lines = [
    `${v.path} (${v.type}${v.rotatable ? '' : ', not rotated: no target'})`,
    '',
    table(
      ['KEY', 'VALUE', 'FROM'],
      KEYS.map((k) => [k, valueText(s, k), describeSource(s.sources[k])]),
    ),
    ...s.notes.map((n) => `note: ${n}`),
    table(
      ['', ''],
      [
        ['last rotation', last === null ? `none yet (counted from ${isoTime(v.createdAt)})` : `${isoTime(last.at)} (version ${last.version}${last.runId ? `, run ${last.runId}` : ''})`],
        ['next due', dueText(v)],
        ['warning from', isoTime(v.due.warningAt)],
        ['overdue from', isoTime(v.due.overdueAt)],
        ['status', v.status],
        ...v.cleanups.map((c) => [
          'cleanup',
          `version ${c.versionId} (run ${c.runId}): revoke ${c.revoke}, purge ${c.purge}${c.dueAt === null ? '' : `, next ${isoTime(c.dueAt)}`}${c.errorCode ? `, last attempt failed: ${c.errorCode}` : ''}`,
        ]),
      ],
    )
      .split('\n')
      .slice(1)
      .join('\n'),
  ];
  return lines.join('\n');
}
