/**
 * Helpers shared by the `keyturn audit` commands that load nothing of the audit log: a problem
 * line, key or file input, and the refusal of a command that only works on a local home. (Event lines, which decode events, are in ./event-view.ts and are
 * imported inside the actions, so that `keyturn audit --help` stays light.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { KeyturnError } from '../../../core/errors.js';
import type { AuditProblem } from '../../../audit/problem.js';
import type { CliApp, CommonOptions } from '../../app.js';

/** KT_REMOTE_UNSUPPORTED when this command line talks to a server (KEYTURN_ADDR): `audit COMMAND` works on a local home only, because `why`. */
export async function localOnly(app: CliApp, opts: CommonOptions, command: string, why: string): Promise<void> {
  if (await app.isRemote(opts)) throw new KeyturnError('KT_REMOTE_UNSUPPORTED', `audit ${command} works on a local home, not through a server: ${why}`);
}

/** Where a problem is, in words: the entry, position or checkpoint it concerns. */
export function problemWhere(p: AuditProblem): string {
  switch (p.kind) {
    case 'leaf_changed':
      return `entry ${p.index} (position ${p.position})`;
    case 'leaf_missing':
      return `entry ${p.index}`;
    case 'leaf_inserted':
      return `position ${p.position}`;
    case 'leaves_swapped':
      return `entries ${p.indices[0]} and ${p.indices[1]} (positions ${p.positions[0]} and ${p.positions[1]})`;
    case 'leaves_reordered':
      return `entries ${p.indices.slice(0, 10).join(', ')}${p.indices.length > 10 ? ', ...' : ''}`;
    case 'truncated':
      return `entries ${p.size} to ${p.expectedSize - 1}`;
    case 'checkpoint_fork':
      return `checkpoints ${p.checkpoints.join(', ')} (size ${p.size})`;
    case 'inconsistent_with_trusted':
      return `the first ${p.size} entries`;
    case 'trusted_invalid':
      return p.source === undefined ? 'the trusted checkpoint' : `the checkpoint at ${p.source}`;
    case 'head_forged':
      return `the head (claims ${p.size} entries; the last checkpoint that still proves anything is ${p.checkpoint})`;
    default:
      return `checkpoint ${p.checkpoint}`;
  }
}

/** One problem line: code, kind, where, what. */
export function problemText(p: AuditProblem): string {
  return `${p.code}  ${p.kind}  ${problemWhere(p)}: ${p.message}`;
}

/** A verifier key given as text or as a file holding it. */
export function readKeyArg(arg: string): string {
  if (/^[^\s+]+\+[0-9a-fA-F]{8}\+\S+$/.test(arg.trim())) return arg.trim();
  return existsSync(arg) ? readFileArg(arg, 'the verifier key file').trim() : arg.trim();
}

/** The text of a file named on the command line, or KT_USAGE naming it. */
export function readFileArg(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_USAGE', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
