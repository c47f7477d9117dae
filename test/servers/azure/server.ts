/**
 * A local Azure Key Vault (secrets data plane) over HTTPS, for the Azure store's tests: the REST
 * API the official SDK (@azure/keyvault-secrets) speaks, unchanged but for the vault URL, the
 * credential and the CA it trusts. Written from the published API definition
 * (azure-rest-api-specs, specification/keyvault/data-plane, secrets.json; api-versions 7.5 to
 * 2026-04-01). See README.md for what it does and does not do.
 *
 * Authentication is Key Vault's: a request without a valid bearer token gets 401 with the
 * challenge `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 * resource="https://vault.azure.net"`; a token must be a JWT this server signed (`credential()`
 * mints them in-process; `entra` issues them to a client signing in at its token endpoint, as
 * Entra ID would) for that resource and tenant, not expired.
 *
 * @example
 * ```ts
 * const server = await startAzureServer({ clock });
 * const client = new SecretClient(server.url, server.credential(), { tlsOptions: { ca: server.ca }, disableChallengeResourceVerification: true });
 * server.throttle(2); // the next two requests get 429 with Retry-After
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import { makeCa, makeLeaf } from '../../helpers/certs.js';
import { startEntra, type LocalEntra } from './entra.js';
import { LocalVault, VaultError, type VaultClock, type StoredVersion } from './vault.js';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const API_VERSIONS = new Set(['7.5', '7.6', '2025-07-01', '2026-04-01']);

export interface AzureServerOptions {
  clock?: VaultClock;
  /** The vault's soft-delete retention, 7 to 90 days (default 90). */
  recoverableDays?: number;
  /** The vault's purge protection (default false). */
  purgeProtection?: boolean;
  /** Reads of a name that answer 404 after its deletion or recovery, before it shows (default 1). */
  lag?: number;
  /** Items per page when the client asks for no maxresults (default 25, Key Vault's). */
  pageSize?: number;
  tenantId?: string;
}

/** What the SDK takes as a credential. */
export interface LocalCredential {
  getToken(scopes: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }>;
}

export interface AzureServer {
  /** The vault URL (https://127.0.0.1:<port>). */
  readonly url: string;
  /** The PEM of the CA that signed the server's certificate. */
  readonly ca: string;
  readonly tenantId: string;
  /**
   * The tenant's Entra ID authority (its own HTTPS port, same CA): the token endpoint a
   * `keyturn` process signs in at through DefaultAzureCredential (AZURE_AUTHORITY_HOST,
   * AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE).
   */
  readonly entra: LocalEntra;
  /** A credential whose tokens this vault accepts (`wrongKey`: signed by another key, which it refuses). */
  credential(options?: { wrongKey?: boolean }): LocalCredential;
  /** The next `n` requests get 429 Too Many Requests with `Retry-After: 0`. */
  throttle(n: number): void;
  /** The next `n` requests get `status` (default 503 Service Unavailable; 400 for a refusal the client must not retry). */
  failNext(n: number, status?: number): void;
  /** Requests served so far, by `METHOD path` (without the query). */
  readonly requests: string[];
  /** Every stored version of a secret name, as an app reading the vault would find them (newest last). */
  rawVersions(name: string): readonly StoredVersion[];
  close(): Promise<void>;
}

let tlsMaterial: Promise<{ key: string; cert: string; ca: string }> | undefined;

/** One CA and leaf (127.0.0.1) per test process. */
function tls(): Promise<{ key: string; cert: string; ca: string }> {
  tlsMaterial ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-azure-tls-'));
    try {
      const ca = await makeCa(dir);
      const leaf = await makeLeaf(ca, { name: 'vault', cn: '127.0.0.1', sans: ['IP:127.0.0.1', 'DNS:localhost'], days: 30 });
      return { key: leaf.key, cert: leaf.cert, ca: ca.pem };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return tlsMaterial;
}

/**
 * Starts the vault on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startAzureServer({ clock, recoverableDays: 7, purgeProtection: true });
 * ```
 */
export async function startAzureServer(options: AzureServerOptions = {}): Promise<AzureServer> {
  const material = await tls();
  const clock = options.clock ?? { now: () => Date.now() };
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000test';
  const signingKey = randomBytes(32);
  const otherKey = randomBytes(32);
  const pageSize = options.pageSize ?? 25;
  const requests: string[] = [];
  let throttled = 0;
  let failing = 0;
  let failStatus = 503;

  const server = createServer({ key: material.key, cert: material.cert }, (req, res) => {
    void handle(req, res).catch((e: unknown) => send(res, 500, { error: { code: 'InternalError', message: String(e) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entra = await startEntra({
    tenantId,
    tls: material,
    resources: [KEY_VAULT_RESOURCE],
    mint: async (audience, clientId) => ({ token: await mint(audience, clientId, signingKey), expiresInS: 3599 }),
  });
  const vault = new LocalVault({ base: url, clock, recoverableDays: options.recoverableDays ?? 90, purgeProtection: options.purgeProtection ?? false, lag: options.lag ?? 1 });

  async function authorized(req: IncomingMessage): Promise<boolean> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(header);
    if (!m) return false;
    try {
      const { payload } = await jwtVerify(m[1]!, signingKey, { audience: KEY_VAULT_RESOURCE, issuer: `https://sts.windows.net/${tenantId}/` });
      return payload.tid === tenantId;
    } catch {
      return false;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', url);
    const method = req.method ?? 'GET';
    requests.push(`${method} ${u.pathname}`);
    if (throttled > 0) {
      throttled -= 1;
      res.setHeader('Retry-After', '0');
      return send(res, 429, { error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } });
    }
    if (failing > 0) {
      failing -= 1;
      if (failStatus === 503) return send(res, 503, { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' } });
      return send(res, failStatus, { error: { code: 'BadParameter', message: 'The request was refused by a test fault.' } });
    }
    if (!(await authorized(req))) {
      res.setHeader('WWW-Authenticate', `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`);
      return send(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
    }
    const apiVersion = u.searchParams.get('api-version');
    if (apiVersion === null || !API_VERSIONS.has(apiVersion)) {
      return send(res, 400, { error: { code: 'BadParameter', message: `The specified version (${apiVersion ?? 'none'}) is not recognized. Consider using the latest supported version.` } });
    }
    let body: Record<string, unknown> = {};
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(res, 400, { error: { code: 'BadParameter', message: 'The request body is not valid JSON.' } });
      }
    }
    // Ids and next links name the vault as the client did (through a proxy, say), as Key Vault's name its DNS name.
    const origin = req.headers.host ? `https://${req.headers.host}` : url;
    try {
      const out = route(method, new URL(u.pathname + u.search, origin), body, origin);
      if (out === null) return send(res, 204, undefined);
      return send(res, 200, out);
    } catch (e) {
      if (e instanceof VaultError) return send(res, e.status, { error: { code: e.code, message: e.message, ...(e.inner ? { innererror: { code: e.inner } } : {}) } });
      throw e;
    }
  }

  function page(items: Record<string, unknown>[], u: URL, origin: string): Record<string, unknown> {
    const size = Math.min(Number(u.searchParams.get('maxresults') ?? pageSize) || pageSize, 25);
    const skip = Number(u.searchParams.get('$skiptoken') ?? 0);
    const slice = items.slice(skip, skip + size);
    if (skip + size >= items.length) return { value: slice, nextLink: null };
    const next = new URL(u.pathname, origin);
    next.searchParams.set('api-version', u.searchParams.get('api-version')!);
    next.searchParams.set('$skiptoken', String(skip + size));
    next.searchParams.set('maxresults', String(size));
    return { value: slice, nextLink: next.toString() };
  }

  function route(method: string, u: URL, body: Record<string, unknown>, origin: string): Record<string, unknown> | null {
    const v = vault.at(origin);
    const parts = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const [collection, name, third, fourth] = parts;
    if (collection === 'secrets') {
      if (name === undefined || name === '') {
        if (method === 'GET') return page(v.list(), u, origin);
      } else if (third === 'versions' && fourth === undefined && method === 'GET') {
        return page(v.versions(name), u, origin);
      } else if (third === undefined || third === '' || fourth === undefined) {
        const version = third ?? '';
        if (method === 'PUT' && third === undefined) return v.set(name, body);
        if (method === 'GET') return v.get(name, version);
        if (method === 'PATCH') return v.update(name, version, body);
        if (method === 'DELETE' && third === undefined) return v.delete(name);
      }
    } else if (collection === 'deletedsecrets') {
      if (name === undefined || name === '') {
        if (method === 'GET') return page(v.listDeleted(), u, origin);
      } else if (third === 'recover' && method === 'POST') {
        return v.recover(name);
      } else if (third === undefined) {
        if (method === 'GET') return v.getDeleted(name);
        if (method === 'DELETE') {
          v.purge(name);
          return null;
        }
      }
    }
    throw new VaultError(404, 'NotFound', `No route for ${method} ${u.pathname}`);
  }

  /** An access token as Entra ID issues it (v1: `sts.windows.net` issuer), valid for an hour. */
  function mint(audience: string, appId: string, key: Uint8Array): Promise<string> {
    return new SignJWT({ tid: tenantId, oid: 'local-test-identity', appid: appId })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(audience)
      .setIssuer(`https://sts.windows.net/${tenantId}/`)
      .setIssuedAt()
      .setExpirationTime(Math.floor((Date.now() + 3_600_000) / 1000))
      .sign(key);
  }

  function credential(o: { wrongKey?: boolean } = {}): LocalCredential {
    return {
      async getToken(scopes) {
        const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? '';
        const token = await mint(scope.replace(/\/\.default$/, ''), 'local-test-app', o.wrongKey ? otherKey : signingKey);
        return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
  }

  return {
    url,
    ca: material.ca,
    tenantId,
    entra,
    credential,
    throttle: (n) => {
      throttled = n;
    },
    failNext: (n, status = 503) => {
      failing = n;
      failStatus = status;
    },
    requests,
    rawVersions: (name) => vault.rawVersions(name),
    close: async () => {
      await entra.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-ms-keyvault-service-version': '1.9.0.0' }).end(text);
}
