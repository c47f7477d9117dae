/**
 * A local OCI Vault speaking OCI's signed REST, so that the official SDK (oci-vault's
 * VaultsClient, oci-secrets' SecretsClient) talks to it unchanged: the secret management API
 * (20180608) and the secret retrieval API (20190301) on one port. Every request must carry a
 * valid OCI request signature by a key it was given (401 NotAuthenticated otherwise). See
 * README.md for what it implements.
 *
 * @example
 * ```ts
 * const creds = writeOciCredentials(dir);
 * const server = await startOciServer({ keys: [creds], clock });
 * // store config: endpoints: { vaults: server.url, secrets: server.url }
 * server.throttle(3); // the next 3 requests answer 429 TooManyRequests
 * await server.close();
 * ```
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyOciSignature } from './signature.js';
import { LocalVault, OciFault, type SecretRec, type VersionRec } from './vault.js';

export interface OciServerOptions {
  /** The API keys whose signatures are accepted (keyId `tenancy/user/fingerprint` and public key). */
  keys: ReadonlyArray<{ keyId: string; publicKey: KeyObject }>;
  /** The service's time (deletion windows, creation times); default the system clock. */
  clock?: { now(): number };
  /** The most items a list page holds (default 100). */
  pageSize?: number;
  /** How many requests see a transitional lifecycle state (CREATING, UPDATING, ...) before it settles (default 1). */
  settleRequests?: number;
}

export interface OciServer {
  /** Base URL for both APIs (the SDK appends /20180608 or /20190301). */
  readonly url: string;
  readonly vault: LocalVault;
  /** The next `n` requests answer 429 TooManyRequests. */
  throttle(n: number): void;
  /** How many requests the server answered (signed or not). */
  readonly requests: number;
  close(): Promise<void>;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function secretJson(s: SecretRec): Record<string, unknown> {
  return {
    compartmentId: s.compartmentId,
    currentVersionNumber: s.versions.find((v) => v.stages.has('CURRENT'))?.versionNumber,
    description: s.description,
    freeformTags: s.freeformTags,
    definedTags: {},
    id: s.id,
    keyId: s.keyId,
    lifecycleState: s.state,
    metadata: s.metadata,
    secretName: s.secretName,
    timeCreated: iso(s.timeCreated),
    timeOfDeletion: iso(s.timeOfDeletion),
    vaultId: s.vaultId,
  };
}

function summaryJson(s: SecretRec): Record<string, unknown> {
  const { metadata: _metadata, currentVersionNumber: _current, ...rest } = secretJson(s);
  return rest;
}

function versionJson(s: SecretRec, v: VersionRec): Record<string, unknown> {
  return {
    contentType: 'BASE64',
    name: v.name,
    secretId: s.id,
    stages: [...v.stages],
    timeCreated: iso(v.timeCreated),
    timeOfDeletion: iso(v.timeOfDeletion),
    versionNumber: v.versionNumber,
  };
}

function bundleJson(s: SecretRec, v: VersionRec): Record<string, unknown> {
  return {
    secretId: s.id,
    timeCreated: iso(v.timeCreated),
    versionNumber: v.versionNumber,
    versionName: v.name,
    secretBundleContent: { contentType: 'BASE64', content: v.content },
    stages: [...v.stages],
    metadata: s.metadata,
    timeOfDeletion: iso(v.timeOfDeletion),
  };
}

/** Starts the server on a free local port. */
export async function startOciServer(options: OciServerOptions): Promise<OciServer> {
  const clock = options.clock ?? { now: () => Date.now() };
  const vault = new LocalVault(clock, options.settleRequests ?? 1);
  const keys = new Map(options.keys.map((k) => [k.keyId, k.publicKey]));
  const pageSize = options.pageSize ?? 100;
  let throttled = 0;
  let requests = 0;

  function page<T>(items: T[], q: URLSearchParams, res: ServerResponse): T[] {
    const start = Number(q.get('page') ?? '0') || 0;
    const limit = Math.min(pageSize, Number(q.get('limit') ?? pageSize) || pageSize);
    if (start + limit < items.length) res.setHeader('opc-next-page', String(start + limit));
    return items.slice(start, start + limit);
  }

  function bundleOf(s: SecretRec, q: URLSearchParams): VersionRec {
    if (s.state === 'DELETED' || s.state === 'PENDING_DELETION' || s.state === 'SCHEDULING_DELETION') {
      throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
    }
    const number = q.get('versionNumber');
    const name = q.get('secretVersionName');
    const stage = q.get('stage') ?? (number === null && name === null ? 'CURRENT' : null);
    const v = s.versions.find((x) => (number === null || x.versionNumber === Number(number)) && (name === null || x.name === name) && (stage === null || x.stages.has(stage as 'CURRENT')));
    if (!v) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
    return v;
  }

  function route(method: string, parts: string[], q: URLSearchParams, body: Record<string, unknown>, raw: string, req: IncomingMessage, res: ServerResponse): [number, unknown] {
    const ifMatch = typeof req.headers['if-match'] === 'string' ? req.headers['if-match'] : undefined;
    const [api, ...rest] = parts;
    const withEtag = (s: SecretRec): [number, unknown] => {
      res.setHeader('etag', s.etag);
      return [200, secretJson(s)];
    };
    if (api === '20180608' && rest[0] === 'secrets') {
      const [, id, sub, n, action, verb] = rest;
      if (id === undefined) {
        if (method === 'POST') return withEtag(vault.create(body, header(req, 'opc-retry-token'), raw));
        if (method === 'GET') {
          const compartmentId = q.get('compartmentId');
          if (!compartmentId) throw new OciFault(400, 'InvalidParameter', 'compartmentId is required.');
          const filter = { compartmentId, ...opt('vaultId', q), ...opt('name', q), ...opt('lifecycleState', q) };
          return [200, page(vault.list(filter), q, res).map(summaryJson)];
        }
      } else if (sub === undefined) {
        if (method === 'GET') return withEtag(vault.get(id));
        if (method === 'PUT') return withEtag(vault.update(id, body, ifMatch));
      } else if (sub === 'actions' && method === 'POST') {
        if (n === 'scheduleDeletion') {
          vault.scheduleDeletion(id, body.timeOfDeletion, ifMatch);
          return [200, undefined];
        }
        if (n === 'cancelDeletion') {
          vault.cancelDeletion(id, ifMatch);
          return [200, undefined];
        }
      } else if (sub === 'versions' && method === 'GET') {
        const s = vault.get(id);
        const items = [...s.versions].sort((a, b) => a.versionNumber - b.versionNumber);
        if (q.get('sortOrder') === 'DESC') items.reverse();
        return [200, page(items, q, res).map((v) => versionJson(s, v))];
      } else if (sub === 'version' && n !== undefined) {
        const number = Number(n);
        if (action === undefined && method === 'GET') {
          const s = vault.get(id);
          const v = s.versions.find((x) => x.versionNumber === number);
          if (!v) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
          return [200, versionJson(s, v)];
        }
        if (action === 'actions' && method === 'POST' && verb === 'scheduleDeletion') {
          vault.scheduleVersionDeletion(id, number, body.timeOfDeletion);
          return [200, undefined];
        }
        if (action === 'actions' && method === 'POST' && verb === 'cancelDeletion') {
          vault.cancelVersionDeletion(id, number);
          return [200, undefined];
        }
      }
    }
    if (api === '20190301' && rest[0] === 'secretbundles') {
      if (rest[1] === 'actions' && rest[2] === 'getByName' && method === 'POST') {
        const name = q.get('secretName');
        const vaultId = q.get('vaultId');
        const s = [...vault.secrets.values()].find((x) => x.secretName === name && x.vaultId === vaultId && (vault.touch(x), x.state !== 'DELETED'));
        if (!s) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
        return [200, bundleJson(s, bundleOf(s, q))];
      }
      if (rest[1] !== undefined && rest[2] === undefined && method === 'GET') {
        const s = vault.get(rest[1]);
        return [200, bundleJson(s, bundleOf(s, q))];
      }
    }
    throw new OciFault(404, 'NotFound', `No such operation: ${method} ${parts.join('/')}`);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      const raw = Buffer.concat(chunks);
      res.setHeader('opc-request-id', randomUUID());
      res.setHeader('content-type', 'application/json');
      const send = (status: number, payload: unknown) => {
        res.statusCode = status;
        res.end(payload === undefined ? '' : JSON.stringify(payload));
      };
      try {
        const problem = verifyOciSignature(req, raw, (keyId) => keys.get(keyId));
        if (problem) throw new OciFault(401, 'NotAuthenticated', `The required information to complete authentication was not provided or was incorrect: ${problem}.`);
        if (throttled > 0) {
          throttled -= 1;
          throw new OciFault(429, 'TooManyRequests', 'Too many requests for the tenancy.');
        }
        const url = new URL(req.url ?? '/', 'http://localhost');
        const parts = url.pathname
          .split('/')
          .filter((p) => p !== '')
          .map(decodeURIComponent);
        let body: Record<string, unknown> = {};
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
          } catch {
            throw new OciFault(400, 'InvalidParameter', 'The request body is not valid JSON.');
          }
        }
        const [status, payload] = route((req.method ?? 'GET').toUpperCase(), parts, url.searchParams, body, raw.toString('utf8'), req, res);
        send(status, payload);
      } catch (e) {
        if (e instanceof OciFault) send(e.status, { code: e.code, message: e.message });
        else send(500, { code: 'InternalServerError', message: 'internal error' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    vault,
    throttle: (n) => {
      throttled = n;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function opt(key: string, q: URLSearchParams): Record<string, string> {
  const v = q.get(key);
  return v === null ? {} : { [key]: v };
}
