/**
 * OIDC issuer documents: who may log in with a JWT (`POST /v1/auth/oidc/login`) and which path
 * policies the session gets. A YAML document names the exact `iss`, where its keys are (a JWKS
 * URL: https, or http on loopback only), the audiences accepted, the signature algorithms allowed
 * (asymmetric only: never `none`, never HS*), the longest session, the clock tolerance, and
 * rules: each a set of claims that must all match (exact values or `*` globs; a claim holding an
 * array matches when any element does) and the policies it grants. A JWT that matches no rule
 * gets nothing.
 *
 * @example
 * ```ts
 * const k8s = parseIssuer('k8s', 'issuer: https://k8s.example\njwksUrl: https://k8s.example/jwks\n' +
 *   'audiences: [keyturn]\nrules:\n  - claims: { sub: "system:serviceaccount:prod:*" }\n    policies: [app-read]\n');
 * policiesFor(k8s, { sub: 'system:serviceaccount:prod:app' }); // ['app-read']
 * sessionSubject(k8s, { sub: 'system:serviceaccount:prod:app' }); // 'oidc:k8s:system:serviceaccount:prod:app'
 * ```
 */
import { createHash, X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { KeyturnError } from '../core/errors.js';
import { issueLines } from '../core/issues.js';

/** Signature algorithms an issuer may allow: asymmetric only (an HMAC key would be a shared secret; `none` is no signature). */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: readonly OidcAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
const DEFAULT_SESSION_MS = 3_600_000;
const MAX_SESSION_MS = 86_400_000;
const DEFAULT_TOLERANCE_MS = 30_000;
const MAX_TOLERANCE_MS = 300_000;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SUBJECT_CHARS = /[^A-Za-z0-9._:@/-]/g;
const SUBJECT_CHAR = /[^A-Za-z0-9._:@/-]/;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s), { message: 'must not hold control characters' });

function duration(what: string, fallback: number, max: number, zero: boolean) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return fallback;
      const ms = zero && /^0[smhd]?$/.test(s.trim()) ? 0 : parseDuration(s);
      if (ms === null) ctx.addIssue({ code: 'custom', message: `${what} is a whole number and a unit: 30s, 20m, 1h` });
      else if (ms > max) ctx.addIssue({ code: 'custom', message: `${what} is at most ${max / 1000} s` });
      return ms ?? fallback;
    });
}

const jwksUrl = z.string().superRefine((s, ctx) => {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL (https://...)' });
    return;
  }
  if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'must not hold credentials' });
  else if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) ctx.addIssue({ code: 'custom', message: 'must be https (plain http only on loopback: 127.0.0.1, ::1, localhost)' });
  else if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be https' });
});

const algorithm = z.string().superRefine((s, ctx) => {
  if ((OIDC_ALGORITHMS as readonly string[]).includes(s)) return;
  const why = s.toLowerCase() === 'none' ? '"none" is no signature' : /^HS/i.test(s) ? 'HMAC algorithms need a shared secret and are never allowed' : 'unknown algorithm';
  ctx.addIssue({ code: 'custom', message: `${why}; allowed: ${OIDC_ALGORITHMS.join(', ')}` });
});

const pattern = text(1024);

/** PEM certificates (a private CA) that the key set's https server must chain to, in place of the system's. */
const jwksCa = z
  .string()
  .max(64 * 1024)
  .superRefine((s, ctx) => {
    const pems = s.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const bad =
      pems.length === 0 ||
      pems.some((p) => {
        try {
          new X509Certificate(p);
          return false;
        } catch {
          return true;
        }
      });
    if (bad) ctx.addIssue({ code: 'custom', message: 'jwksCa is one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)' });
  });

const documentSchema = z
  .object({
    description: text(1024).optional(),
    issuer: text(1024).describe('the exact iss claim'),
    jwksUrl,
    jwksCa: jwksCa.optional(),
    audiences: z.array(text(1024)).min(1).max(100),
    algorithms: z.array(algorithm).min(1).optional(),
    maxSessionTtl: duration('maxSessionTtl', DEFAULT_SESSION_MS, MAX_SESSION_MS, false),
    clockTolerance: duration('clockTolerance', DEFAULT_TOLERANCE_MS, MAX_TOLERANCE_MS, true),
    subjectClaim: text(256).optional(),
    rules: z
      .array(
        z
          .object({
            claims: z.record(text(256), z.union([pattern, z.array(pattern).min(1).max(100)])).refine((c) => Object.keys(c).length > 0, { message: 'a rule matches at least one claim' }),
            policies: z.array(z.string().regex(POLICY_NAME, 'a policy name is 1 to 64 of a-z, 0-9, ".", "_" and "-"')).min(1).max(100),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();

export interface ClaimMatch {
  /** The claim's name (a top-level claim of the JWT). */
  readonly claim: string;
  /** Exact values or `*` globs; any one matching is enough. */
  readonly patterns: readonly string[];
}

export interface IssuerRule {
  readonly claims: readonly ClaimMatch[];
  readonly policies: readonly string[];
}

export interface OidcIssuer {
  readonly name: string;
  readonly description: string | null;
  readonly issuer: string;
  readonly jwksUrl: string;
  /** PEM certificates the key set's server must chain to (a private CA, e.g. a cluster's own); null: the system's CAs. */
  readonly jwksCa: string | null;
  readonly audiences: readonly string[];
  readonly algorithms: readonly OidcAlgorithm[];
  readonly maxSessionTtlMs: number;
  readonly clockToleranceMs: number;
  readonly subjectClaim: string;
  readonly rules: readonly IssuerRule[];
}

const invalid = (message: string, problems?: string[]) => new KeyturnError('KT_OIDC_ISSUER_INVALID', message, problems ? { details: { problems } } : {});

/** Throws KT_OIDC_ISSUER_INVALID unless `name` is 1 to 64 of a-z, 0-9, `.`, `_`, `-`. */
export function assertIssuerName(name: string): void {
  if (!NAME.test(name)) throw invalid('an OIDC issuer name is 1 to 64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
}

/** Parses and checks an issuer document (YAML or JSON text); KT_OIDC_ISSUER_INVALID names each problem by dot-path. */
export function parseIssuer(name: string, document: string): OidcIssuer {
  assertIssuerName(name);
  let raw: unknown;
  try {
    raw = parseYaml(document);
  } catch (e) {
    throw invalid(`OIDC issuer ${name} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = documentSchema.safeParse(raw);
  if (!r.success) {
    const problems = issueLines(r.error.issues, '(document)');
    throw invalid(`OIDC issuer ${name} is not valid: ${problems.join('; ')}`, problems);
  }
  const d = r.data;
  return Object.freeze({
    name,
    description: d.description ?? null,
    issuer: d.issuer,
    jwksUrl: d.jwksUrl,
    jwksCa: d.jwksCa ?? null,
    audiences: Object.freeze([...d.audiences]),
    algorithms: Object.freeze([...new Set((d.algorithms as OidcAlgorithm[] | undefined) ?? DEFAULT_ALGORITHMS)]),
    maxSessionTtlMs: d.maxSessionTtl,
    clockToleranceMs: d.clockTolerance,
    subjectClaim: d.subjectClaim ?? 'sub',
    rules: Object.freeze(
      d.rules.map((rule) =>
        Object.freeze({
          claims: Object.freeze(Object.entries(rule.claims).map(([claim, p]) => Object.freeze({ claim, patterns: Object.freeze(typeof p === 'string' ? [p] : [...p]) }))),
          policies: Object.freeze([...new Set(rule.policies)]),
        }),
      ),
    ),
  });
}

/**
 * Whether `value` matches a glob where `*` stands for any characters (none included) and every
 * other character for itself. Linear backtracking on the last `*` only: no regular expression, so
 * no pattern and value can make it slow.
 */
export function globMatch(glob: string, value: string): boolean {
  let g = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === value[v]) {
      g++;
      v++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = v;
    } else if (star !== -1) {
      g = star + 1;
      v = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** A claim's values as text: a string, number or boolean is one; an array gives its scalar elements; anything else none. */
function claimValues(value: unknown): string[] {
  const one = (x: unknown): string | null => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : null);
  if (Array.isArray(value)) return value.map(one).filter((x): x is string => x !== null);
  const v = one(value);
  return v === null ? [] : [v];
}

/**
 * The value a rule's claim name designates: the top-level claim of that exact name when there is
 * one (names with dots, such as `https://example.com/roles`, stay whole), else a path through
 * nested objects, one dot per level (`realm_access.roles`, Keycloak's roles). Undefined when none.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let at: unknown = claims;
  for (const part of name.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Whether every claim of `rule` matches `claims`. */
export function ruleMatches(rule: IssuerRule, claims: Readonly<Record<string, unknown>>): boolean {
  return rule.claims.every((c) => claimValues(claimAt(claims, c.claim)).some((v) => c.patterns.some((p) => globMatch(p, v))));
}

/** The policies the matching rules grant, in rule order without repeats; empty when no rule matches. */
export function policiesFor(issuer: OidcIssuer, claims: Readonly<Record<string, unknown>>): string[] {
  const out = new Set<string>();
  for (const rule of issuer.rules) if (ruleMatches(rule, claims)) for (const p of rule.policies) out.add(p);
  return [...out];
}

/**
 * The session's subject, `oidc:NAME:<subject claim>`, or null when the claim is missing or empty.
 * Characters a subject may not hold become `_`; a value too long keeps its start and a hash of
 * the whole (two different values never share a subject by being cut).
 */
export function sessionSubject(issuer: OidcIssuer, claims: Readonly<Record<string, unknown>>): string | null {
  const raw = claimAt(claims, issuer.subjectClaim);
  const value = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : '';
  if (value === '') return null;
  const subject = `oidc:${issuer.name}:${value.replace(SUBJECT_CHARS, '_')}`;
  if (subject.length <= 256 && !SUBJECT_CHAR.test(value)) return subject;
  // Replaced characters or a cut could make two values one subject: the hash of the value keeps them apart.
  const hash = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 32);
  return `${subject.slice(0, 256 - 33)}:${hash}`;
}
