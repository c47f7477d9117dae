/**
 * The `schedule:` block of keyturn.yaml (a secret's own, a default under `schedules:`, or what a
 * preset stands for), validated with zod: durations (`90s`, `20m`, `24h`, `90d`), at most one
 * cadence (`every`, `rate`, `cron` with its `timezone`, or `manual: true`), a window, and the keys
 * about age and the previous credential. Also the stored form of an effective schedule (what
 * `keyturn apply` writes with the policy, ./resolve.ts).
 *
 * @example
 * ```yaml
 * schedule:
 *   cron: "0 2 * * 1"
 *   timezone: Europe/Paris
 *   window: { days: [mon-fri], hours: "02:00-05:00", timezone: Europe/Paris }
 *   jitter: 30m
 *   maxAge: 14d
 * ```
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { cronIssue } from './cron.js';
import { PRESET_NAMES } from './presets.js';
import { DAY_ENTRY, expandDays, HOURS, parseHours, WEEKDAYS } from './window.js';
import { isTimeZone } from './zone.js';

const ZERO = /^0{1,9}[smhd]$/;

/** Milliseconds of a duration text; `0s` is 0 only where zero is allowed. Null when not a duration. */
export function durationMs(text: string, allowZero = false): number | null {
  if (allowZero && ZERO.test(text)) return 0;
  return parseDuration(text);
}

const HOURS_HELP = 'must be HH:MM-HH:MM (24-hour clock, end up to 24:00, start and end different); an end before the start crosses midnight';

const DURATION_HELP = 'a whole number and s, m, h or d (90s, 20m, 24h, 90d)';

const DURATION_TEXT = /^\d{1,9}[smhd]$/;

/** A duration of at least one second (the pattern shows in the JSON Schema, for editors). */
const duration = z
  .string()
  .regex(DURATION_TEXT, `must be a duration: ${DURATION_HELP}`)
  .refine((t) => !DURATION_TEXT.test(t) || durationMs(t) !== null, { message: 'must be a duration of at least 1s' });
/** A duration that may be zero (`0s`). */
const durationOrZero = z
  .string()
  .regex(DURATION_TEXT, `must be a duration: ${DURATION_HELP}, or 0s`)
  .refine((t) => !DURATION_TEXT.test(t) || durationMs(t, true) !== null, { message: 'must be a duration of at most 9 digits' });

export const timeZone = z.string().refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Paris or America/New_York, or UTC' });

export const windowSchema = z
  .strictObject({
    days: z
      .array(z.string().regex(DAY_ENTRY, 'must be a day (mon, tue, wed, thu, fri, sat, sun) or a range of days (mon-fri)'))
      .min(1)
      .optional()
      .describe('days the window opens on: mon ... sun, or ranges such as mon-fri (default: every day)'),
    hours: z
      .string()
      .regex(HOURS, HOURS_HELP)
      .refine((h) => !HOURS.test(h) || parseHours(h) !== null, { message: HOURS_HELP })
      .optional()
      .describe('HH:MM-HH:MM on the wall clock of the time zone; 22:00-02:00 crosses midnight (default: the whole day)'),
    timezone: timeZone.optional().describe('IANA time zone of days and hours (default UTC)'),
  })
  .refine((w) => w.days !== undefined || w.hours !== undefined, { message: 'a window needs days, hours or both' })
  .describe('when a rotation may start; outside it a due rotation waits for the next opening')
  .meta({ id: 'scheduleWindow' });

const CADENCES = ['every', 'rate', 'cron', 'manual'] as const;

export const scheduleSchema = z
  .strictObject({
    preset: z.enum(PRESET_NAMES).optional().describe('a built-in preset (see docs/schedule.md); keys set next to it win over it'),
    every: duration.optional().describe('rotate this long after the last rotation (down to 1s)'),
    rate: duration.optional().describe('rotate on a fixed grid of this period, counted from 1970-01-01T00:00Z (EventBridge rate style)'),
    cron: z.string().min(1).max(256).optional().describe('cron expression (5 fields, or 6 with seconds) in `timezone`'),
    timezone: timeZone.optional().describe('IANA time zone of `cron` (default UTC)'),
    manual: z.literal(true).optional().describe('never rotated by the scheduler; maxAge and expiryWarning still apply'),
    window: windowSchema.nullable().optional().describe('days and hours a rotation may start in; null: any time'),
    jitter: durationOrZero.optional().describe('up to this much later than due, the same on every instance (0s: none)'),
    maxAge: duration.nullable().optional().describe('the oldest the current value may get; past it the secret is overdue (null: expiryWarning past its due time)'),
    expiryWarning: durationOrZero.optional().describe('warn this long before the secret is overdue (default 7d); without maxAge, also how late a rotation may be before it is overdue'),
    retainPrevious: duration.optional().describe('replaced versions are kept at least this long before a purge (default 7d)'),
    grace: duration.nullable().optional().describe('how long the previous credential keeps working after a rotation (null: until the next rotation)'),
  })
  .superRefine((s, ctx) => {
    const set = CADENCES.filter((k) => s[k] !== undefined);
    if (set.length > 1) ctx.addIssue({ code: 'custom', path: [set[1]!], message: `one cadence per schedule: ${set.join(' and ')} are both set` });
    if (s.timezone !== undefined && s.cron === undefined) ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone goes with cron (a window has its own timezone)' });
    if (s.cron !== undefined && (s.timezone === undefined || isTimeZone(s.timezone))) {
      const issue = cronIssue(s.cron, s.timezone ?? 'UTC');
      if (issue) ctx.addIssue({ code: 'custom', path: ['cron'], message: issue });
    }
  })
  .meta({ id: 'schedule' });

export type ScheduleInput = z.infer<typeof scheduleSchema>;
export type WindowInput = z.infer<typeof windowSchema>;

const source = z.union([
  z.strictObject({ from: z.literal('built-in') }),
  z.strictObject({ from: z.enum(['all', 'type', 'prefix', 'secret']), key: z.string() }),
  z.strictObject({ from: z.literal('preset'), preset: z.enum(PRESET_NAMES), key: z.string() }),
]);

/** The stored form of an effective schedule (./resolve.ts): every value explicit, and where it came from. */
export const effectiveScheduleSchema = z.strictObject({
  cadence: z.union([z.strictObject({ every: duration }), z.strictObject({ rate: duration }), z.strictObject({ cron: z.string(), timezone: timeZone }), z.strictObject({ manual: z.literal(true) })]),
  window: z.strictObject({ days: z.array(z.enum(WEEKDAYS)).min(1), hours: z.string(), timezone: timeZone }).nullable(),
  jitter: durationOrZero,
  maxAge: duration.nullable(),
  expiryWarning: durationOrZero,
  retainPrevious: duration,
  grace: duration.nullable(),
  sources: z.strictObject({
    cadence: source,
    window: source,
    jitter: source,
    maxAge: source,
    expiryWarning: source,
    retainPrevious: source,
    grace: source,
  }),
  notes: z.array(z.string()),
});

/** A window block with every key explicit: days expanded Monday first, hours and zone filled in. */
export function normalizeWindow(w: WindowInput): { days: Array<(typeof WEEKDAYS)[number]>; hours: string; timezone: string } {
  return { days: expandDays(w.days ?? ['mon-sun']), hours: w.hours ?? '00:00-24:00', timezone: w.timezone ?? 'UTC' };
}
