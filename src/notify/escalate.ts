/**
 * Escalations: a secret whose rotations have kept failing for a channel's `escalateAfter`
 * (default 24 h) gets one `escalation` notification per failing period. A failing period opens
 * with a failed rotation and closes with a successful one (`notify_failing`, kept by ./fill.ts
 * from the audit log); it is identified by the audit seq of the failure that opened it, kept as
 * the channel's mark for the secret (./marks.ts), so later passes and other instances send
 * nothing more until the secret has succeeded and failed again.
 *
 * @example
 * ```ts
 * await queueEscalations(kt.state, { now: kt.clock.now() });
 * ```
 */
import { durationMs } from '../schedule/schema.js';
import type { StateDb } from '../state/db.js';
import { appliedChannels, listening, type AppliedChannel } from './channels.js';
import { moveMark } from './marks.js';
import { enqueue } from './outbox.js';
import { iso, newDeliveryId, notificationBody } from './payload.js';
import { channelCovers } from './schema.js';

const KIND = 'escalation';

/** Queues the escalations due at `now`; returns how many were queued. */
export async function queueEscalations(state: StateDb, options: { now: number; channels?: readonly AppliedChannel[] }): Promise<number> {
  const channels = listening(options.channels ?? (await appliedChannels(state)), 'escalation');
  if (channels.length === 0) return 0;
  const { now } = options;
  const after = new Map(channels.map((c) => [c.name, durationMs(c.config.escalateAfter)!]));
  const shortest = Math.min(...after.values());
  const failing = await state.db
    .selectFrom('notify_failing')
    .selectAll()
    .where('since', '<=', now - shortest)
    .execute();
  if (failing.length === 0) return 0;
  const marked = await state.db.selectFrom('notify_marks').select(['channel', 'path', 'mark']).where('kind', '=', KIND).execute();
  const marks = new Set(marked.map((m) => `${m.channel}\0${m.path}\0${m.mark}`));
  let queued = 0;
  for (const f of failing) {
    const since = Number(f.since);
    const period = String(f.since_seq);
    for (const c of channels) {
      if (since > now - after.get(c.name)! || !channelCovers(c.config, f.path) || marks.has(`${c.name}\0${f.path}\0${period}`)) continue;
      const run = f.run_id === null ? undefined : await state.db.selectFrom('runs').select(['error_message', 'failed_step']).where('id', '=', f.run_id).executeTakeFirst();
      const body = notificationBody({
        id: newDeliveryId(),
        channel: c.name,
        type: 'escalation',
        time: iso(now)!,
        path: f.path,
        runId: f.run_id,
        outcome: 'failing',
        error: f.error_code === null ? null : { code: f.error_code, message: run?.error_message ?? null, step: run?.failed_step ?? null },
        details: { failingSince: iso(since), escalateAfter: c.config.escalateAfter },
      });
      const sent = await state.db.transaction().execute(async (trx) => {
        if (!(await moveMark(trx, { channel: c.name, kind: KIND, path: f.path, mark: period, now }))) return false;
        return enqueue(trx, { channel: c.name, dedupe: `${KIND}:${f.path}:${period}`, body, now });
      });
      if (sent) queued++;
    }
  }
  return queued;
}
