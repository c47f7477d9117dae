/**
 * The JSON of a schedule view (./show.ts): what `keyturn schedule show PATH --json` prints and
 * `GET /v1/schedules/PATH` returns, and the way back, so the CLI prints the same through a server.
 * Times are ISO-8601 in JSON and epoch milliseconds in memory; durations stay as written (`90d`).
 *
 * @example
 * ```ts
 * scheduleFromJson(scheduleJson(view)); // the same view
 * ```
 */
import type { DueTime } from './due.js';
import type { LastRotation } from './last-rotation.js';
import type { EffectiveSchedule } from './resolve.js';
import type { OpenCleanup, ScheduleView } from './show.js';

type Json = Record<string, unknown>;

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const ms = (text: unknown): number | null => (typeof text === 'string' ? Date.parse(text) : null);

export function scheduleJson(v: ScheduleView): Json {
  const { sources, notes, ...values } = v.schedule;
  const d = v.due;
  return {
    path: v.path,
    type: v.type,
    rotatable: v.rotatable,
    schedule: values,
    sources,
    notes,
    lastRotation: v.lastRotation === null ? null : { at: iso(v.lastRotation.at), version: v.lastRotation.version, versionId: v.lastRotation.versionId, runId: v.lastRotation.runId },
    createdAt: iso(v.createdAt),
    next: {
      dueAt: iso(d.dueAt),
      reason: d.reason,
      from: iso(d.from),
      cycleAt: iso(d.cycleAt),
      jitterMs: d.jitterMs,
      plannedAt: iso(d.plannedAt),
      ...(d.windowOpensAt === undefined ? {} : { windowOpensAt: iso(d.windowOpensAt) }),
      ...(d.windowClosesAt === undefined ? {} : { windowClosesAt: iso(d.windowClosesAt) }),
      warningAt: iso(d.warningAt),
      overdueAt: iso(d.overdueAt),
    },
    status: v.status,
    mayStartNow: v.mayStartNow,
    now: iso(v.now),
    cleanups: v.cleanups.map((c) => ({ ...c, dueAt: iso(c.dueAt) })),
  };
}

export function scheduleFromJson(j: Json): ScheduleView {
  const n = j.next as Json;
  const last = j.lastRotation as Json | null;
  const lastRotation: LastRotation | null =
    last === null ? null : { at: ms(last.at)!, version: last.version as number, versionId: last.versionId as string, runId: (last.runId as string | null) ?? null };
  const due: DueTime = {
    dueAt: ms(n.dueAt),
    reason: n.reason as DueTime['reason'],
    from: ms(n.from)!,
    cycleAt: ms(n.cycleAt),
    jitterMs: n.jitterMs as number,
    plannedAt: ms(n.plannedAt),
    ...(n.windowOpensAt === undefined ? {} : { windowOpensAt: ms(n.windowOpensAt)! }),
    ...(n.windowClosesAt === undefined ? {} : { windowClosesAt: ms(n.windowClosesAt)! }),
    warningAt: ms(n.warningAt),
    overdueAt: ms(n.overdueAt),
  };
  const schedule = { ...(j.schedule as Json), sources: j.sources, notes: j.notes } as unknown as EffectiveSchedule;
  return {
    path: j.path as string,
    type: j.type as string,
    rotatable: j.rotatable as boolean,
    schedule,
    lastRotation,
    createdAt: ms(j.createdAt)!,
    due,
    status: j.status as ScheduleView['status'],
    mayStartNow: j.mayStartNow as boolean,
    now: ms(j.now)!,
    cleanups: ((j.cleanups as Json[] | undefined) ?? []).map((c) => ({ ...(c as unknown as OpenCleanup), dueAt: ms(c.dueAt) })),
  };
}
