/**
 * OIDC / JWT login: a JWT from a configured issuer (./oidc-issuer.ts) becomes a short-lived API
 * token. The issuer is the one named, or the one whose `iss` the JWT carries; the JWT is checked
 * with jose against the issuer's JWKS (fetched and cached by jose's remote key set, refetched for
 * an unknown key id at most once per cooldown): signature, an allowed algorithm, exact `iss`, an
 * accepted audience, `exp` required, `nbf` and `exp` with the clock tolerance, on the injected
 * clock. Its claims must match a rule; the session is a normal `kt_` token with the policies the
 * matching rules grant (those that still exist), subject `oidc:NAME:<sub>`, and an expiry of the
 * issuer's longest session or the JWT's own `exp`, whichever is sooner.
 *
 * Every refusal is an {@link OidcRefusal} whose reason is for the server log only (never the JWT);
 * callers turn it into one code. A key set that cannot be fetched is KT_OIDC_JWKS_UNAVAILABLE.
 *
 * @example
 * ```ts
 * const login = new OidcLogin(oidcRepo, access, clock);
 * const session = await login.login({ jwt }); // { token, id, expiresAt, subject, policies }
 * ```
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../core/clock.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { AccessRepo } from './access-repo.js';
import { policiesFor, sessionSubject, type OidcIssuer } from './oidc-issuer.js';
import type { OidcRepo } from './oidc-repo.js';

export interface OidcLoginOptions {
  /** After a fetch, how long an unknown key id is refused without fetching again (jose's cooldown; default 30 s). */
  jwksCooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again (default 10 min). */
  jwksMaxAgeMs?: number;
  /** How long a fetch may take (default 5 s). */
  jwksTimeoutMs?: number;
}

export interface Session {
  token: string;
  id: string;
  expiresAt: number;
  subject: string;
  policies: string[];
  issuer: string;
}

/** A refused login; `reason` is for the server's debug log only. */
export class OidcRefusal extends Error {
  constructor(
    readonly reason: string,
    readonly issuer: string | null,
  ) {
    super(reason);
    this.name = 'OidcRefusal';
  }
}

/** Larger than any real key set; a bigger answer is refused unread. */
const MAX_JWKS_BYTES = 512 * 1024;

function unavailable(issuer: string, why: string): KeyturnError {
  return new KeyturnError('KT_OIDC_JWKS_UNAVAILABLE', "the issuer's key set could not be fetched; try again later", { details: { issuer, why } });
}

/** fetch for jose's key set: a 200 answer of at most MAX_JWKS_BYTES holding `{ keys: [...] }`, else KT_OIDC_JWKS_UNAVAILABLE. */
function jwksFetch(issuer: string, ca: string | null): (url: string, init: RequestInit) => Promise<Response> {
  // A private CA: undici's own fetch with an agent that trusts it (and only it).
  const dispatcher = ca === null ? undefined : new Agent({ connect: { ca } });
  return async (url, init) => {
    let res: Response;
    try {
      res = dispatcher === undefined ? await fetch(url, init) : ((await undiciFetch(url, { ...(init as object), dispatcher })) as unknown as Response);
    } catch (e) {
      throw unavailable(issuer, (e as Error).name === 'TimeoutError' ? 'timed out' : 'not reachable');
    }
    try {
      if (res.status !== 200) throw unavailable(issuer, `answered ${res.status}`);
      if (Number(res.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) throw unavailable(issuer, 'answer too large');
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body ?? []) {
        size += (chunk as Uint8Array).byteLength;
        if (size > MAX_JWKS_BYTES) throw unavailable(issuer, 'answer too large');
        chunks.push(chunk as Uint8Array);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw unavailable(issuer, 'answer is not JSON');
      }
      if (typeof json !== 'object' || json === null || !Array.isArray((json as { keys?: unknown }).keys)) throw unavailable(issuer, 'answer is not a key set');
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (e) {
      await res.body?.cancel().catch(() => undefined);
      if (isKeyturnError(e)) throw e;
      throw unavailable(issuer, (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError' ? 'timed out' : 'answer unreadable');
    }
  };
}

export class OidcLogin {
  private readonly keySets = new Map<string, { url: string; ca: string | null; getKey: JWTVerifyGetKey }>();

  constructor(
    private readonly issuers: OidcRepo,
    private readonly access: AccessRepo,
    private readonly clock: Clock,
    private readonly options: OidcLoginOptions = {},
  ) {}

  /**
   * Verifies `jwt` and creates its session through `sessionsFor(subject)` (an access repository
   * whose audit events name the subject). Throws {@link OidcRefusal} or KT_OIDC_JWKS_UNAVAILABLE.
   */
  async login(input: { issuer?: string | undefined; jwt: string }, sessionsFor: (subject: string) => AccessRepo = () => this.access): Promise<Session> {
    const issuer = await this.issuerFor(input);
    const claims = await this.verify(issuer, input.jwt);
    const subject = sessionSubject(issuer, claims);
    if (subject === null) throw new OidcRefusal(`no ${issuer.subjectClaim} claim`, issuer.name);
    const granted = policiesFor(issuer, claims);
    if (granted.length === 0) throw new OidcRefusal('no rule matches the claims', issuer.name);
    const policies: string[] = [];
    for (const name of granted) {
      try {
        await this.access.policy(name);
        policies.push(name);
      } catch (e) {
        // A policy removed since the issuer was stored grants nothing, as for tokens.
        if (!isKeyturnError(e, 'KT_ACCESS_POLICY_NOT_FOUND')) throw e;
      }
    }
    if (policies.length === 0) throw new OidcRefusal('the matching rules grant only policies that no longer exist', issuer.name);
    const now = this.clock.now();
    const ttlMs = Math.min(issuer.maxSessionTtlMs, Math.floor(claims.exp! * 1000) - now);
    if (ttlMs <= 0) throw new OidcRefusal('the JWT expires within the clock tolerance', issuer.name);
    const { token, info } = await sessionsFor(subject).createToken({ policies, ttlMs, subject, description: `OIDC login through issuer ${issuer.name}` });
    return { token, id: info.id, expiresAt: info.expiresAt!, subject, policies, issuer: issuer.name };
  }

  private async issuerFor(input: { issuer?: string | undefined; jwt: string }): Promise<OidcIssuer> {
    if (input.issuer !== undefined) {
      const named = await this.issuers.find(input.issuer);
      if (!named) throw new OidcRefusal('no issuer of that name', null);
      return named;
    }
    let iss: unknown;
    try {
      iss = decodeJwt(input.jwt).iss;
    } catch {
      throw new OidcRefusal('not a JWT', null);
    }
    if (typeof iss !== 'string') throw new OidcRefusal('no iss claim', null);
    const found = await this.issuers.byIss(iss);
    if (!found) throw new OidcRefusal('no issuer has that iss', null);
    return found;
  }

  private async verify(issuer: OidcIssuer, jwt: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(jwt, this.keySet(issuer), {
        issuer: issuer.issuer,
        audience: [...issuer.audiences],
        algorithms: [...issuer.algorithms],
        clockTolerance: issuer.clockToleranceMs / 1000,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (e) {
      if (isKeyturnError(e, 'KT_OIDC_JWKS_UNAVAILABLE')) throw e;
      if (e instanceof errors.JWKSInvalid || e instanceof errors.JWKSTimeout) throw unavailable(issuer.name, e.code);
      if (e instanceof errors.JOSEError) throw new OidcRefusal(`${e.code}: ${e.message}`, issuer.name);
      // jose checks shapes with TypeErrors too (a header that is not an object, ...): refused alike.
      if (e instanceof TypeError) throw new OidcRefusal('malformed JWT', issuer.name);
      throw e;
    }
  }

  /** The issuer's remote key set (one per issuer and URL: jose keeps its cache and cooldown in it). */
  private keySet(issuer: OidcIssuer): JWTVerifyGetKey {
    const hit = this.keySets.get(issuer.name);
    if (hit?.url === issuer.jwksUrl && hit.ca === issuer.jwksCa) return hit.getKey;
    const getKey = createRemoteJWKSet(new URL(issuer.jwksUrl), {
      cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: this.options.jwksMaxAgeMs ?? 600_000,
      timeoutDuration: this.options.jwksTimeoutMs ?? 5_000,
      [customFetch]: jwksFetch(issuer.name, issuer.jwksCa),
    });
    this.keySets.set(issuer.name, { url: issuer.jwksUrl, ca: issuer.jwksCa, getKey });
    return getKey;
  }
}
