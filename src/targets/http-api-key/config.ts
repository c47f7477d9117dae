/**
 * The http-api-key target's configuration (strict zod schema, used by the keyturn.yaml loader):
 * a provider's HTTP API described by four requests, so any provider that lets a caller choose a
 * new key's value can be rotated without code.
 *
 * - `baseUrl`: `http://` or `https://` host (and optional base path) of the API; `caFile`: a PEM
 *   file of the CA(s) its certificate must chain to (https only; default: the system's).
 * - `create`: adds the key Keyturn generated (`{{key}}` in its body or a header) to the account
 *   `{{username}}`, named `{{keyName}}` (strategy `dual-key`). With `create.response.key` the
 *   provider makes the key and answers it (Stripe, OpenAI, Datadog): `create` then sends no
 *   `{{key}}`, the key is read at that dotted path of the answer (its id at `create.response.id`),
 *   and the target rotates with `renew` only (./renewer.ts); `list` is then required, and `revoke`
 *   must name `{{keyId}}` or `{{keyName}}` (a key whose value a crash lost is found by its name).
 * - `account`: the account (`{{username}}`) of a secret that has no value yet (renew: the first
 *   key is issued from nothing); a stored value's `username` wins.
 * - `test`: a call authenticated by the key (`{{key}}`): 2xx means it works, a status in
 *   `refusedStatus` (401, 403) means it is refused.
 * - `revoke`: ends one key, by `{{keyId}}` (the provider's id, found through `list`), by
 *   `{{keyName}}` or by `{{key}}`; a 404 or 410 answer means it is gone already.
 * - `list` (needed when a request names `{{keyId}}`): the account's active keys; `response` says
 *   where the items are in the JSON answer and which fields of an item hold the id, the name and
 *   (optional) the provider's hint of the key (`sk-a…f9d2`, its first and last characters).
 * - Each request: `method`, `path` (appended to `baseUrl`), `headers`, `body` (JSON); template
 *   placeholders as ./template.ts lists them, checked here.
 * - `connectTimeoutMs` (10000), `timeoutMs` (30000, each request), `maxRetryAfterMs` (10000: a
 *   429 answer whose Retry-After is at most this long is waited out and the request sent again,
 *   twice at most; longer, or a third time, is KT_TARGET_RATE_LIMITED).
 *
 * @example
 * ```ts
 * httpApiKeyConfigSchema.parse({
 *   type: 'http-api-key',
 *   baseUrl: 'https://api.example.com',
 *   create: { path: '/v1/accounts/{{username}}/keys', headers: { Authorization: 'Bearer {{admin.password}}' }, body: { name: '{{keyName}}', key: '{{key}}' } },
 *   test: { path: '/v1/whoami', headers: { Authorization: 'Bearer {{key}}' } },
 *   list: { path: '/v1/accounts/{{username}}/keys', headers: { Authorization: 'Bearer {{admin.password}}' }, response: { items: 'data' } },
 *   revoke: { path: '/v1/accounts/{{username}}/keys/{{keyId}}', headers: { Authorization: 'Bearer {{admin.password}}' } },
 * }).create.method; // 'POST'
 * ```
 */
import { z } from 'zod';
import { connectTimeoutField } from '../config-fields.js';
import type { Strategy } from '../target.js';
import { jsonStrings, placeholderProblem, placeholdersOf, requestNames, type RequestName } from './template.js';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Default bound on one request. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default longest Retry-After waited out. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

const URL_MESSAGE = 'must be an http:// or https:// URL without user, password, query or fragment';
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client sets itself. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer']);

const pathField = z
  .string({ error: 'must be a path such as /v1/keys' })
  .refine((p) => p.startsWith('/') && !p.startsWith('//'), 'must start with a single "/" (it is appended to baseUrl)')
  // eslint-disable-next-line no-control-regex
  .refine((p) => !/[\s\u0000-\u001f\u007f#]/.test(p), 'must not contain spaces, control characters or "#"')
  .describe('path (and query) appended to baseUrl; may hold {{username}}, {{keyName}} and (revoke) {{keyId}}, URL-encoded');

const headersField = z
  .record(
    // Header names are checked in the superRefine below, where the message can name the header.
    z.string(),
    // eslint-disable-next-line no-control-regex
    z.string({ error: 'must be a string' }).refine((v) => !/[\r\n\u0000]/.test(v), 'must not contain line breaks'),
  )
  .optional()
  .describe('request headers, { Name: value }; values may hold placeholders such as {{admin.password}} or {{key}}');

/** Any JSON value (one definition, so the JSON Schema for editors holds it once). */
const jsonValue = z.json({ error: 'must be a JSON value' }).meta({ id: 'jsonValue' });

const statusField = z.number({ error: 'must be an HTTP status' }).int('must be a whole number').min(100, 'must be an HTTP status').max(599, 'must be an HTTP status');

function request<Extra extends z.ZodRawShape>(method: (typeof METHODS)[number], what: string, extra: Extra) {
  return z
    .strictObject({
      method: z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }).default(method),
      path: pathField,
      headers: headersField,
      body: jsonValue.optional().describe('JSON body; its strings may hold placeholders'),
      ...extra,
    })
    .describe(what);
}

const createResponse = z
  .strictObject({
    key: z
      .string({ error: 'must be the dotted path of the key in the create answer, e.g. secret or data.key' })
      .min(1, 'must be a dotted path such as secret or data.key')
      .describe('dotted path of the new key in the create answer (the provider makes the key): e.g. secret'),
    id: z
      .string({ error: 'must be a dotted path such as id' })
      .min(1, 'must be a dotted path such as id')
      .optional()
      .describe("dotted path of the provider's id of the new key in the create answer, e.g. id"),
  })
  .optional()
  .describe('the provider makes the key and answers it: where it is in the JSON answer (strategy renew)');

const listResponse = z
  .strictObject({
    items: z.string().default('').describe('dotted path of the array of keys in the answer ("" when the answer is the array), e.g. data'),
    id: z.string().min(1).default('id').describe("field of an item holding the provider's id of the key"),
    name: z.string().min(1).default('name').describe('field of an item holding the name given at create (where {{keyName}} is found)'),
    hint: z.string().min(1).optional().describe("field of an item holding the provider's hint of the key (its first and last characters, e.g. sk-a…f9d2)"),
  })
  .default({ items: '', id: 'id', name: 'name' });

export const httpApiKeyConfigSchema = z
  .strictObject({
    type: z.literal('http-api-key'),
    baseUrl: z
      .string({ error: URL_MESSAGE })
      .refine((text) => {
        if (!URL.canParse(text)) return false;
        const url = new URL(text);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '' && !text.includes('{{');
      }, URL_MESSAGE)
      .describe('base URL of the provider API, e.g. https://api.example.com'),
    caFile: z
      .string({ error: 'must be the path of a PEM file' })
      .min(1, 'must be the path of a PEM file')
      .optional()
      .describe('PEM file of the CA(s) the provider certificate must chain to (https only; default: the system CAs)'),
    connectTimeoutMs: connectTimeoutField,
    timeoutMs: z
      .number({ error: 'must be a number of milliseconds' })
      .int('must be a whole number of milliseconds')
      .min(100, 'must be at least 100 ms')
      .max(600_000, 'must be at most 600000 ms (10 minutes)')
      .optional()
      .describe(`give up on one request after this long (default ${DEFAULT_TIMEOUT_MS} ms)`),
    maxRetryAfterMs: z
      .number({ error: 'must be a number of milliseconds' })
      .int('must be a whole number of milliseconds')
      .min(0, 'must be 0 or more')
      .max(600_000, 'must be at most 600000 ms')
      .optional()
      .describe(`a 429 answer whose Retry-After is at most this long is waited out and the request sent again, twice at most (default ${DEFAULT_MAX_RETRY_AFTER_MS} ms; 0: never)`),
    account: z
      .string({ error: 'must be the account name' })
      .min(1, 'must be the account name')
      .max(512, 'must be at most 512 characters')
      .optional()
      .describe('the account ({{username}}) of a secret that has no value yet, whose first key is issued (renew); a stored value username wins'),
    create: request('POST', 'adds the key Keyturn generated ({{key}}) to the account {{username}}, named {{keyName}}; with response.key the provider makes the key and answers it', {
      response: createResponse,
    }),
    test: request('GET', 'a call authenticated by the key ({{key}}): 2xx works, a status of refusedStatus is refused', {
      refusedStatus: z.array(statusField).min(1, 'must list at least one status').default([401, 403]).describe('statuses meaning the key is refused (default 401, 403)'),
    }),
    list: request('GET', "the account's active keys (needed for {{keyId}})", { response: listResponse }).optional(),
    revoke: request('DELETE', 'ends one key, by {{keyId}}, {{keyName}} or {{key}}; 404 and 410 mean gone already', {}),
  })
  .superRefine((c, ctx) => {
    for (const name of ['create', 'test', 'list', 'revoke'] as const) {
      const r = c[name];
      if (!r) continue;
      const parts: Array<['path' | 'headers' | 'body', (string | number)[], string]> = [
        ['path', ['path'], r.path],
        ...Object.entries(r.headers ?? {}).map(([h, v]): ['headers', string[], string] => ['headers', ['headers', h], v]),
        ...jsonStrings(r.body).map((s): ['body', string[], string] => ['body', ['body'], s]),
      ];
      for (const h of Object.keys(r.headers ?? {})) {
        if (!HEADER_NAME.test(h)) ctx.addIssue({ code: 'custom', path: [name, 'headers', h], message: 'must be an HTTP header name' });
        else if (RESERVED_HEADERS.has(h.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name, 'headers', h], message: 'is set by the HTTP client itself' });
      }
      for (const [part, at, text] of parts) {
        for (const p of placeholdersOf(text)) {
          const problem = placeholderProblem(name, part, p);
          if (problem) ctx.addIssue({ code: 'custom', path: [name, ...at], message: problem });
        }
      }
    }
    const sent = (name: RequestName) => {
      const r = c[name];
      return r ? [...Object.values(r.headers ?? {}), ...jsonStrings(r.body)] : [];
    };
    const all = (name: RequestName) => {
      const r = c[name];
      return r ? [r.path, ...sent(name)] : [];
    };
    if (c.create.response !== undefined) {
      // The provider makes the key: nothing to send, and a crash can only be recovered by the key's name.
      if (requestNames(sent('create'), 'key')) {
        ctx.addIssue({ code: 'custom', path: ['create'], message: 'must not send {{key}} with create.response.key: the provider makes the key and answers it' });
      }
      if (!requestNames(all('create'), 'keyName')) {
        ctx.addIssue({ code: 'custom', path: ['create'], message: 'must name the key {{keyName}} with create.response.key, so a retry after a crash finds the key an interrupted create made' });
      }
      if (c.list === undefined) {
        ctx.addIssue({ code: 'custom', path: ['list'], message: 'is needed with create.response.key: a retry after a crash finds the key an interrupted create made through list' });
      }
      if (!requestNames(all('revoke'), 'keyId') && !requestNames(all('revoke'), 'keyName')) {
        ctx.addIssue({ code: 'custom', path: ['revoke'], message: 'must name {{keyId}} or {{keyName}} with create.response.key: a key whose value a crash lost cannot be revoked by {{key}}' });
      }
    } else if (!requestNames(sent('create'), 'key')) {
      ctx.addIssue({
        code: 'custom',
        path: ['create'],
        message:
          "must send the key Keyturn generated: {{key}} in the body or a header (the provider must take a key of the caller's choosing), or set create.response.key when the provider makes the key and answers it",
      });
    }
    if (!requestNames(sent('test'), 'key')) ctx.addIssue({ code: 'custom', path: ['test'], message: 'must authenticate with the key: {{key}} in a header or the body' });
    if (!['key', 'keyName', 'keyId'].some((p) => requestNames(all('revoke'), p as 'key'))) {
      ctx.addIssue({ code: 'custom', path: ['revoke'], message: 'must say which key to end: {{keyId}} (found through list), {{keyName}} or {{key}}' });
    }
    if (c.list === undefined && requestNames(all('revoke'), 'keyId')) {
      ctx.addIssue({ code: 'custom', path: ['list'], message: 'is needed to find {{keyId}}: add a list request of the account keys' });
    }
    if (c.caFile !== undefined && URL.canParse(c.baseUrl) && new URL(c.baseUrl).protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'goes with an https:// baseUrl' });
    }
  });

export type HttpApiKeyTargetConfig = z.output<typeof httpApiKeyConfigSchema>;
export type RequestConfig = HttpApiKeyTargetConfig['revoke'];
export type ListConfig = NonNullable<HttpApiKeyTargetConfig['list']>;

/** The strategies the http-api-key target rotates with (its registry entry carries them; `keyturn apply` checks them, then {@link httpApiKeyStrategiesOf}). */
export const httpApiKeyStrategies: readonly Strategy[] = ['dual-key', 'renew'];

/**
 * The strategy one configuration rotates with: `renew` when the provider makes the key
 * (`create.response.key`), else `dual-key`.
 *
 * @example
 * ```ts
 * httpApiKeyStrategiesOf(httpApiKeyConfigSchema.parse(config)); // ['dual-key']
 * ```
 */
export function httpApiKeyStrategiesOf(config: Pick<HttpApiKeyTargetConfig, 'create'>): readonly Strategy[] {
  return config.create.response === undefined ? ['dual-key'] : ['renew'];
}
