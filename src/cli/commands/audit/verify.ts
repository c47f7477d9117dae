/**
 * `keyturn audit verify`: recompute the tree, check every checkpoint signature and the
 * consistency with a trusted checkpoint, and name each kind of damage. The stored log (locally,
 * or through a server with KEYTURN_ADDR: `GET /v1/audit/verify`, a token with audit on **), or an
 * export file offline with only the public key (always here, never through a server). Exit 0 when
 * intact, 1 when any problem is found.
 * The local log is also checked against every checkpoint the configured audit sinks hold that can
 * be read back (outside-checkpoints.ts), which catches a database cut back with its checkpoints.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KeyturnError } from '../../../core/errors.js';
import type { Checkpoint } from '../../../audit/checkpoint.js';
import type { AuditProblem } from '../../../audit/problem.js';
import type { OutsideReport } from '../../../audit/sinks/outside-checkpoints.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';
import { problemText, problemWhere, readFileArg, readKeyArg } from './format.js';

interface VerifyOptions extends CommonOptions {
  file?: string;
  pubkey?: string;
  trusted?: string;
  saveTrusted?: string;
}

/** What is printed, from an export file or the stored log (locally or through a server). */
interface Outcome {
  ok: boolean;
  size: number;
  verifiedSize: number;
  validCheckpoints: number;
  latest: { size: number; root: string } | null;
  problems: readonly AuditProblem[];
  source: string;
  verifierKey: string;
  latestNote: string | null;
  /** The stored log only: the outside checkpoints used and the sinks read. */
  outside?: OutsideReport;
}

function sameCheckpoint(readCheckpointUnverified: (note: string) => Checkpoint, note: string, cp: Checkpoint): boolean {
  try {
    const c = readCheckpointUnverified(note);
    return c.size === cp.size && c.root.equals(cp.root);
  } catch {
    return false;
  }
}

/** The lines saying which outside checkpoints were used, from where, and what could not be read. */
function outsideText(o: OutsideReport): string[] {
  const lines: string[] = [];
  if (o.newest !== null) lines.push(`Checked against ${o.checkpoints} outside checkpoint(s); the newest, size ${o.newest.size ?? '?'}, from ${o.newest.source}.`);
  for (const s of o.sinks) {
    if (!s.readable) lines.push(`  ${s.name}: cannot be read back (${s.why})`);
    else lines.push(`  ${s.name}: ${s.checkpoints} checkpoint(s)${s.error === undefined ? '' : ` (${s.error})`}`);
  }
  if (o.warning !== null) lines.push(`Note: ${o.warning}`);
  return lines;
}

function problemJson(p: AuditProblem): Record<string, unknown> {
  return { ...p, where: problemWhere(p) };
}

export function registerVerify(audit: Command, app: CliApp): void {
  common(audit.command('verify'))
    .description('Verify the audit log (or an export, offline): every leaf, checkpoint signature and link; exit 1 on any problem')
    .option('--file <export>', 'verify an export file (from keyturn audit export) instead of the local log; needs --pubkey')
    .option('--pubkey <key>', 'the audit verifier key (NAME+KEYID+BASE64, or a file holding it); default for the local log: its stored key')
    .option('--trusted <file>', 'a signed checkpoint kept from before: the log must extend it')
    .option('--save-trusted <file>', 'when intact, write the latest verified checkpoint here (the next --trusted)')
    .addHelpText(
      'after',
      `
Problems found (each printed with its code, kind and where):
  leaf_changed, leaf_missing, leaf_inserted, leaves_swapped, leaves_reordered, truncated,
  checkpoint_bad_signature, checkpoint_wrong_key, checkpoint_wrong_origin, checkpoint_malformed,
  checkpoint_mismatch, checkpoint_fork, inconsistent_with_trusted, trusted_invalid

With KEYTURN_ADDR the server verifies its stored log (and its sinks' checkpoints) and this
command prints the answer; to trust no server, export and verify the file with --pubkey.

The stored log is also checked against every checkpoint the JSONL and S3 audit sinks hold
(KEYTURN_AUDIT_JSONL, KEYTURN_AUDIT_S3_BUCKET; HTTP and syslog sinks cannot be read back): a state database cut back
behind one is truncated (KT_AUDIT_TRUNCATED); a sink checkpoint that does not verify is named.
Without any outside checkpoint (sink or --trusted) such a cut cannot be detected; the output says so.

Examples:
  keyturn audit verify
  keyturn audit verify --trusted last.checkpoint --save-trusted last.checkpoint
  keyturn audit verify --file audit-export.jsonl --pubkey "$(cat audit.vkey)"`,
    )
    .action(async (opts: VerifyOptions) => {
      const trusted = opts.trusted === undefined ? undefined : readFileArg(opts.trusted, 'the trusted checkpoint');
      let outcome: Outcome;
      if (opts.file !== undefined) {
        // An export verifies offline with the public key alone: never through a server.
        if (opts.pubkey === undefined) throw new KeyturnError('KT_USAGE', 'offline verification needs the audit public key: give --pubkey KEY (from keyturn audit pubkey)');
        const [{ readCheckpointUnverified }, { parseExport, verifyExport }] = await Promise.all([import('../../../audit/checkpoint.js'), import('../../../audit/export.js')]);
        const parsed = parseExport(readFileArg(opts.file, 'the export'));
        const verifierKey = readKeyArg(opts.pubkey);
        const result = verifyExport(parsed, verifierKey, trusted);
        const latestNote = result.latest === null ? null : (parsed.checkpoints.find((n) => sameCheckpoint(readCheckpointUnverified, n, result.latest as Checkpoint)) ?? null);
        outcome = {
          ...result,
          latest: result.latest === null ? null : { size: result.latest.size, root: result.latest.root.toString('base64') },
          source: opts.file,
          verifierKey,
          latestNote,
        };
      } else {
        const verifierKey = opts.pubkey === undefined ? undefined : readKeyArg(opts.pubkey);
        const file = opts.trusted;
        outcome = await app.withClient(opts, (client) =>
          client.audit.verify({
            ...(verifierKey === undefined ? {} : { verifierKey }),
            ...(trusted === undefined || file === undefined ? {} : { trusted: { note: trusted, file } }),
          }),
        );
      }
      const result = outcome;
      if (result.ok && opts.saveTrusted !== undefined && outcome.latestNote !== null) writeFileSync(opts.saveTrusted, outcome.latestNote, { mode: 0o644 });
      const data = {
        ok: result.ok,
        source: outcome.source,
        verifierKey: outcome.verifierKey,
        size: result.size,
        verifiedSize: result.verifiedSize,
        validCheckpoints: result.validCheckpoints,
        latest: result.latest,
        problems: result.problems.map(problemJson),
        ...(outcome.outside === undefined ? {} : { outside: outcome.outside }),
      };
      emit(app.io, !!opts.json, data, () => {
        const key = outcome.verifierKey.split('+').slice(0, 2).join('+');
        const outside = outcome.outside === undefined ? [] : outsideText(outcome.outside);
        if (result.ok) {
          return [`Audit log intact: ${result.size} entries, ${result.verifiedSize} proven by a signed checkpoint (${result.validCheckpoints} valid checkpoints, key ${key}).`, ...outside].join('\n');
        }
        return [
          `Audit log NOT intact: ${result.problems.length} problem(s) in ${result.size} entries (proven up to ${result.verifiedSize}, key ${key}):`,
          ...result.problems.map((p) => `  ${problemText(p)}`),
          ...outside,
        ].join('\n');
      });
      if (!result.ok) {
        throw new KeyturnError('KT_AUDIT_VERIFY_FAILED', `${result.problems.length} problem(s): ${[...new Set(result.problems.map((p) => p.kind))].join(', ')}`, {
          details: { problems: result.problems.length },
        });
      }
    });
}
