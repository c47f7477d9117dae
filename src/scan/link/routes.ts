/**
 * The scan linkage over HTTP, for `keyturn scan` run with KEYTURN_ADDR (a client has no audit HMAC
 * key, so it sends candidate values over TLS and the server hashes them; nothing is stored but the
 * audit events, which hold no value):
 *
 *   POST /v1/scan/match    audit on the matched path    which candidates are values of managed secrets
 *   POST /v1/scan/leaked   audit; rotate on current     the same, then `secret.leaked` events and the
 *                          or pending matched paths     emergency rotations (./leaked.ts)
 *
 * **Why `audit`.** Linking a value tells which secret holds it, not the value: a scanner in CI
 * needs that without being able to read production secrets, which `read` would demand. `audit` is
 * the capability that already shows a path's events, with the keyed hashes of its values; this
 * route answers the same question for values the caller already holds. A match on a path the token
 * has no `audit` on is answered as no match (so the route is no oracle for paths the token may not
 * see), and each request records one `scan.link` event naming the token. `/leaked` also needs
 * `rotate` on each current or pending matched path (KT_ACCESS_DENIED, recorded, before anything is
 * done otherwise).
 *
 * @example
 * ```ts
 * // POST /v1/scan/match  {"candidates":[{"value":"…","ruleId":"aws","fingerprint":"3f9a…","file":"a.env","line":3}]}
 * // → {"results":[{"match":{"path":"prod/aws","versionId":"…","stage":"current","label":"managed secret prod/aws"},"also":[]}]}
 * ```
 */
import { z } from 'zod';
import type { Identity } from '../../access/access-repo.js';
import { allow, may, requestContext } from '../../server/auth.js';
import { defineRoute, type AnyRoute } from '../../server/route.js';
import { rotateLeaked } from './leaked.js';
import { linkFindings } from './link.js';
import type { LinkedFinding } from './types.js';
import { findingOf, linkedJson, MAX_CANDIDATES, MAX_FILE_CHARS, MAX_FINGERPRINT_CHARS, MAX_VALUE_CHARS } from './wire.js';

const candidate = z
  .object({
    value: z.string().min(1).max(MAX_VALUE_CHARS).describe('The found value (sent over TLS; hashed by the server, never stored or echoed)'),
    ruleId: z.string().min(1).max(256).describe('The rule that found it'),
    fingerprint: z.string().min(1).max(MAX_FINGERPRINT_CHARS).describe("The finding's fingerprint (recorded in secret.leaked; characters outside [A-Za-z0-9._:@/-] become _)"),
    file: z.string().min(1).max(MAX_FILE_CHARS).describe('Where it was found'),
    line: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('The line it was found on'),
  })
  .strict();

const body = z.object({ candidates: z.array(candidate).min(1).max(MAX_CANDIDATES).describe(`1 to ${MAX_CANDIDATES} candidates`) }).strict();

const match = z.object({ path: z.string(), versionId: z.string(), stage: z.enum(['current', 'pending', 'previous', 'older']), label: z.string(), field: z.string().optional() });
const result = z.object({ match: match.nullable(), also: z.array(match), action: z.record(z.string(), z.unknown()).nullable().optional() });
const answer = z.object({ results: z.array(result).describe('One per candidate, in order') });

/** The linked findings with only the matches on paths the token has `audit` on (the most urgent of those first). */
function visible(linked: readonly LinkedFinding[], who: Identity): LinkedFinding[] {
  return linked.map((l) => {
    if (l.match === null) return l;
    const [first, ...rest] = [l.match, ...l.also].filter((m) => may(who, m.path, 'audit'));
    return first === undefined ? { finding: l.finding, match: null, also: [] as const } : { finding: l.finding, match: first, also: rest };
  });
}

export function scanRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/scan/match',
      tag: 'scan',
      summary: 'Which candidate values are values of managed secrets (current, pending, previous or older): `audit` on the matched path',
      body,
      response: answer,
      handler: async ({ request, deps, body: b, who }) => {
        const linked = visible(await linkFindings(b.candidates.map(findingOf), { kt: deps.kt, context: requestContext(request, who) }), who);
        return { results: linked.map((l) => linkedJson(l)) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/scan/leaked',
      tag: 'scan',
      summary: 'Match the candidates, record each match as secret.leaked, and rotate each current or pending matched secret as an emergency: `audit` on the path, `rotate` to rotate',
      body,
      response: answer,
      handler: async ({ request, deps, body: b, who }) => {
        const context = requestContext(request, who);
        const linked = visible(await linkFindings(b.candidates.map(findingOf), { kt: deps.kt, context }), who);
        for (const l of linked) for (const m of l.match === null ? [] : [l.match, ...l.also]) if (m.stage === 'current' || m.stage === 'pending') allow(who, m.path, 'rotate');
        const actions = await rotateLeaked(linked, { kt: deps.kt, runs: deps.clientOf(request, who).runs, context });
        const byPath = new Map(actions.map((a) => [a.path, a]));
        return { results: linked.map((l) => linkedJson(l, l.match === null ? null : (byPath.get(l.match.path) ?? null))) };
      },
    }),
  ];
}
