/**
 * The scan linkage as `keyturn scan` calls it: link the findings to the inventory of the local
 * home and, with `rotate`, record the leaks and rotate what leaked (./leaked.ts). Load it inside
 * the command's action (`await import('../../scan/link/index.js')`): it opens the home.
 *
 * Through a server (KEYTURN_ADDR) the same happens there: the candidate values go over TLS to
 * `POST /v1/scan/match` (or `/v1/scan/leaked` with `rotate`), which hashes them with the audit HMAC
 * keys that never leave it (./routes.ts), in batches of 500.
 *
 * @example
 * ```ts
 * const linked = await linkAndMaybeRotate(findings, { rotate: !!opts.rotate, app, opts });
 * for (const l of linked) if (l.match) emit(`${l.finding.file}:${l.finding.line}: ${l.match.label}`);
 * ```
 */
import type { CliApp, CommonOptions } from '../../cli/app.js';
import type { LeakAction, LinkedFinding, LinkableFinding } from './types.js';

export type { LeakAction, LinkedFinding, MatchStage, LinkableFinding, SecretMatch } from './types.js';

/** A linked finding, with what `rotate` did for its matched secret (null: nothing, or not asked). */
export type LinkedScanFinding<F extends LinkableFinding = LinkableFinding> = LinkedFinding<F> & { readonly action: LeakAction | null };

export interface LinkAndRotateOptions {
  /** Record `secret.leaked` events and rotate the current or pending secrets that leaked. */
  readonly rotate: boolean;
  /** The CLI app and the command's options: they say which home to open (`--home`, KEYTURN_HOME). */
  readonly app: CliApp;
  readonly opts: CommonOptions;
}

/**
 * Links `findings` to the inventory of the home and, with `rotate`, acts on the leaks; one result
 * per finding, in order. Never returns, logs or records a finding's `secret`.
 *
 * @example
 * ```ts
 * const linked = await linkAndMaybeRotate(findings, { rotate: true, app, opts });
 * linked[0].match?.label;       // 'managed secret prod/db/app'
 * linked[0].action?.action;     // 'rotated'
 * ```
 */
export async function linkAndMaybeRotate<F extends LinkableFinding>(findings: readonly F[], { rotate, app, opts }: LinkAndRotateOptions): Promise<LinkedScanFinding<F>[]> {
  if (findings.length === 0) return [];
  const settings = await app.settings(opts);
  if (settings.remote) {
    // Through a server: it hashes the values (the audit HMAC keys never leave it), links and acts.
    const [{ connectServer }, wire] = await Promise.all([import('../../client/http.js'), import('./wire.js')]);
    const { correlationId } = await app.auditContext();
    const server = connectServer(settings.remote, correlationId === null ? {} : { correlationId });
    try {
      // A value no store could hold (empty, over 64 KiB) matches nothing: it is not sent.
      const out: LinkedScanFinding<F>[] = findings.map((finding) => ({ finding, match: null, also: [] as const, action: null }));
      const sent = findings.flatMap((f, i) => (f.secret.length > 0 && f.secret.length <= wire.MAX_VALUE_CHARS ? [i] : []));
      for (let i = 0; i < sent.length; i += wire.MAX_CANDIDATES) {
        const batch = sent.slice(i, i + wire.MAX_CANDIDATES).map((k) => findings[k] as F);
        const answer = await server.call('POST', rotate ? '/v1/scan/leaked' : '/v1/scan/match', { candidates: batch.map(wire.candidateJson) });
        wire.answerToLinked(batch, answer).forEach((l, j) => (out[sent[i + j] as number] = rotate ? l : { ...l, action: null }));
      }
      return out;
    } finally {
      await server.close();
    }
  }
  const [{ linkFindings }, { rotateLeaked }, { localClient }, { withGracefulStop }] = await Promise.all([import('./link.js'), import('./leaked.js'), app.runtime(), import('../../cli/app.js')]);
  const { correlationId } = await app.auditContext();
  return app.withKeyturn(opts, async (kt) => {
    const linked = await linkFindings(findings, { kt });
    if (!rotate) return linked.map((l) => ({ ...l, action: null }));
    const runs = localClient(kt, { around: (run) => withGracefulStop(kt, run), correlationId }).runs;
    const actions = await rotateLeaked(linked, { kt, runs });
    const byPath = new Map(actions.map((a) => [a.path, a]));
    return linked.map((l) => ({ ...l, action: l.match === null ? null : (byPath.get(l.match.path) ?? null) }));
  });
}
