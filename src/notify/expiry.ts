/**
 * Expiry warnings: once per secret per cycle, for each channel that asked for `expiry-warning`.
 * A pass computes every applied secret's age status at `now` from its effective schedule and its
 * last rotation (the creation of its current version), as `keyturn schedule show` does
 * (src/schedule/due.ts: `nextDue`, `ageStatus`). A secret in `warning` (with a `maxAge`: it is
 * about to get too old) or `overdue` (without one: due and still not rotated `expiryWarning`
 * later, so its rotation failed or was missed; a warning there would only say "due now") gets one
 * notification per channel for its cycle: the cycle is the time it is counted from (its last
 * rotation), kept as the channel's mark for the secret (./marks.ts), so later passes, other
 * instances and a secret going from warning to overdue in the same cycle send nothing more; the
 * next rotation starts a new cycle. A secret that does not exist (yet) or is deleted has no age.
 *
 * @example
 * ```ts
 * await queueExpiryWarnings(kt.state, kt.applied, { now: kt.clock.now() });
 * ```
 */
import type { AppliedConfig } from '../engine/applied.js';
import { ageStatus, nextDue } from '../schedule/due.js';
import type { StateDb } from '../state/db.js';
import { appliedChannels, listening, type AppliedChannel } from './channels.js';
import { marksOf, moveMark } from './marks.js';
import { enqueue } from './outbox.js';
import { iso, newDeliveryId, notificationBody } from './payload.js';
import { channelCovers } from './schema.js';
import { liveHeads } from '../state/live-heads.js';

const KIND = 'expiry-warning';

export interface ExpiryOptions {
  readonly now: number;
  readonly channels?: readonly AppliedChannel[];
}

interface Age {
  readonly createdAt: number;
  readonly lastRotatedAt: number | null;
}

/** Every live secret's creation and its current version's creation, by path (src/state/live-heads.ts). */
async function ages(state: StateDb): Promise<Map<string, Age>> {
  return new Map((await liveHeads(state)).map((h) => [h.path, { createdAt: h.createdAt, lastRotatedAt: h.currentAt }]));
}

/** Queues the expiry warnings due at `now` (see the module header); returns how many were queued. */
export async function queueExpiryWarnings(state: StateDb, applied: AppliedConfig, options: ExpiryOptions): Promise<number> {
  const channels = listening(options.channels ?? (await appliedChannels(state)), 'expiry-warning');
  if (channels.length === 0) return 0;
  const { now } = options;
  const [policies, byPath] = await Promise.all([applied.policies(), ages(state)]);
  const marks = new Map<string, Map<string, string>>();
  for (const c of channels) marks.set(c.name, await marksOf(state.db, c.name, KIND));
  let queued = 0;
  for (const policy of policies) {
    const age = byPath.get(policy.path);
    const covering = channels.filter((c) => channelCovers(c.config, policy.path));
    if (age === undefined || covering.length === 0) continue;
    const schedule = policy.effectiveSchedule;
    const due = nextDue(schedule, { path: policy.path, lastRotatedAt: age.lastRotatedAt, createdAt: age.createdAt, now });
    const status = ageStatus(due, now);
    // Without maxAge the warning starts the moment the secret is due, which a working scheduler
    // ends within a pass: only a rotation late by expiryWarning (overdue) is worth a message.
    if (status === 'ok' || (status === 'warning' && schedule.maxAge === null)) continue;
    const cycle = String(due.from);
    for (const c of covering) {
      if (marks.get(c.name)?.get(policy.path) === cycle) continue;
      const body = notificationBody({
        id: newDeliveryId(),
        channel: c.name,
        type: 'expiry-warning',
        time: iso(now)!,
        path: policy.path,
        outcome: status,
        details: {
          status,
          lastRotationAt: iso(due.from),
          warningAt: iso(due.warningAt),
          overdueAt: iso(due.overdueAt),
          dueAt: iso(due.dueAt),
          maxAge: schedule.maxAge,
          expiryWarning: schedule.expiryWarning,
        },
      });
      const sent = await state.db.transaction().execute(async (trx) => {
        if (!(await moveMark(trx, { channel: c.name, kind: KIND, path: policy.path, mark: cycle, now }))) return false;
        return enqueue(trx, { channel: c.name, dedupe: `${KIND}:${policy.path}:${cycle}`, body, now });
      });
      if (sent) queued++;
    }
  }
  return queued;
}
