/**
 * One LDAP connection for one target call: connect (TLS for `ldaps://`, or StartTLS when
 * `startTls`), simple bind as the given DN, run `fn`, unbind. The connect, StartTLS and bind are
 * bounded by the connect timeout, each operation by `timeoutMs`, and everything by the context's
 * AbortSignal; every failure comes out as a KeyturnError and the connection is always closed.
 *
 * A bind with an empty password is an unauthenticated bind (RFC 4513 5.1.2), which many servers
 * accept as anonymous: it is refused here, before anything is sent.
 *
 * @example
 * ```ts
 * await withLdap(config, { username: 'app', dn, password }, ctx.signal, 'log in', async () => undefined);
 * ```
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type * as Ldapts from 'ldapts';
import type { Client } from 'ldapts';
import { loadLdap } from '../../core/drivers.js';
import { KeyturnError } from '../../core/errors.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import { parseLdapUrl, type LdapTargetConfig } from './config.js';
import { ldapError, type LdapErrorOptions } from './errors.js';

/** RFC 3062, the Password Modify extended operation. */
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

/**
 * What a connection needs: the ldap target's config, or another target's that speaks LDAP (the
 * active-directory target), whose `type` names the target in errors. `tlsServerName` is the name
 * the server certificate must carry when it is not the URL's host (a DC reached by address).
 */
export type LdapConnectionConfig = Pick<LdapTargetConfig, 'url' | 'startTls' | 'caFile' | 'connectTimeoutMs' | 'timeoutMs'> & { readonly type: string; readonly tlsServerName?: string };

/** Maps a driver error to a KeyturnError (./errors.ts's `ldapError`, or a target's own on top of it). */
export type LdapErrorMapper = typeof ldapError;

export function endpointOf(config: LdapConnectionConfig): Endpoint {
  const url = parseLdapUrl(config.url)!;
  return { kind: config.type, host: url.host, port: url.port };
}

/** Who binds: the name for messages, the DN to bind as, the password. */
export interface LdapLogin {
  readonly username: string;
  readonly dn: string;
  readonly password: string;
}

/** Runs one operation on the bound client; failures are mapped, naming `subject` and `action`. */
export type LdapCall = <R>(op: (client: Client) => Promise<R>, subject: string, action: string, options?: Pick<LdapErrorOptions, 'passwordChange'>) => Promise<R>;

/** What `fn` gets: the mapped call, and the RFC 3062 password change on top of it. */
export interface LdapSession {
  /** ldapts itself (loaded on first use, see src/core/drivers.ts): Change, Attribute, filters. */
  readonly ldap: typeof Ldapts;
  readonly call: LdapCall;
  /**
   * Sets the password of `dn` (the bound user's own when `dn` is null) with the Password Modify
   * extended operation; `old` is sent when given (a user changing its own).
   */
  changePassword(dn: string | null, subject: string, next: string, old?: string): Promise<void>;
}

async function tlsOptions(config: LdapConnectionConfig, at: Endpoint, login: string): Promise<ConnectionOptions> {
  const names = { host: at.host, ...(config.tlsServerName === undefined ? {} : { servername: config.tlsServerName }) };
  if (config.caFile === undefined) return names;
  try {
    return { ...names, ca: await readFile(config.caFile) };
  } catch {
    throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the ${at.kind} target at ${at.host}:${at.port} cannot read its caFile ${config.caFile}`, {
      details: { target: at.kind, host: at.host, port: at.port, username: login },
    });
  }
}

/** Connects, binds as `login`, runs `fn`, unbinds. Errors are KeyturnErrors (made by `mapError`). */
export async function withLdap<T>(
  config: LdapConnectionConfig,
  login: LdapLogin,
  signal: AbortSignal,
  action: string,
  fn: (session: LdapSession) => Promise<T>,
  mapError: LdapErrorMapper = ldapError,
): Promise<T> {
  const at = endpointOf(config);
  if (login.password === '') throw targetError('KT_TARGET_AUTH_FAILED', at, { username: login.username, action }, undefined, 'an empty password is an unauthenticated bind');
  const secure = parseLdapUrl(config.url)!.secure;
  const tls = secure || config.startTls === true ? await tlsOptions(config, at, login.username) : undefined;
  const ldap = await loadLdap();
  const connectTimeout = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const client = new ldap.Client({
    url: config.url,
    connectTimeout,
    timeout: config.timeoutMs ?? STATEMENT_TIMEOUT_MS,
    // With tlsOptions ldapts opens TLS at once: only for ldaps://, StartTLS gets them later.
    tlsOptions: secure ? tls : undefined,
    strictDN: true,
  });
  const call: LdapCall = async (op, subject, what, options = {}) => {
    try {
      return await op(client);
    } catch (e) {
      throw mapError(e, at, { username: subject, action: what }, login.username, options);
    }
  };
  const session: LdapSession = {
    ldap,
    call,
    async changePassword(dn, subject, next, old) {
      const value = new ldap.BerWriter();
      value.startSequence();
      if (dn !== null) value.writeString(dn, 0x80);
      if (old !== undefined) value.writeString(old, 0x81);
      value.writeString(next, 0x82);
      value.endSequence();
      await call((c) => c.exop(PASSWORD_MODIFY_OID, value.buffer), subject, `set the password of "${subject}"`, { passwordChange: true });
    },
  };
  const onAbort = (): Error => targetError('KT_TARGET_UNAVAILABLE', at, { username: login.username, action }, undefined, signal.aborted ? 'aborted (time limit reached)' : 'timed out');
  const close = (): void => void client.unbind().catch(() => undefined);
  // ldapts's connectTimeout ends at the TCP (or TLS) connect: this deadline also covers StartTLS and the bind.
  const handshake = AbortSignal.any([signal, AbortSignal.timeout(connectTimeout)]);
  try {
    await abortable(handshake, close, onAbort, async () => {
      try {
        if (config.startTls === true) await client.startTLS({ ...tls });
        await client.bind(login.dn, login.password);
      } catch (e) {
        throw mapError(e, at, { username: login.username, action }, login.username, { connecting: true });
      }
    });
    return await abortable(signal, close, onAbort, () => fn(session));
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
