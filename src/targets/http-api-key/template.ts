/**
 * The templates of the http-api-key target's requests (path, header values, JSON body strings):
 * `{{name}}` placeholders, which of them each request and each part of a request may hold, and
 * their rendering. Checked at `keyturn apply` by ./config.ts (`templateIssues`), rendered on each
 * call by ./http-api-key-target.ts.
 *
 * The placeholders:
 * - `{{username}}`: the credential's `username`, the account (project, service account, consumer)
 *   the keys belong to at the provider;
 * - `{{key}}`: the API key itself (secret);
 * - `{{keyName}}`: a name derived from the key (`kt-` and 16 hex digits of its SHA-256), given
 *   to the key at `create` and found again in the provider's `list` (not secret);
 * - `{{keyId}}`: the provider's id of the key, read from `list` (only `revoke`);
 * - `{{admin.<field>}}`: a field of the provider's admin credential (the target's `admin:` secret),
 *   such as `{{admin.password}}` for its token (secret).
 *
 * A secret placeholder (`key`, `admin.*`) is refused in a path: URLs end up in access logs and
 * proxies. Values in a path are URL-encoded; in a header they go as they are (a value holding a
 * line break is refused); in a JSON body they are JSON strings.
 *
 * @example
 * ```ts
 * renderString('/v1/accounts/{{username}}/keys', vars, encodeURIComponent); // '/v1/accounts/app/keys'
 * renderJson({ name: 'keyturn {{keyName}}', key: '{{key}}' }, vars);       // { name: 'keyturn kt-…', key: '…' }
 * ```
 */
import type { Credential } from '../target.js';

/** `{{name}}`, spaces inside the braces allowed. */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** The requests the target makes. */
export const REQUESTS = ['create', 'test', 'list', 'revoke'] as const;
export type RequestName = (typeof REQUESTS)[number];

/** The placeholders that are not secret, and so may go in a path. */
const PUBLIC = ['username', 'keyName', 'keyId'] as const;

/** What each request may name, besides `{{admin.<field>}}` (everywhere but a path). */
export const ALLOWED: Readonly<Record<RequestName, readonly string[]>> = {
  create: ['username', 'key', 'keyName'],
  test: ['username', 'key', 'keyName'],
  list: ['username'],
  revoke: ['username', 'key', 'keyName', 'keyId'],
};

const ADMIN_FIELD = /^admin\.([A-Za-z0-9_-]+)$/;

/** The values a request is rendered with; `admin` null when the target has none. */
export interface TemplateValues {
  readonly username: string;
  readonly key?: string;
  readonly keyName?: string;
  readonly keyId?: string;
  readonly admin: Credential | null;
}

/** Thrown while rendering: a value the template names is not there (no admin, an admin without that field). */
export class MissingValue extends Error {
  constructor(
    readonly placeholder: string,
    readonly adminField: string | null,
  ) {
    super(`no value for {{${placeholder}}}`);
    this.name = 'MissingValue';
  }
}

/** The placeholder names in one template string. */
export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Every string of a JSON value (object keys left out: they are not templates). */
export function jsonStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(jsonStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(jsonStrings);
  return [];
}

/**
 * Why `name` cannot stand in this request and part, or null when it may.
 *
 * @example
 * ```ts
 * placeholderProblem('create', 'path', 'key'); // '{{key}} is secret: a path (and so the URL) may hold only {{username}}, {{keyName}}, {{keyId}}'
 * ```
 */
export function placeholderProblem(request: RequestName, part: 'path' | 'headers' | 'body', name: string): string | null {
  const isAdmin = ADMIN_FIELD.test(name);
  if (!isAdmin && !ALLOWED[request].includes(name)) {
    if (name === 'admin') return '{{admin}} needs a field: {{admin.password}}, {{admin.username}} or another field of the admin secret';
    const known = [...PUBLIC, 'key', 'admin.<field>'].includes(name);
    const allowed = [...ALLOWED[request], 'admin.<field>'].map((p) => `{{${p}}}`).join(', ');
    return known ? `{{${name}}} cannot be used in the ${request} request, which may hold ${allowed}` : `unknown placeholder {{${name}}}: the ${request} request may hold ${allowed}`;
  }
  if (part === 'path' && !(PUBLIC as readonly string[]).includes(name)) {
    return `{{${name}}} is secret: a path (and so the URL, which access logs and proxies keep) may hold only ${PUBLIC.filter((p) => ALLOWED[request].includes(p))
      .map((p) => `{{${p}}}`)
      .join(', ')}; put it in a header or the body`;
  }
  return null;
}

function valueOf(name: string, values: TemplateValues): string {
  const admin = ADMIN_FIELD.exec(name);
  if (admin) {
    const field = admin[1]!;
    const v = values.admin?.[field];
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new MissingValue(name, field);
  }
  const v = (values as unknown as Record<string, unknown>)[name];
  if (typeof v !== 'string') throw new MissingValue(name, null);
  return v;
}

/**
 * A template string with its placeholders replaced, each value passed through `encode`.
 * Throws MissingValue for a placeholder without a value.
 *
 * @example
 * ```ts
 * renderString('Bearer {{admin.password}}', { username: 'app', admin: { username: 'ops', password: 't0k' } }); // 'Bearer t0k'
 * ```
 */
export function renderString(template: string, values: TemplateValues, encode: (s: string) => string = (s) => s): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => encode(valueOf(name, values)));
}

/**
 * A JSON value with every string rendered (keys as they are).
 *
 * @example
 * ```ts
 * renderJson({ key: '{{key}}', scopes: ['read'] }, { username: 'app', key: 'k-1', admin: null }); // { key: 'k-1', scopes: ['read'] }
 * ```
 */
export function renderJson(value: unknown, values: TemplateValues): unknown {
  if (typeof value === 'string') return renderString(value, values);
  if (Array.isArray(value)) return value.map((v) => renderJson(v, values));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJson(v, values)]));
  return value;
}

/** True when any template of the request names `name` (or, for `admin`, any admin field). */
export function requestNames(templates: readonly string[], name: 'key' | 'keyName' | 'keyId' | 'admin'): boolean {
  return templates.some((t) => placeholdersOf(t).some((p) => (name === 'admin' ? ADMIN_FIELD.test(p) : p === name)));
}
