/**
 * The scan linkage as `keyturn scan` calls it: link the findings to the inventory of the local
 * home and, with `rotate`, record the leaks and rotate what leaked (./leaked.ts). Load it inside
 * the command's action (`await import('../../scan/link/index.js')`): it opens the home.
 *
 * Through a server (KEYTURN_ADDR) it is refused with KT_REMOTE_UNSUPPORTED: the audit HMAC keys
 * never leave the home, and the server has no scan route yet (docs/scan-linkage.md).
 *
 * @example
 * ```ts
 * const linked = await linkAndMaybeRotate(findings, { rotate: !!opts.rotate, app, opts });
 * for (const l of linked) if (l.match) emit(`${l.finding.file}:${l.finding.line}: ${l.match.label}`);
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { CliApp, CommonOptions } from '../../cli/app.js';
import type { LeakAction, LinkedFinding, ScanFinding } from './types.js';

export type { LeakAction, LinkedFinding, MatchStage, ScanFinding, SecretMatch } from './types.js';

/** A linked finding, with what `rotate` did for its matched secret (null: nothing, or not asked). */
export type LinkedScanFinding<F extends ScanFinding = ScanFinding> = LinkedFinding<F> & { readonly action: LeakAction | null };

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
export async function linkAndMaybeRotate<F extends ScanFinding>(findings: readonly F[], { rotate, app, opts }: LinkAndRotateOptions): Promise<LinkedScanFinding<F>[]> {
  if (await app.isRemote(opts)) {
    throw new KeyturnError(
      'KT_REMOTE_UNSUPPORTED',
      'linking scan findings to managed secrets works on a local home, not through a server: the audit HMAC keys never leave the home; run it on the server host',
    );
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
