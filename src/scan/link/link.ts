/**
 * Links scanner findings to the inventory: each distinct found value is hashed under every audit
 * HMAC key (the keyed hash audit events carry as `valueHmac`) and looked up in the value index
 * (./value-index.ts), one query per 500 hashes; a hit's stage comes from the secret's version
 * list (metadata: no value is opened, no `secret.read` recorded). Nothing is decrypted: a finding
 * is compared with hashes only, and its value never leaves this process.
 *
 * Looking values up is itself an oracle (does this value belong to a managed secret?), so each call
 * records one `scan.link` event with no value in it, as `audit hash` records `audit.hash`.
 *
 * @example
 * ```ts
 * const linked = await linkFindings(findings, { kt });
 * linked[0].match?.label; // 'managed secret prod/db/app'
 * ```
 */
import type { AuditContext } from '../../audit/context.js';
import { contextFields } from '../../audit/hooks.js';
import { isKeyturnError } from '../../core/errors.js';
import type { VersionInfo } from '../../core/types.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import type { LinkedFinding, MatchStage, LinkableFinding, SecretMatch } from './types.js';
import { lookupValueHmacs } from './value-index.js';

/** What linking needs: an open home (its audit HMAC keys, state database and store). */
export interface LinkOptions {
  readonly kt: Keyturn;
  /** Who asks, for the `scan.link` event (a server request's token); default the home's context. */
  readonly context?: AuditContext;
}

const URGENCY: Readonly<Record<MatchStage, number>> = { current: 0, pending: 1, previous: 2, older: 3 };

/** The stage a version holds for the linkage: current, pending, previous, else older (also when pruned, purged or its secret deleted). */
function stageOf(versions: readonly VersionInfo[] | null, versionId: string): MatchStage {
  const v = versions?.find((x) => x.id === versionId);
  if (!v) return 'older';
  if (v.stages.includes('current')) return 'current';
  if (v.stages.includes('pending')) return 'pending';
  if (v.stages.includes('previous')) return 'previous';
  return 'older';
}

/**
 * The words a match is reported with.
 *
 * @example
 * ```ts
 * matchLabel('prod/db', 'previous'); // 'old value of prod/db'
 * ```
 */
export function matchLabel(path: string, stage: MatchStage): string {
  return stage === 'current' || stage === 'pending' ? `managed secret ${path}` : `old value of ${path}`;
}

/**
 * Each finding with the managed secret version its value matches, if any (see the module header).
 *
 * @example
 * ```ts
 * const [first] = await linkFindings([{ ruleId: 'generic', secret: pw, fingerprint: 'fp1', file: 'a.env', line: 2 }], { kt });
 * first.match; // { path: 'prod/db', versionId: '…', stage: 'current', label: 'managed secret prod/db' }
 * ```
 */
export async function linkFindings<F extends LinkableFinding>(findings: readonly F[], { kt, context }: LinkOptions): Promise<LinkedFinding<F>[]> {
  // Each distinct value is hashed once, under every HMAC key (events older than a key rotation use older keys).
  const byHash = new Map<string, string>();
  const values = new Set<string>();
  for (const f of findings) {
    if (f.secret === '' || values.has(f.secret)) continue;
    values.add(f.secret);
    for (const h of kt.audit.hashAll(f.secret)) byHash.set(h, f.secret);
  }
  const rows = byHash.size === 0 ? [] : await lookupValueHmacs(kt.state, [...byHash.keys()]);
  await kt.audit.append({ ...contextFields(context), action: 'scan.link', outcome: 'success' });

  const versions = new Map<string, VersionInfo[] | null>();
  const matchesOf = new Map<string, SecretMatch[]>();
  for (const row of rows) {
    if (!versions.has(row.path)) versions.set(row.path, await versionsOf(kt, row.path));
    const stage = stageOf(versions.get(row.path) ?? null, row.versionId);
    const value = byHash.get(row.valueHmac) as string;
    const list = matchesOf.get(value) ?? [];
    if (list.some((m) => m.path === row.path && m.versionId === row.versionId)) continue;
    list.push({ path: row.path, versionId: row.versionId, stage, label: matchLabel(row.path, stage), ...(row.field === null ? {} : { field: row.field }) });
    matchesOf.set(value, list);
  }
  return findings.map((finding) => {
    const list = [...(matchesOf.get(finding.secret) ?? [])].sort((a, b) => URGENCY[a.stage] - URGENCY[b.stage] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const [match, ...also] = list;
    return match === undefined ? { finding, match: null, also: [] as const } : { finding, match, also };
  });
}

/** A secret's versions (metadata only), or null when it is gone (deleted or purged: its versions count as older). */
async function versionsOf(kt: Keyturn, path: string): Promise<VersionInfo[] | null> {
  try {
    return await kt.store.versions(path);
  } catch (e) {
    if (isKeyturnError(e) && (e.code === 'KT_SECRET_NOT_FOUND' || e.code === 'KT_SECRET_DELETED')) return null;
    throw e;
  }
}
