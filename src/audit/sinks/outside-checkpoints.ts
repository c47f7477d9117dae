/**
 * The signed checkpoints kept outside the state database, for `audit verify`: read back from
 * every configured audit sink that can be read back, with where each came from.
 *
 * Which sinks can be read back: the JSONL file (it is a local file this process can open) and the
 * S3 bucket (ListObjectsV2 and GetObject of its `checkpoints/` objects). The
 * HTTP sink cannot (it POSTs to an ingest endpoint; there is no standard way to ask a SIEM for
 * what it stored) and neither can syslog (send-only; where the collector files messages is not
 * known here). For those, keep the newest checkpoint the receiver got and pass it as `--trusted`.
 *
 * @example
 * ```ts
 * const { checkpoints, report } = await readOutsideCheckpoints(settings.audit, opts.trusted);
 * await verifyStoredLog(audit, { outside: checkpoints });
 * report.warning; // set when nothing outside the database can show a cut-back tail
 * ```
 */
import type { AuditSettings } from '../../config/settings.js';
import { isKeyturnError } from '../../core/errors.js';
import { readCheckpointUnverified } from '../checkpoint.js';
import type { OutsideCheckpoint } from '../verify.js';
import { sinksFromSettings } from './from-settings.js';

/** What `audit verify` reports about the checkpoints from outside the database. */
export interface OutsideReport {
  /** Checkpoints read back from the sinks (a trusted checkpoint file is not counted here). */
  readonly checkpoints: number;
  /** The largest one read back, by its (unverified) size; verification says whether it holds. */
  readonly newest: { readonly source: string; readonly size: number | null } | null;
  /** The `--trusted` file, when given. */
  readonly trusted: string | null;
  readonly sinks: readonly {
    readonly name: string;
    readonly readable: boolean;
    readonly checkpoints: number;
    /** Why it cannot be read back. */
    readonly why?: string;
    /** Why reading it failed. */
    readonly error?: string;
  }[];
  /** Set when no outside checkpoint was found nor given: what cannot be detected then. */
  readonly warning: string | null;
}

export const NO_OUTSIDE_WARNING =
  'no checkpoint from outside the state database was found or given: events removed from the end of the log together with their checkpoints (and the head row put back) cannot be detected; configure a JSONL audit sink (KEYTURN_AUDIT_JSONL) or an S3 one (KEYTURN_AUDIT_S3_BUCKET), or pass --trusted';

const NOT_READABLE: Record<string, string> = {
  http: 'an HTTP sink is write-only; pass the newest checkpoint it received as --trusted',
  syslog: 'syslog is send-only; pass the newest checkpoint the collector kept as --trusted',
};

/** Reads back every checkpoint the configured sinks hold; never throws for a sink (see `error`). */
export async function readOutsideCheckpoints(settings: AuditSettings, trustedFile?: string): Promise<{ checkpoints: OutsideCheckpoint[]; report: OutsideReport }> {
  const checkpoints: OutsideCheckpoint[] = [];
  const sinks: OutsideReport['sinks'][number][] = [];
  for (const sink of sinksFromSettings(settings)) {
    if (sink.readCheckpoints === undefined) {
      sinks.push({ name: sink.name, readable: false, checkpoints: 0, why: NOT_READABLE[sink.name.split(':')[0] as string] ?? 'it cannot be read back' });
      continue;
    }
    try {
      const found = await sink.readCheckpoints();
      checkpoints.push(...found);
      sinks.push({ name: sink.name, readable: true, checkpoints: found.length });
    } catch (e) {
      sinks.push({ name: sink.name, readable: true, checkpoints: 0, error: isKeyturnError(e) ? `${e.code}: ${e.message}` : (e as Error).message });
    }
  }
  let newest: { source: string; size: number | null } | null = null;
  for (const c of checkpoints) {
    const size = sizeOf(c.note);
    if (newest === null || (size ?? -1) > (newest.size ?? -1)) newest = { source: c.source, size };
  }
  const warning = checkpoints.length === 0 && trustedFile === undefined ? NO_OUTSIDE_WARNING : null;
  return { checkpoints, report: { checkpoints: checkpoints.length, newest, trusted: trustedFile ?? null, sinks, warning } };
}

function sizeOf(note: string): number | null {
  try {
    return readCheckpointUnverified(note).size;
  } catch {
    return null;
  }
}
