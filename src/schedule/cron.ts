/**
 * Cron expressions, parsed and evaluated by croner (never by hand): five fields (minute hour
 * day-of-month month day-of-week) or six with seconds first, names (`mon`, `jan`) and nicknames
 * (`@daily`), in a time zone. Day of month and day of week combine with OR, as in Vixie cron.
 * Around daylight-saving changes croner's rules apply: a fixed time of day that falls in the
 * skipped hour runs at the first valid time after it, one that happens twice runs once; a
 * pattern with a wildcard or step in its time fields (an interval) skips the missing times and
 * runs on both occurrences of a repeated one.
 *
 * @example
 * ```ts
 * cronIssue('0 2 * * 1', 'Europe/Paris'); // null: valid
 * nextCron('0 2 * * 1', 'Europe/Paris', Date.parse('2026-01-01T00:00:00Z')); // Monday 5 Jan 02:00 Paris, as epoch ms
 * ```
 */
import { Cron } from 'croner';

const parsed = new Map<string, Cron>();

function job(pattern: string, zone: string): Cron {
  const key = `${zone}\n${pattern}`;
  let c = parsed.get(key);
  if (!c) {
    c = new Cron(pattern, { timezone: zone, mode: '5-or-6-parts', paused: true });
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(key, c);
  }
  return c;
}

/** Why `pattern` is not a cron expression Keyturn can schedule by (null when it is). */
export function cronIssue(pattern: string, zone: string, now = Date.now()): string | null {
  try {
    if (job(pattern, zone).nextRun(new Date(now)) === null) return 'the cron expression never fires';
    return null;
  } catch (e) {
    return `not a cron expression: ${String((e as Error).message).replace(/^CronPattern: /, '')}`;
  }
}

/** The first time the expression fires strictly after `after` (epoch ms), or null when it never fires again. */
export function nextCron(pattern: string, zone: string, after: number): number | null {
  const next = job(pattern, zone).nextRun(new Date(after));
  return next === null ? null : next.getTime();
}
