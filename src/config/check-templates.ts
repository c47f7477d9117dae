/**
 * The apply-time check of file-consumer templates: for each declared secret whose value exists
 * (or is bootstrapped now, by `initial` or generation), every placeholder must name a field of
 * the value the next rotation delivers (see src/engine/template-check.ts). The value is read
 * without a read audit event: it is only inspected for its field names, never shown.
 *
 * @example
 * ```ts
 * await checkConfigTemplates(store, config); // throws KT_CONFIG_FILE_INVALID: secrets.prod/db/app.consumers.0.template: {{pasword}} ...
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { SecretValue } from '../core/types.js';
import { nextValue } from '../engine/next-value.js';
import { templateFieldProblems } from '../engine/template-check.js';
import type { SecretStore } from '../stores/store.js';
import type { KeyturnConfig } from './schema.js';

/** Throws KT_CONFIG_FILE_INVALID naming each template placeholder the secret's value cannot fill. */
export async function checkConfigTemplates(store: SecretStore, config: KeyturnConfig): Promise<void> {
  const quiet = store.withoutReadAudit?.() ?? store;
  const problems: string[] = [];
  for (const [path, s] of Object.entries(config.secrets)) {
    if (!s.consumers.some((c) => c.type === 'file' && c.template !== undefined)) continue;
    const value = await valueOf(quiet, path, s);
    if (value === null) continue;
    problems.push(...templateFieldProblems(s, value, `secrets.${path}`));
  }
  if (problems.length > 0) {
    throw new KeyturnError('KT_CONFIG_FILE_INVALID', `the configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
  }
}

/** The current value, or the one apply would bootstrap, or null when neither is known. */
async function valueOf(store: SecretStore, path: string, s: KeyturnConfig['secrets'][string]): Promise<SecretValue | null> {
  const info = await store.describe(path);
  if (info !== null) {
    try {
      return (await store.get(path))?.value ?? null;
    } catch {
      return null; // deleted, or no current stage: nothing to check against
    }
  }
  if (s.initial !== undefined) return JSON.parse(JSON.stringify(s.initial)) as SecretValue;
  if (s.type === 'app-secret') return nextValue({ ...s, path }, '');
  return null;
}
