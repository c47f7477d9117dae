/**
 * The agent's API token from a JWT file (a Kubernetes projected service-account token, a CI
 * OIDC token): the JWT is traded for a short-lived `kt_` token through the server's OIDC login
 * (`POST /v1/auth/oidc/login`), and that session is used until it nears its end. The JWT file is
 * read again whenever it changes (its inode, size or mtime: the kubelet replaces the projected
 * token before it expires), and a changed JWT means a new login. `invalidate()` (after a 401)
 * forgets the session, so the next request logs in again. Neither the JWT nor the session token
 * is ever logged or put in an error.
 *
 * A session is renewed once less than a third of its lifetime is left (at most 60 s before its
 * end, at least 5 s), so a long-lived stream's reconnection and every read find a valid token.
 *
 * @example
 * ```ts
 * const token = jwtLogin({ file: '/var/run/secrets/tokens/keyturn', issuer: 'k8s', login: (jwt, issuer) => servers.login(jwt, issuer), clock });
 * await token.current(); // 'kt_...' (a session from the OIDC login)
 * ```
 */
import type { Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { TokenSource } from './token.js';
import { fileStamp, readStampedFile } from './token.js';

export interface LoginSession {
  readonly token: string;
  /** How long it is valid from the answer (the server's expiresIn: no clock skew between hosts). */
  readonly expiresInMs: number;
}

export interface JwtLoginOptions {
  readonly file: string;
  /** The issuer's name on the server; undefined: the one whose `iss` the JWT carries. */
  readonly issuer: string | undefined;
  /** Trades the JWT for a session (the servers' OIDC login). */
  readonly login: (jwt: string, issuer: string | undefined) => Promise<LoginSession>;
  readonly clock: Clock;
}

/** How long before its end a session is renewed: a third of its lifetime, within [5 s, 60 s]. */
export function renewMargin(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(5_000, Math.floor(lifetimeMs / 3)));
}

export function jwtLogin(o: JwtLoginOptions): TokenSource {
  let session: { stamp: string; token: string; renewAt: number } | null = null;
  let pending: Promise<string> | null = null;
  const login = async (): Promise<string> => {
    const stamp = await fileStamp(o.file, 'JWT');
    if (session !== null && session.stamp === stamp && o.clock.now() < session.renewAt) return session.token;
    const { text } = await readStampedFile(o.file, 'JWT');
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) {
      throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `the JWT file ${o.file} does not hold a JWT (three base64url parts separated by dots)`);
    }
    const s = await o.login(text, o.issuer);
    session = { stamp, token: s.token, renewAt: o.clock.now() + s.expiresInMs - renewMargin(s.expiresInMs) };
    return s.token;
  };
  return {
    current: () => {
      // Concurrent requests share one login.
      pending ??= login().finally(() => {
        pending = null;
      });
      return pending;
    },
    invalidate: () => {
      session = null;
    },
  };
}
