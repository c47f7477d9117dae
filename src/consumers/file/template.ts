/**
 * Templates of the file consumer: text with `{{name}}` placeholders.
 *
 * - `{{value}}`: a plain string secret. For a secret of fields, `{{value}}` is its field `value`.
 * - `{{username}}`, `{{password}}`, `{{db.host}}`: a field, named exactly (a dot is part of the
 *   name, not a path). A string field is inserted as is; any other JSON value as its JSON text.
 * - `{{_path}}`, `{{_version}}` (the version number), `{{_version_id}}`: metadata. Names that
 *   start with `_` are reserved for metadata.
 * - Spaces inside the braces are allowed: `{{ password }}`.
 *
 * Syntax is checked when the config is read (a `{{` that does not open a well-formed placeholder
 * is an error, so a literal `{{` cannot appear); whether a field exists can only be known when a
 * value arrives, so rendering throws KT_TEMPLATE_PLACEHOLDER_UNKNOWN naming the placeholder and
 * the field names the secret has, never a value. Rendering is one pass: a value that contains
 * `{{x}}` is inserted literally, never expanded again.
 *
 * @example
 * ```ts
 * const t = parseTemplate('DB_USER={{username}}\nDB_PASSWORD={{ password }}\n');
 * renderTemplate(t, { path: 'prod/db/app', versionId: 'v7', number: 7, value: { username: 'app', password: 'x' } });
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import type { DeliveredSecret } from '../consumer.js';

export const META_PLACEHOLDERS = ['_path', '_version', '_version_id'] as const;
const NAME = /^[A-Za-z0-9._-]+$/;

export type TemplatePart = { readonly text: string } | { readonly placeholder: string };

/** A parsed template: literal text and placeholders in order. */
export interface Template {
  readonly parts: readonly TemplatePart[];
  /** Every distinct placeholder name, in order of first use. */
  readonly placeholders: readonly string[];
}

/**
 * Why a template is malformed (empty when it is well formed). Problems name character positions
 * and metadata names, never the text between the braces (it could be a pasted value).
 *
 * @example
 * ```ts
 * templateProblems('A={{a}} B={{'); // ['"{{" at character 10 is not closed by "}}"']
 * ```
 */
export function templateProblems(template: string): string[] {
  return scan(template).problems;
}

/**
 * Parses a template, or throws KT_CONSUMER_CONFIG_INVALID listing the problems.
 *
 * @example
 * ```ts
 * parseTemplate('PASSWORD={{password}}\n').placeholders; // ['password']
 * ```
 */
export function parseTemplate(template: string): Template {
  const { parts, problems } = scan(template);
  if (problems.length > 0) throw new KeyturnError('KT_CONSUMER_CONFIG_INVALID', `the template is malformed: ${problems.join('; ')}`);
  const placeholders = [...new Set(parts.flatMap((p) => ('placeholder' in p ? [p.placeholder] : [])))];
  return { parts, placeholders };
}

/**
 * Renders a template with one version of a secret. Throws KT_TEMPLATE_PLACEHOLDER_UNKNOWN when a
 * placeholder names something the secret does not have.
 *
 * @example
 * ```ts
 * renderTemplate(parseTemplate('{{value}}\n'), { path: 'app/key', versionId: 'v1', number: 1, value: 's3cret' }); // 's3cret\n'
 * ```
 */
export function renderTemplate(template: Template, secret: DeliveredSecret): string {
  const lookup = resolver(secret);
  return template.parts.map((p) => ('text' in p ? p.text : lookup(p.placeholder))).join('');
}

/** The file content without a template: a string as is, fields as indented JSON with a final newline. */
export function renderPlain(secret: DeliveredSecret): string {
  return typeof secret.value === 'string' ? secret.value : `${JSON.stringify(secret.value, null, 2)}\n`;
}

function resolver(secret: DeliveredSecret): (name: string) => string {
  const meta: Record<string, string> = { _path: secret.path, _version: String(secret.number), _version_id: secret.versionId };
  const value = secret.value;
  return (name) => {
    if (Object.hasOwn(meta, name)) return meta[name]!;
    if (typeof value === 'string') {
      if (name === 'value') return value;
      throw unknownPlaceholder(name, secret.path, 'the secret is a plain string: use {{value}}');
    }
    if (Object.hasOwn(value, name)) return asText(value[name]!);
    const fields = Object.keys(value);
    throw unknownPlaceholder(name, secret.path, `its fields are: ${fields.length > 0 ? fields.join(', ') : '(none)'}`);
  };
}

function unknownPlaceholder(name: string, path: string, hint: string): KeyturnError {
  return new KeyturnError('KT_TEMPLATE_PLACEHOLDER_UNKNOWN', `template placeholder {{${name}}} names nothing in secret "${path}"; ${hint}`, {
    details: { placeholder: name, path },
  });
}

function asText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function scan(template: string): { parts: TemplatePart[]; problems: string[] } {
  const parts: TemplatePart[] = [];
  const problems: string[] = [];
  let at = 0;
  for (let open = template.indexOf('{{'); open >= 0; open = template.indexOf('{{', at)) {
    if (open > at) parts.push({ text: template.slice(at, open) });
    const close = template.indexOf('}}', open + 2);
    if (close < 0) {
      problems.push(`"{{" at character ${open} is not closed by "}}"`);
      return { parts, problems };
    }
    const name = template.slice(open + 2, close).trim();
    if (!NAME.test(name)) {
      problems.push(`the placeholder at character ${open} is not a name of [A-Za-z0-9._-] (a literal "{{" cannot appear in a template)`);
    } else if (name.startsWith('_') && !(META_PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(`unknown placeholder {{${name}}} at character ${open}: names starting with "_" are metadata (${META_PLACEHOLDERS.join(', ')})`);
    } else {
      parts.push({ placeholder: name });
    }
    at = close + 2;
  }
  if (at < template.length) parts.push({ text: template.slice(at) });
  return { parts, problems };
}
