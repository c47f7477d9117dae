/**
 * Loads the scan rules: `--config FILE`, else `.keyturn-scan.toml`, else `.gitleaks.toml` in
 * the scanned root, else the default rules (src/scan/default-rules.ts). The file is TOML in
 * gitleaks' schema (`[[rules]]`, `[[rules.allowlists]]` or the older `[rules.allowlist]`,
 * `[[allowlists]]` or `[allowlist]`, `[extend] useDefault`/`disabledRules`), so existing
 * gitleaks configs load. A file with `[extend] useDefault = true` adds to the defaults (a rule
 * of the same id replaces the default one); without it, it replaces them, as in gitleaks.
 *
 * @example
 * ```ts
 * const { rules, source } = await loadScanRules({ root: process.cwd() });
 * ```
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { KeyturnError } from '../core/errors.js';
import { compileRules } from './compile.js';
import { DEFAULT_ALLOWLISTS, DEFAULT_RULES } from './default-rules.js';
import type { AllowlistSpec, RuleSpec, ScanRules } from './rule.js';

/** The config as read: the rule specs and global allowlists, before compiling (what workers get). */
export interface ScanConfig {
  readonly rules: readonly RuleSpec[];
  readonly allowlists: readonly AllowlistSpec[];
  /** Where it came from, for messages: a file path or "the default rules". */
  readonly source: string;
}

export const CONFIG_FILES = ['.keyturn-scan.toml', '.gitleaks.toml'] as const;

type Table = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${message}`);
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function strings(v: unknown, field: string, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(where, `${field} must be a list of strings`);
  return v as string[];
}

function allowlist(v: unknown, field: string, where: string): AllowlistSpec {
  if (!isTable(v)) fail(where, `${field} must be a table`);
  const out: Record<string, unknown> = {};
  for (const key of ['regexes', 'paths', 'stopwords', 'commits'] as const) {
    const list = strings(v[key], `${field}.${key}`, where);
    if (list) out[key] = list;
  }
  for (const key of ['description', 'regexTarget', 'condition'] as const) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'string') fail(where, `${field}.${key} must be a string`);
    out[key] = v[key];
  }
  return out as AllowlistSpec;
}

function allowlists(t: Table, field: string, where: string): AllowlistSpec[] {
  const out: AllowlistSpec[] = [];
  if (t.allowlist !== undefined) out.push(allowlist(t.allowlist, `${field}.allowlist`, where));
  if (t.allowlists !== undefined) {
    if (!Array.isArray(t.allowlists)) fail(where, `${field}.allowlists must be a list of tables ([[${field === '' ? '' : `${field}.`}allowlists]])`);
    t.allowlists.forEach((a, i) => out.push(allowlist(a, `${field}.allowlists[${i}]`, where)));
  }
  return out;
}

function rule(v: unknown, index: number, where: string): RuleSpec {
  if (!isTable(v)) fail(where, `rules[${index}] must be a table`);
  if (typeof v.id !== 'string' || v.id === '') fail(where, `rules[${index}] has no id`);
  const field = `rule ${v.id}`;
  const out: Record<string, unknown> = { id: v.id };
  for (const key of ['description', 'regex', 'path'] as const) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'string') fail(where, `${field}.${key} must be a string`);
    out[key] = v[key];
  }
  for (const key of ['secretGroup', 'entropy'] as const) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'number' && typeof v[key] !== 'bigint') fail(where, `${field}.${key} must be a number`);
    out[key] = Number(v[key]);
  }
  for (const key of ['keywords', 'tags'] as const) {
    const list = strings(v[key], `${field}.${key}`, where);
    if (list) out[key] = list;
  }
  const lists = allowlists(v, field, where);
  if (lists.length > 0) out.allowlists = lists;
  return out as unknown as RuleSpec;
}

/** Reads a gitleaks-schema TOML text into a config; `where` names the file in errors. */
export function parseScanConfig(text: string, where: string): ScanConfig {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) fail(where, `TOML syntax error at line ${err.line}, column ${err.column}`);
    throw err;
  }
  const rawRules = doc.rules ?? [];
  if (!Array.isArray(rawRules)) fail(where, 'rules must be a list of tables ([[rules]])');
  const own = rawRules.map((r, i) => rule(r, i, where));
  const ownAllow = allowlists(doc, '', where);
  const extend = doc.extend;
  if (extend !== undefined && !isTable(extend)) fail(where, '[extend] must be a table');
  if (extend?.path !== undefined) fail(where, '[extend] path is not supported: copy the rules of that file into this one, or use useDefault = true');
  if (extend?.useDefault !== undefined && typeof extend.useDefault !== 'boolean') fail(where, '[extend] useDefault must be true or false');
  if (extend?.useDefault !== true) return { rules: own, allowlists: ownAllow, source: where };
  const disabled = new Set(strings(extend.disabledRules, 'extend.disabledRules', where) ?? []);
  const ownIds = new Set(own.map((r) => r.id));
  const base = DEFAULT_RULES.filter((r) => !disabled.has(r.id) && !ownIds.has(r.id));
  return { rules: [...base, ...own], allowlists: [...DEFAULT_ALLOWLISTS, ...ownAllow], source: where };
}

/** The default config: Keyturn's own rules and allowlists. */
export function defaultScanConfig(): ScanConfig {
  return { rules: DEFAULT_RULES, allowlists: DEFAULT_ALLOWLISTS, source: 'the default rules' };
}

/** Finds and reads the config: `file` when given, else one of {@link CONFIG_FILES} in `root`, else the defaults. */
export async function loadScanConfig(opts: { file?: string; root?: string }): Promise<ScanConfig> {
  const candidates = opts.file !== undefined ? [opts.file] : opts.root === undefined ? [] : CONFIG_FILES.map((f) => join(opts.root!, f));
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.file === undefined) continue;
      throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return parseScanConfig(text, path);
  }
  return defaultScanConfig();
}

/** Compiles a config (each regex checked for catastrophic backtracking). */
export function compileScanConfig(config: ScanConfig): ScanRules {
  return compileRules(config.rules, config.allowlists, config.source);
}
