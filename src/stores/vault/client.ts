/**
 * The Vault store's HTTP client: Vault's HTTP API through undici (there is no official Node SDK;
 * the HTTP API is Vault's wire protocol). It adds `X-Vault-Token` and `X-Vault-Namespace`, trusts
 * `caCertFile`, logs in (token from an environment variable or file, AppRole, Kubernetes) on first
 * use and again once when Vault answers 403 (an expired or revoked token), retries throttling
 * (429, honouring Retry-After), a sealed or failing Vault (5xx) and unreachable ones, and maps
 * what is left onto KT_STORE_UNAVAILABLE / KT_STORE_AUTH_FAILED / KT_STORE_FAILED. Messages carry
 * Vault's own error text and the request path, never a request body (values, secret ids, JWTs).
 *
 * @example
 * ```ts
 * const client = new VaultClient(config, { envVar: (n) => process.env[n], clock: systemClock });
 * const res = await client.call('GET', 'secret/metadata/app/db'); // { status: 200, data: {...} } or { status: 404 }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import type { Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import type { VaultStoreConfig } from './config.js';

/** A Vault answer the caller handles itself: 2xx, 404, or 400 (a failed check-and-set is a 400). */
export interface VaultAnswer {
  status: number;
  /** The envelope's `data` (null for 204). */
  data: unknown;
  /** The envelope's `auth` (logins). */
  auth?: unknown;
  /** Vault's `errors` (a 400's reason). */
  errors: string[];
}

export interface VaultClientDeps {
  /** Reads an environment variable (the runtime's settings.envVar). */
  envVar: (name: string) => string | undefined;
  clock: Clock;
}

const RETRIABLE = new Set([429, 500, 502, 503, 504]);

export class VaultClient {
  private token: { value: string; expiresAt: number | null } | null = null;
  private login: Promise<{ value: string; expiresAt: number | null }> | null = null;
  private agent: Agent | null = null;
  private closed = false;

  constructor(
    private readonly config: VaultStoreConfig,
    private readonly deps: VaultClientDeps,
  ) {}

  /**
   * One call; `body` as JSON. Returns 2xx, 404 and 400 answers; throws a KeyturnError for the rest
   * (after retries and, on 403, one fresh login).
   */
  async call(method: string, path: string, body?: unknown): Promise<VaultAnswer> {
    let relogged = false;
    for (;;) {
      const token = await this.currentToken();
      const res = await this.send(method, path, body, token.value);
      if (res.status !== 403) return this.accept(method, path, res);
      if (relogged || !this.canRelogin()) throw authFailed(method, path, res.errors);
      // An expired or revoked token: log in (or read the token file) again, once.
      this.token = null;
      relogged = true;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent?.close();
    this.agent = null;
  }

  private accept(method: string, path: string, res: VaultAnswer): VaultAnswer {
    if (res.status < 300 || res.status === 404 || res.status === 400) return res;
    if (res.status === 401) throw authFailed(method, path, res.errors);
    throw new KeyturnError('KT_STORE_FAILED', `Vault answered ${res.status} to ${method} ${path}: ${describe(res.errors)}`, { details: { status: res.status, path } });
  }

  private canRelogin(): boolean {
    return this.config.auth.method !== 'token' || this.config.auth.tokenFile !== undefined;
  }

  /** Sends with retries of throttling, 5xx and network failures. */
  private async send(method: string, path: string, body: unknown, token: string | null): Promise<VaultAnswer> {
    const url = `${this.config.address.replace(/\/+$/, '')}/v1/${path}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token !== null) headers['X-Vault-Token'] = token;
    if (this.config.namespace !== undefined) headers['X-Vault-Namespace'] = this.config.namespace;
    if (body !== undefined) headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const dispatcher = await this.dispatcher();
    let last: string;
    for (let attempt = 0; ; attempt++) {
      let delay = Math.min(100 * 2 ** attempt, 2000);
      try {
        const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher });
        const text = await res.text();
        const parsed = parseJson(text);
        const errors = Array.isArray(parsed?.errors) ? parsed.errors.filter((e): e is string => typeof e === 'string') : [];
        if (!RETRIABLE.has(res.status)) return { status: res.status, data: parsed?.data ?? null, auth: parsed?.auth, errors };
        last = `${res.status} ${describe(errors)}`;
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) delay = Math.min(after * 1000, 5000);
      } catch (e) {
        if (e instanceof KeyturnError) throw e;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        last = cause?.code ?? cause?.message ?? (e as Error).message;
        // A certificate Keyturn does not trust will not be trusted on a retry either.
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause?.code ?? '')) {
          throw new KeyturnError('KT_STORE_UNAVAILABLE', `Vault at ${this.config.address} has a TLS certificate Keyturn does not trust (${last}); set caCertFile to the CA that signs it`, {
            details: { address: this.config.address, path },
          });
        }
      }
      if (attempt >= this.config.maxRetries || this.closed) {
        throw new KeyturnError('KT_STORE_UNAVAILABLE', `Vault at ${this.config.address} did not answer ${method} ${path} after ${attempt + 1} attempts: ${last}`, {
          details: { address: this.config.address, path },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  private async dispatcher(): Promise<Agent> {
    if (this.agent) return this.agent;
    let ca: string | undefined;
    if (this.config.caCertFile !== undefined) ca = await readConfigFile(this.config.caCertFile, 'caCertFile');
    this.agent ??= new Agent(ca === undefined ? {} : { connect: { ca } });
    return this.agent;
  }

  /** The token to send: cached until its lease ends (by the clock), else obtained again. */
  private async currentToken(): Promise<{ value: string; expiresAt: number | null }> {
    const now = this.deps.clock.now();
    if (this.token && (this.token.expiresAt === null || this.token.expiresAt > now)) return this.token;
    this.login ??= this.obtainToken().finally(() => {
      this.login = null;
    });
    this.token = await this.login;
    return this.token;
  }

  private async obtainToken(): Promise<{ value: string; expiresAt: number | null }> {
    const auth = this.config.auth;
    if (auth.method === 'token') {
      const value = auth.tokenFile !== undefined ? (await readConfigFile(auth.tokenFile, 'auth.tokenFile')).trim() : this.deps.envVar(auth.tokenEnv)?.trim();
      if (value === undefined || value === '') {
        throw new KeyturnError('KT_STORE_AUTH_FAILED', `no Vault token: set ${auth.tokenEnv} in Keyturn's environment, or auth.tokenFile in the store file`);
      }
      return { value, expiresAt: null };
    }
    const path = `auth/${auth.mount}/login`;
    const body =
      auth.method === 'approle'
        ? { role_id: auth.roleId, secret_id: (await readConfigFile(auth.secretIdFile, 'auth.secretIdFile')).trim() }
        : { role: auth.role, jwt: (await readConfigFile(auth.tokenFile, 'auth.tokenFile')).trim() };
    const res = await this.send('POST', path, body, null);
    const granted = res.auth as { client_token?: unknown; lease_duration?: unknown } | null | undefined;
    if (res.status >= 300 || typeof granted?.client_token !== 'string') {
      if (res.status === 404) throw new KeyturnError('KT_STORE_FAILED', `Vault has no ${auth.method} login at ${path} (404): check auth.mount`, { details: { path } });
      throw authFailed('POST', path, res.errors, `the ${auth.method} login was refused`);
    }
    const lease = typeof granted.lease_duration === 'number' && granted.lease_duration > 0 ? granted.lease_duration : null;
    // Log in again a little before the lease ends (at 90% of it).
    return { value: granted.client_token, expiresAt: lease === null ? null : this.deps.clock.now() + lease * 900 };
  }
}

function authFailed(method: string, path: string, errors: string[], what = 'Vault refused the token'): KeyturnError {
  return new KeyturnError('KT_STORE_AUTH_FAILED', `${what} (${method} ${path}): ${describe(errors)}`, { details: { path } });
}

function describe(errors: string[]): string {
  const text = errors.join('; ').replace(/\s+/g, ' ').trim();
  return text === '' ? 'no error text' : text.slice(0, 300);
}

function parseJson(text: string): { data?: unknown; auth?: unknown; errors?: unknown[] } | null {
  if (text.trim() === '') return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v as { data?: unknown; errors?: unknown[] }) : null;
  } catch {
    return null;
  }
}

async function readConfigFile(file: string, key: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'an error';
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the file ${file} (${key}) cannot be read (${code})`, { details: { file, key } });
  }
}
