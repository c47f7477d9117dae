/**
 * What `keyturn scan --rotate` does about linked findings:
 *
 * 1. **Records each leak**: one `secret.leaked` audit event per finding and matched secret version
 *    (path, version id, the finding's `fingerprint` and `location` FILE:LINE; never the value),
 *    before anything else, so the leak is on record whatever the rotation does.
 * 2. **Rotates each distinct matched secret whose current or pending value leaked**, ahead of
 *    scheduled work: first an `emergency` request to the scheduler (`rotate PATH --queue
 *    --emergency`: priority 0, due now, kept until a new value is made, so if this process dies or
 *    the rotation cannot start here, the next scheduler pass anywhere takes it before anything
 *    scheduled), then a run started here at once. A leaked **pending** value is one an unfinished run
 *    would make current: that run is cancelled first (its rollback releases the pending value), then
 *    a fresh run starts.
 * 3. **Does not rotate an old value** (`previous` or older): the rotation already happened. The leak
 *    is recorded, and the note says whether the replaced credential may still work (its cleanup's
 *    revoke is pending: grace) so it can be revoked sooner.
 *
 * @example
 * ```ts
 * const actions = await rotateLeaked(linked, { kt, runs: localClient(kt).runs });
 * actions[0]; // { path: 'prod/db', stage: 'current', action: 'rotated', runId: 'run_…', runStatus: 'done', … }
 * ```
 */
import { eventSafeId, eventSafeText, type AuditContext } from '../../audit/context.js';
import { contextFields } from '../../audit/hooks.js';
import { isKeyturnError } from '../../core/errors.js';
import type { RunsClient } from '../../client/client.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import type { LeakAction, LinkedFinding, MatchStage, LinkableFinding, SecretMatch } from './types.js';

export interface RotateLeakedOptions {
  /** The home the leak events are recorded in. */
  readonly kt: Keyturn;
  /** How runs are queued, started and cancelled (the CLI's local client, with its graceful stop). */
  readonly runs: RunsClient;
  /** Who acts, for the `secret.leaked` events (a server request's token); default the home's context. */
  readonly context?: AuditContext;
}

const ACTIVE = new Set(['running', 'retrying']);

/**
 * The `location` a leak event carries: `FILE:LINE` (control characters replaced, at most 1024).
 *
 * @example
 * ```ts
 * findingLocation({ file: 'src/a.ts', line: 3 }); // 'src/a.ts:3'
 * ```
 */
export function findingLocation(f: Pick<LinkableFinding, 'file' | 'line'>): string {
  const line = `:${Number.isSafeInteger(f.line) ? f.line : 0}`;
  return eventSafeText(f.file, 1024 - line.length) + line;
}

/**
 * Records the leaks and rotates what must be (see the module header); one action per distinct
 * matched secret, current and pending first.
 *
 * @example
 * ```ts
 * const actions = await rotateLeaked(await linkFindings(findings, { kt }), { kt, runs });
 * ```
 */
export async function rotateLeaked(linked: readonly LinkedFinding[], { kt, runs, context }: RotateLeakedOptions): Promise<LeakAction[]> {
  const secrets = new Map<string, SecretMatch>();
  const events: Parameters<Keyturn['audit']['appendBatch']>[0][number][] = [];
  for (const l of linked) {
    if (l.match === null) continue;
    for (const m of [l.match, ...l.also]) {
      events.push({
        ...contextFields(context),
        action: 'secret.leaked',
        outcome: 'success',
        path: m.path,
        versionId: eventSafeId(m.versionId),
        fingerprint: eventSafeId(l.finding.fingerprint),
        location: findingLocation(l.finding),
      });
      const seen = secrets.get(m.path);
      if (seen === undefined || rank(m.stage) < rank(seen.stage)) secrets.set(m.path, m);
    }
  }
  if (events.length > 0) await kt.audit.appendBatch(events);

  const actions: LeakAction[] = [];
  for (const m of [...secrets.values()].sort((a, b) => rank(a.stage) - rank(b.stage) || (a.path < b.path ? -1 : 1))) {
    actions.push(m.stage === 'current' || m.stage === 'pending' ? await rotateOne(runs, m) : await oldValueNote(kt, m));
  }
  return actions;
}

function rank(stage: MatchStage): number {
  return stage === 'current' ? 0 : stage === 'pending' ? 1 : stage === 'previous' ? 2 : 3;
}

function errorOf(e: unknown): { code: string; message: string } {
  if (isKeyturnError(e)) return { code: e.code, message: e.message };
  throw e;
}

async function rotateOne(runs: RunsClient, m: SecretMatch): Promise<LeakAction> {
  const base = { path: m.path, stage: m.stage, note: null };
  // The emergency request first: it stands until a new value is made, whatever happens here.
  try {
    await runs.queue(m.path, 'emergency');
  } catch (e) {
    // No policy, or not rotatable: nothing can rotate it; say why.
    return { ...base, action: 'not-rotated', runId: null, runStatus: null, cancelledRunId: null, error: errorOf(e), note: `${m.label} leaked but cannot be rotated; change it by hand` };
  }
  let cancelledRunId: string | null = null;
  try {
    if (m.stage === 'pending') {
      // An unfinished run would make the leaked pending value current: cancel it (its rollback releases that value).
      const active = (await runs.list({ path: m.path, limit: 5 })).find((r) => ACTIVE.has(r.status));
      if (active) cancelledRunId = (await runs.cancel(active.id)).id;
    }
    const { run } = await runs.rotate(m.path, { wait: false });
    return { ...base, action: 'rotated', runId: run.id, runStatus: run.status, cancelledRunId, error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null };
  } catch (e) {
    const error = errorOf(e);
    // A pending value whose run could not be cancelled here: resuming that run would make the leaked value current.
    const note =
      m.stage === 'pending' && cancelledRunId === null
        ? `queued as an emergency, but the unfinished run holding the leaked pending value was not cancelled (${error.code}): cancel it (keyturn runs cancel ID) and rotate again, or a pass may finish it with the leaked value`
        : 'queued as an emergency: the next scheduler pass rotates it before any scheduled rotation';
    return { ...base, action: 'queued', runId: null, runStatus: null, cancelledRunId, error, note };
  }
}

async function oldValueNote(kt: Keyturn, m: SecretMatch): Promise<LeakAction> {
  const cleanup = await kt.state.db.selectFrom('version_cleanups').select(['revoke', 'due_at']).where('path', '=', m.path).where('version_id', '=', m.versionId).executeTakeFirst();
  let note: string;
  if (cleanup?.revoke === 'pending') {
    const at = cleanup.due_at === null ? '' : ` at ${new Date(Number(cleanup.due_at)).toISOString()}`;
    note = `${m.label}: already rotated, but its credential is still in grace until the cleanup${at} ends it: revoke it on the target now if it must stop sooner`;
  } else if (cleanup) {
    note = `${m.label}: already rotated; its credential's revoke is ${cleanup.revoke}`;
  } else {
    note = `${m.label}: already rotated; if its credential still works (grace), revoke it on the target`;
  }
  return { path: m.path, stage: m.stage, action: 'not-rotated', runId: null, runStatus: null, cancelledRunId: null, error: null, note };
}
