/**
 * The baseline: the findings accepted now, keyed by content fingerprint (hash(rule, secret))
 * and file path, with no line numbers or timestamps, so moving code within a file leaves it
 * unchanged, while a different secret put in the same place has a new fingerprint and is found.
 * The file is JSON, sorted, one entry per (rule, fingerprint, file): stable across runs.
 *
 * @example
 * ```ts
 * await writeBaseline('.keyturn-baseline.json', findings);
 * const known = await readBaseline('.keyturn-baseline.json');
 * const fresh = findings.filter((f) => !known.has(baselineKey(f)));
 * ```
 */
import { readFile, writeFile } from 'node:fs/promises';
import { KeyturnError } from '../core/errors.js';
import type { ScanFinding } from './finding.js';

export interface BaselineEntry {
  readonly rule: string;
  readonly fingerprint: string;
  readonly file: string;
}

export interface BaselineFile {
  readonly version: 1;
  readonly tool: 'keyturn scan';
  readonly findings: readonly BaselineEntry[];
}

export function baselineKey(f: { readonly fingerprint: string; readonly file: string }): string {
  return `${f.fingerprint}\0${f.file}`;
}

export function baselineOf(findings: readonly ScanFinding[]): BaselineFile {
  const byKey = new Map<string, BaselineEntry>();
  for (const f of findings) byKey.set(baselineKey(f), { rule: f.ruleId, fingerprint: f.fingerprint, file: f.file });
  const entries = [...byKey.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
  return { version: 1, tool: 'keyturn scan', findings: entries };
}

export async function writeBaseline(path: string, findings: readonly ScanFinding[]): Promise<void> {
  await writeFile(path, `${JSON.stringify(baselineOf(findings), null, 2)}\n`);
}

/** The keys of a baseline file (see {@link baselineKey}). */
export async function readBaseline(path: string): Promise<Set<string>> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyturnError('KT_SCAN_BASELINE_INVALID', `${path}: ${code === undefined ? 'not JSON' : `cannot be read (${code})`}`);
  }
  const entries = (doc as { findings?: unknown }).findings;
  if ((doc as { version?: unknown }).version !== 1 || !Array.isArray(entries)) throw new KeyturnError('KT_SCAN_BASELINE_INVALID', `${path}: not a version 1 keyturn scan baseline`);
  const keys = new Set<string>();
  entries.forEach((e: unknown, i) => {
    const { fingerprint, file } = (e ?? {}) as { fingerprint?: unknown; file?: unknown };
    if (typeof fingerprint !== 'string' || typeof file !== 'string') throw new KeyturnError('KT_SCAN_BASELINE_INVALID', `${path}: findings[${i}] needs a fingerprint and a file`);
    keys.add(baselineKey({ fingerprint, file }));
  });
  return keys;
}
