/**
 * When a secret is next due for rotation, and when it gets a warning and becomes overdue: a pure
 * function of its effective schedule (./resolve.ts), its last rotation and the time now. No I/O,
 * no clock of its own: the scheduler and `keyturn schedule show` pass `now`.
 *
 * The steps, for a secret whose cycle starts at `from` (its last rotation, else its creation):
 *
 * 1. the cadence's next time after `from` is the cycle (./cadence.ts);
 * 2. the cycle's jitter, a delay in [0, jitter] derived from the path and the cycle (./jitter.ts),
 *    is added: every instance computes the same due time;
 * 3. with a window, a due time outside it moves to the next opening, plus the same jitter folded
 *    into the window's length (`jitter mod length` when it does not fit), so it still starts inside;
 *    a due time inside keeps its jitter, folded the same way when it would pass the close. That is
 *    the planned due time (`plannedAt`);
 * 4. a missed window: when the planned time has passed (`now` is later: the scheduler was down, or
 *    a run kept failing) and `now` is outside the window, the rotation waits for the next opening
 *    after `now` (plus the folded jitter); inside a window it is due at once.
 *
 * The overdue time is `from + maxAge`; without maxAge it is `expiryWarning` past the planned due
 * time (a rotation that late has failed or been missed). The warning starts `expiryWarning`
 * before the overdue time (not before `from`): without maxAge, at the planned due time. A manual
 * schedule is never due, and has an overdue time and a warning only with maxAge.
 *
 * @example
 * ```ts
 * const due = nextDue(schedule, { path: 'prod/api/token', lastRotatedAt: Date.parse('2026-01-01T00:00:00Z'), createdAt: 0, now: Date.now() });
 * if (due.dueAt !== null && due.dueAt <= now) { ... rotate ... }
 * // every 60d, jitter 30m: due.dueAt is in [2026-03-02T00:00Z, 2026-03-02T00:30Z], the same on every instance
 * ```
 */
import { cadenceAfter } from './cadence.js';
import { jitterMs } from './jitter.js';
import type { ScheduleValues } from './resolve.js';
import { durationMs } from './schema.js';
import { compileWindow, windowAtOrAfter, windowContaining, type CompiledWindow, type WindowSpan, type WindowSpec } from './window.js';

export interface DueInput {
  /** The secret's path: it seeds the jitter. */
  readonly path: string;
  /** When the current value was made (the current version's creation); null when the secret has none yet. */
  readonly lastRotatedAt: number | null;
  /** When the schedule began to apply (the secret's creation, else the policy's apply): the cycle's start without a rotation. */
  readonly createdAt: number;
  readonly now: number;
}

/**
 * Why the due time is what it is: the cadence that set it (`every`, `rate`, `cron`), `window`
 * (moved to a window's opening), `missed-window` (the planned time passed while the window was
 * closed: the next opening after now), `manual` (never due), `no-next-run` (a cron expression
 * that never fires again), `renew` (set by the due repo, not here: the current value needs renewing
 * by itself before the schedule's time, src/schedule/due-repo.ts).
 */
export type DueReason = 'every' | 'rate' | 'cron' | 'window' | 'missed-window' | 'manual' | 'no-next-run' | 'renew';

export interface DueTime {
  /** When the next rotation should start (epoch ms); at or before `now`: due now. Null: never (manual). */
  readonly dueAt: number | null;
  readonly reason: DueReason;
  /** Where the cycle is counted from: `lastRotatedAt`, else `createdAt`. */
  readonly from: number;
  /** The cadence's time for this cycle, before jitter and window (it also seeds the jitter). */
  readonly cycleAt: number | null;
  /** This cycle's jitter, in [0, jitter] milliseconds. */
  readonly jitterMs: number;
  /** The due time as planned from the last rotation; `dueAt` differs from it only after a missed window. */
  readonly plannedAt: number | null;
  /** The opening of the window the due time was moved into (reasons `window` and `missed-window`). */
  readonly windowOpensAt?: number;
  /** When the window holding `dueAt` closes (with a window). */
  readonly windowClosesAt?: number;
  /** From when the secret is about to be overdue (`overdueAt - expiryWarning`, not before `from`); null without an overdue time. */
  readonly warningAt: number | null;
  /** From when the secret is overdue: `from + maxAge`, else `plannedAt + expiryWarning`; null for a manual schedule without maxAge. */
  readonly overdueAt: number | null;
}

const windows = new WeakMap<WindowSpec, CompiledWindow>();

function compiled(spec: WindowSpec): CompiledWindow {
  let w = windows.get(spec);
  if (!w) {
    w = compileWindow(spec);
    windows.set(spec, w);
  }
  return w;
}

/** `start` plus the jitter, folded so that it stays before the window's close. */
function inWindow(start: number, span: WindowSpan, jitter: number): number {
  const room = span.close - start;
  return start + (jitter < room ? jitter : jitter % room);
}

function cadenceName(s: ScheduleValues): 'every' | 'rate' | 'cron' | 'manual' {
  const c = s.cadence;
  return 'every' in c ? 'every' : 'rate' in c ? 'rate' : 'cron' in c ? 'cron' : 'manual';
}

/** The next due time of a schedule (see the module header for the rules). */
export function nextDue(schedule: ScheduleValues, input: DueInput): DueTime {
  const from = input.lastRotatedAt ?? input.createdAt;
  const maxAge = schedule.maxAge === null ? null : durationMs(schedule.maxAge);
  const warning = durationMs(schedule.expiryWarning, true) ?? 0;
  const limits = (planned: number | null): { overdueAt: number | null; warningAt: number | null } => {
    if (maxAge !== null) return { overdueAt: from + maxAge, warningAt: Math.max(from, from + maxAge - warning) };
    // No maxAge: a rotation late by expiryWarning is overdue; late at all, it is a warning.
    return planned === null ? { overdueAt: null, warningAt: null } : { overdueAt: planned + warning, warningAt: planned };
  };
  const kind = cadenceName(schedule);
  const cycleAt = cadenceAfter(schedule.cadence, from);
  if (cycleAt === null) return { dueAt: null, reason: kind === 'manual' ? 'manual' : 'no-next-run', from, cycleAt: null, jitterMs: 0, plannedAt: null, ...limits(null) };
  const jitter = jitterMs(input.path, cycleAt, durationMs(schedule.jitter, true) ?? 0);
  if (schedule.window === null) {
    const plannedAt = cycleAt + jitter;
    return { dueAt: plannedAt, reason: kind, from, cycleAt, jitterMs: jitter, plannedAt, ...limits(plannedAt) };
  }
  const w = compiled(schedule.window);
  const span = windowAtOrAfter(w, cycleAt);
  const moved = span.open > cycleAt;
  const plannedAt = inWindow(moved ? span.open : cycleAt, span, jitter);
  const base = { from, cycleAt, jitterMs: jitter, plannedAt, ...limits(plannedAt) };
  if (plannedAt < input.now && windowContaining(w, input.now) === null) {
    const next = windowAtOrAfter(w, input.now);
    return { ...base, dueAt: inWindow(next.open, next, jitter), reason: 'missed-window', windowOpensAt: next.open, windowClosesAt: next.close };
  }
  return { ...base, dueAt: plannedAt, reason: moved ? 'window' : kind, ...(moved ? { windowOpensAt: span.open } : {}), windowClosesAt: span.close };
}

/** Whether a rotation may start at `at`: always without a window, else only inside it. */
export function mayStartAt(schedule: ScheduleValues, at: number): boolean {
  return schedule.window === null || windowContaining(compiled(schedule.window), at) !== null;
}

/**
 * What follows a rotation finished at `rotatedAt`: when the previous credential should stop
 * working (`grace`; null: at the next rotation) and until when the replaced version must be kept
 * (`retainPrevious`).
 */
export function afterRotation(schedule: ScheduleValues, rotatedAt: number): { graceEndsAt: number | null; keepPreviousUntil: number } {
  const grace = schedule.grace === null ? null : durationMs(schedule.grace);
  return { graceEndsAt: grace === null ? null : rotatedAt + grace, keepPreviousUntil: rotatedAt + durationMs(schedule.retainPrevious)! };
}

/** The age status at `now`: `overdue` from `overdueAt`, `warning` from `warningAt`, else `ok`. */
export function ageStatus(due: Pick<DueTime, 'warningAt' | 'overdueAt'>, now: number): 'ok' | 'warning' | 'overdue' {
  if (due.overdueAt !== null && now >= due.overdueAt) return 'overdue';
  if (due.warningAt !== null && now >= due.warningAt) return 'warning';
  return 'ok';
}
