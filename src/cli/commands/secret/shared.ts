/** Helpers shared by the `keyturn secret` commands: value sources, version selectors, output shapes. */
import { readFileSync } from 'node:fs';
import { KeyturnError } from '../../../core/errors.js';
import type { SecretInfo, SecretValue, Version, VersionInfo } from '../../../core/types.js';
import { parseFields, parseJsonValue, parseStage } from '../../../core/values.js';
import type { SecretStore, VersionSelector } from '../../../stores/store.js';
import { isoTime, readAll, type CliIo } from '../../io.js';

export interface ValueOptions {
  value?: string;
  stdin?: boolean;
  file?: string;
  field?: string[];
  jsonValue?: boolean;
}

/** Reads the value from exactly one source. `--stdin` drops one trailing newline. */
export async function readValue(opts: ValueOptions, io: CliIo): Promise<SecretValue> {
  const sources = [opts.value !== undefined, !!opts.stdin, opts.file !== undefined, (opts.field?.length ?? 0) > 0].filter(Boolean).length;
  if (sources === 0) throw new KeyturnError('KT_VALUE_MISSING');
  if (sources > 1) throw new KeyturnError('KT_VALUE_SOURCE_CONFLICT');
  if (opts.field?.length) {
    if (opts.jsonValue) throw new KeyturnError('KT_VALUE_SOURCE_CONFLICT', '--field builds a JSON object already; leave out --json-value');
    return parseFields(opts.field);
  }
  let text: string;
  if (opts.value !== undefined) text = opts.value;
  else if (opts.stdin) text = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  else {
    try {
      text = readFileSync(opts.file!, 'utf8');
    } catch (e) {
      throw new KeyturnError('KT_USAGE', `cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return opts.jsonValue ? parseJsonValue(text) : text;
}

/** `--stage` / `--version` (a number or a version id) into a selector. */
export function selector(opts: { stage?: string; version?: string }): VersionSelector {
  if (opts.stage !== undefined && opts.version !== undefined) throw new KeyturnError('KT_USAGE', 'give --stage or --version, not both');
  if (opts.version !== undefined) return /^\d+$/.test(opts.version) ? { number: Number(opts.version) } : { versionId: opts.version };
  return { stage: parseStage(opts.stage ?? 'current') };
}

/** Reads a version, turning "nothing there" into the precise error. */
export async function requireVersion(store: SecretStore, path: string, select: VersionSelector): Promise<Version> {
  const v = await store.get(path, select);
  if (v) return v;
  if (!(await store.describe(path))) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
  throw new KeyturnError('KT_STAGE_NOT_SET', `no version of ${path} is staged ${select.stage ?? 'current'}`);
}

export async function requireInfo(store: SecretStore, path: string): Promise<SecretInfo> {
  const info = await store.describe(path);
  if (!info) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
  return info;
}

export function versionJson(v: VersionInfo): Record<string, unknown> {
  return { id: v.id, version: v.number, stages: v.stages, kind: v.kind, createdAt: isoTime(v.createdAt) };
}

export function infoJson(i: SecretInfo): Record<string, unknown> {
  return {
    path: i.path,
    type: i.type,
    description: i.description,
    owner: i.owner,
    tags: i.tags,
    versions: i.versionCount,
    current: i.currentVersion ? { id: i.currentVersion.id, version: i.currentVersion.number } : null,
    createdAt: isoTime(i.createdAt),
    updatedAt: isoTime(i.updatedAt),
    deletedAt: i.deletedAt === null ? null : isoTime(i.deletedAt),
    purgeAfter: i.purgeAfter === null ? null : isoTime(i.purgeAfter),
  };
}
