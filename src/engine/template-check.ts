/**
 * Checks file-consumer templates against the value a rotation will deliver, before anything
 * changes (at `apply`, `rotate --dry-run` and the engine's prepare step): a `{{pasword}}` typo
 * would otherwise be found only after the password changed, when delivery fails and the
 * application is locked out.
 *
 * The delivered value is the next one: the fields of the current value plus those every rotation
 * produces (username and password of a database credential, the generated `field` of an app
 * secret); an app secret without `field` delivers a plain string (`{{value}}`). Problems name the
 * placeholder and field names, never a value.
 *
 * @example
 * ```ts
 * templateFieldProblems(policy, { username: 'app', password: 'x' }, 'secrets.prod/db/app');
 * // ['secrets.prod/db/app.consumers.0.template: {{pasword}} is not a field of the value (fields: username, password)']
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { SecretValue } from '../core/types.js';
import { ISSUED_TYPES, type SecretPolicyConfig } from '../config/schema.js';
import { META_PLACEHOLDERS, parseTemplate } from '../consumers/file/template.js';

/** What the next version will hold: a plain string, or these fields. */
export type DeliveredShape = { readonly string: true } | { readonly string: false; readonly fields: readonly string[] };

/**
 * The shape of the value the next rotation delivers, from the current value.
 *
 * @example
 * ```ts
 * deliveredShape({ type: 'app-secret', field: 'token' }, 'old'); // { string: false, fields: ['token'] }
 * ```
 */
export function deliveredShape(policy: Pick<SecretPolicyConfig, 'type' | 'field'>, current: SecretValue): DeliveredShape {
  const fields = typeof current === 'string' ? [] : Object.keys(current);
  if (policy.type === 'database-credential') return { string: false, fields: [...new Set([...fields, 'username', 'password'])] };
  // A certificate or signing key: the target makes the whole value, of the same fields as the current one.
  if (ISSUED_TYPES.has(policy.type)) return { string: false, fields };
  if (policy.field !== undefined) return { string: false, fields: [...new Set([...fields, policy.field])] };
  return { string: true };
}

/**
 * Every placeholder of the policy's file templates that the next value cannot fill, each as
 * `<at>.consumers.<i>.template: ...` (empty when all render).
 *
 * @example
 * ```ts
 * templateFieldProblems({ type: 'app-secret', consumers: [{ type: 'file', path: '/x', template: '{{token}}', mode: '0600' }] }, 's', 'secrets.app/key');
 * // ['secrets.app/key.consumers.0.template: {{token}} is not a field of the value (the value is a plain string: use {{value}})']
 * ```
 */
export function templateFieldProblems(policy: Pick<SecretPolicyConfig, 'type' | 'field' | 'consumers'>, current: SecretValue, at: string): string[] {
  const shape = deliveredShape(policy, current);
  const problems: string[] = [];
  for (const [i, consumer] of policy.consumers.entries()) {
    if (consumer.type !== 'file' || consumer.template === undefined) continue;
    for (const name of parseTemplate(consumer.template).placeholders) {
      if ((META_PLACEHOLDERS as readonly string[]).includes(name)) continue;
      if (shape.string ? name === 'value' : shape.fields.includes(name)) continue;
      const hint = shape.string ? 'the value is a plain string: use {{value}}' : `fields: ${shape.fields.join(', ') || '(none)'}`;
      problems.push(`${at}.consumers.${i}.template: {{${name}}} is not a field of the value (${hint})`);
    }
  }
  return problems;
}

/**
 * Throws KT_TEMPLATE_PLACEHOLDER_UNKNOWN listing the problems, when there are any.
 *
 * @example
 * ```ts
 * assertTemplatesRender(policy, current.value, `secrets.${path}`); // before the rotation touches anything
 * ```
 */
export function assertTemplatesRender(policy: Pick<SecretPolicyConfig, 'type' | 'field' | 'consumers'>, current: SecretValue, at: string): void {
  const problems = templateFieldProblems(policy, current, at);
  if (problems.length > 0) {
    throw new KeyturnError('KT_TEMPLATE_PLACEHOLDER_UNKNOWN', `a file template would not render, so nothing was changed: ${problems.join('; ')}`, { details: { problems } });
  }
}
