/**
 * Loads `keyturn.yaml`: YAML → `${env:VAR}` expansion in bootstrap values → zod validation with
 * dot-path errors → a deeply frozen config. Nothing else parses the file.
 *
 * @example
 * ```ts
 * const config = loadConfigFile('keyturn.yaml', process.env);
 * config.secrets['prod/db/app']?.strategy; // 'alternating-users'
 * ```
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { KeyturnError } from '../core/errors.js';
import { configSchema, type KeyturnConfig } from './schema.js';

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Formats a zod issue path as a dot-path; secret paths (with "/") stay one segment. */
export function dotPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => String(p)).join('.');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Expands `${env:VAR}` in a bootstrap value; a missing variable is an error naming it and where. */
function expand(value: unknown, env: Record<string, string | undefined>, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw new KeyturnError('KT_CONFIG_INVALID', `${where}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, env, `${where}.${k}`)]));
  }
  return value;
}

/** Parses YAML text into a validated, frozen config. `source` names the file in errors. */
export function parseConfig(text: string, env: Record<string, string | undefined>, source = 'keyturn.yaml'): KeyturnConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new KeyturnError('KT_CONFIG_INVALID', `${source}: YAML error at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new KeyturnError('KT_CONFIG_INVALID', `${source}: expected a mapping with version, targets and secrets`);
  // Only bootstrap values may reference the environment; anywhere else a ${env:} stays literal and fails validation where it matters.
  const secrets = (raw as { secrets?: unknown }).secrets;
  if (secrets && typeof secrets === 'object') {
    for (const [path, s] of Object.entries(secrets as Record<string, Record<string, unknown>>)) {
      if (s && typeof s === 'object' && 'initial' in s) s.initial = expand(s.initial, env, `secrets.${path}.initial`);
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${dotPath(i.path) || '(top level)'}: ${i.message}`);
    throw new KeyturnError('KT_CONFIG_INVALID', `${source}: ${lines.join('; ')}`, { details: { issues: lines } });
  }
  return deepFreeze(parsed.data);
}

export function loadConfigFile(file: string, env: Record<string, string | undefined>): KeyturnConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_CONFIG_INVALID', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseConfig(text, env, file);
}
