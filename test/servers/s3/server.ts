/**
 * A local S3-compatible server for the audit S3 sink's tests (node:http, in process): the S3 REST
 * API as the S3 Smithy model (aws/api-models-aws s3-2006-03-01.json) and the official SDK define
 * it, path-style (`/bucket/key`) and virtual-host style (`bucket.localhost:port`), every request
 * signed with SigV4 (sigv4.ts). Operations: CreateBucket (`x-amz-bucket-object-lock-enabled`),
 * PutObject (put-object.ts: checksums, Object Lock, `If-None-Match: *`, storage class),
 * GetObject, HeadObject, GetObjectRetention (`?retention`), ListObjectsV2 (`?list-type=2`:
 * prefix, start-after, continuation-token, max-keys) and DeleteObject (refused while retention
 * holds; GOVERNANCE yields to `x-amz-bypass-governance-retention: true`). Errors are S3's XML
 * documents. Fault switches: `slowDown(n)` answers the next n requests 503 SlowDown, `hang(n)`
 * never answers them. See README.md.
 *
 * @example
 * ```ts
 * const s3 = await startS3Server({ credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } });
 * s3.createBucket('audit', { objectLock: true });
 * const client = new S3Client({ endpoint: s3.url, region: 'us-east-1', forcePathStyle: true });
 * await s3.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { checkPut, withBody, type S3Error, type StoredObject } from './put-object.js';
import { verifySigV4, type S3Credentials } from './sigv4.js';
import { S3_NS, el, errorXml } from './xml.js';

export interface S3ServerOptions {
  readonly credentials: S3Credentials;
  /** The service's clock (retention, Last-Modified); default the system clock. */
  readonly clock?: { now(): number };
}

export interface S3Bucket {
  readonly objectLock: boolean;
  readonly objects: Map<string, StoredObject>;
}

/** One request as the server saw it (for tests asserting what the client sent). */
export interface SeenRequest {
  readonly method: string;
  readonly bucket: string | null;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly status: number;
}

export interface S3Server {
  /** `http://127.0.0.1:port` (path-style). */
  readonly url: string;
  /** `http://localhost:port`: with forcePathStyle off the SDK sends `bucket.localhost:port`. */
  readonly localhostUrl: string;
  readonly buckets: Map<string, S3Bucket>;
  readonly requests: SeenRequest[];
  createBucket(name: string, options?: { objectLock?: boolean }): void;
  /** Answers the next `count` requests 503 SlowDown (Infinity: until `clearFaults`). */
  slowDown(count?: number): void;
  /** Never answers the next `count` requests (Infinity: until `clearFaults`, which drops them). */
  hang(count?: number): void;
  /** Requests held by `hang` whose connection the client has not closed yet. */
  pending(): number;
  clearFaults(): void;
  /** Replaces an object's bytes behind the service's back (a test's tampering): its ETag and checksums are recomputed, its lock kept. */
  tamper(bucket: string, key: string, body: Buffer): void;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and an ephemeral port. */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const clock = options.clock ?? { now: () => Date.now() };
  const buckets = new Map<string, S3Bucket>();
  const requests: SeenRequest[] = [];
  let slowDownLeft = 0;
  let hangLeft = 0;
  const held = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let seen: { bucket: string | null; key: string | null } = { bucket: null, key: null };
      try {
        seen = handle(req, res, raw);
      } catch (e) {
        sendError(req, res, { status: 500, code: 'InternalError', message: (e as Error).message });
      }
      requests.push({ method: req.method ?? '', ...seen, headers: { ...req.headers }, status: res.statusCode });
    });
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): { bucket: string | null; key: string | null } {
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://local');
    const { bucket, key } = address(req.headers.host ?? '', url.pathname);
    const where = { bucket, key };
    if (hangLeft > 0) {
      hangLeft--;
      held.add(res);
      res.on('close', () => held.delete(res));
      return where;
    }
    if (slowDownLeft > 0) {
      slowDownLeft--;
      sendError(req, res, { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
      return where;
    }
    const problem = verifySigV4(req.method ?? '', rawUrl, req.headers, options.credentials, Date.now());
    if (problem !== null) {
      sendError(req, res, { status: 403, ...problem });
      return where;
    }
    if (bucket === null) {
      sendError(req, res, { status: 501, code: 'NotImplemented', message: 'ListBuckets is not implemented by the local server' });
      return where;
    }
    const method = req.method ?? '';
    if (key === null && method === 'PUT') {
      if (buckets.has(bucket)) sendError(req, res, { status: 409, code: 'BucketAlreadyOwnedByYou', message: 'Your previous request to create the named bucket succeeded and you already own it.' });
      else {
        buckets.set(bucket, { objectLock: String(req.headers['x-amz-bucket-object-lock-enabled']).toLowerCase() === 'true', objects: new Map() });
        res.setHeader('location', `/${bucket}`);
        send(res, 200);
      }
      return where;
    }
    const b = buckets.get(bucket);
    if (b === undefined) {
      sendError(req, res, { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' });
      return where;
    }
    if (key === null) {
      if (method === 'GET' && url.searchParams.get('list-type') === '2') listObjectsV2(res, bucket, b, url.searchParams);
      else sendError(req, res, { status: 501, code: 'NotImplemented', message: `${method} on a bucket is not implemented by the local server` });
      return where;
    }
    const existing = b.objects.get(key);
    switch (method) {
      case 'PUT': {
        if (url.searchParams.has('retention') || url.searchParams.has('partNumber') || req.headers['x-amz-copy-source'] !== undefined) {
          sendError(req, res, { status: 501, code: 'NotImplemented', message: 'only a plain PutObject is implemented by the local server' });
          break;
        }
        const out = checkPut({ headers: req.headers, raw, objectLockEnabled: b.objectLock, existing, now: clock.now() });
        if ('error' in out) {
          sendError(req, res, out.error);
          break;
        }
        b.objects.set(key, out.object);
        res.setHeader('etag', out.object.etag);
        for (const [alg, value] of Object.entries(out.object.checksums)) res.setHeader(`x-amz-checksum-${alg}`, value);
        if (Object.keys(out.object.checksums).length > 0) res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
        send(res, 200);
        break;
      }
      case 'GET':
      case 'HEAD': {
        if (existing === undefined) {
          sendError(req, res, { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' });
          break;
        }
        if (url.searchParams.has('retention')) {
          if (existing.retainUntil === null) sendError(req, res, { status: 404, code: 'NoSuchObjectLockConfiguration', message: 'The specified object does not have a ObjectLock configuration' });
          else sendXml(res, `<Retention xmlns="${S3_NS}">${el('Mode', existing.lockMode ?? '')}${el('RetainUntilDate', new Date(existing.retainUntil).toISOString())}</Retention>`);
          break;
        }
        if (method === 'GET' && (existing.storageClass === 'GLACIER' || existing.storageClass === 'DEEP_ARCHIVE')) {
          sendError(req, res, { status: 403, code: 'InvalidObjectState', message: "The operation is not valid for the object's storage class" });
          break;
        }
        objectHeaders(req, res, existing);
        res.statusCode = 200;
        res.end(method === 'GET' ? existing.body : undefined);
        break;
      }
      case 'DELETE': {
        const bypass = String(req.headers['x-amz-bypass-governance-retention']).toLowerCase() === 'true';
        const held = existing?.retainUntil != null && existing.retainUntil > clock.now() && !(existing.lockMode === 'GOVERNANCE' && bypass);
        if (held) {
          sendError(req, res, { status: 403, code: 'AccessDenied', message: 'Access Denied because object protected by object lock.' });
          break;
        }
        b.objects.delete(key);
        send(res, 204);
        break;
      }
      default:
        sendError(req, res, { status: 405, code: 'MethodNotAllowed', message: 'The specified method is not allowed against this resource.' });
    }
    return where;
  }

  /** Bucket and key from the Host (virtual-host style) or the path (path-style). */
  function address(host: string, pathname: string): { bucket: string | null; key: string | null } {
    const hostname = host.replace(/:\d+$/, '');
    const segments = pathname.split('/').slice(1);
    const decode = (s: string): string => decodeURIComponent(s);
    if (isIP(hostname) === 0 && hostname.includes('.')) {
      const first = hostname.slice(0, hostname.indexOf('.'));
      const key = segments.join('/');
      return { bucket: first, key: key === '' ? null : decode(key) };
    }
    const bucket = segments[0] ?? '';
    const key = segments.slice(1).join('/');
    return { bucket: bucket === '' ? null : decode(bucket), key: key === '' ? null : decode(key) };
  }

  function objectHeaders(req: IncomingMessage, res: ServerResponse, o: StoredObject): void {
    res.setHeader('content-length', String(o.body.length));
    res.setHeader('content-type', o.contentType);
    res.setHeader('etag', o.etag);
    res.setHeader('last-modified', new Date(o.lastModified).toUTCString());
    res.setHeader('accept-ranges', 'bytes');
    if (o.storageClass !== 'STANDARD') res.setHeader('x-amz-storage-class', o.storageClass);
    if (o.lockMode !== null && o.retainUntil !== null) {
      res.setHeader('x-amz-object-lock-mode', o.lockMode);
      res.setHeader('x-amz-object-lock-retain-until-date', new Date(o.retainUntil).toISOString());
    }
    if (String(req.headers['x-amz-checksum-mode']).toUpperCase() === 'ENABLED' && Object.keys(o.checksums).length > 0) {
      for (const [alg, value] of Object.entries(o.checksums)) res.setHeader(`x-amz-checksum-${alg}`, value);
      res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
    }
  }

  function listObjectsV2(res: ServerResponse, name: string, b: S3Bucket, q: URLSearchParams): void {
    const prefix = q.get('prefix') ?? '';
    const startAfter = q.get('start-after') ?? '';
    const token = q.get('continuation-token');
    const after = token !== null ? Buffer.from(token, 'base64url').toString('utf8') : startAfter;
    const maxKeys = Math.min(1000, Math.max(0, Number(q.get('max-keys') ?? '1000')));
    const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = b.objects.get(k) as StoredObject;
        const checksum = Object.keys(o.checksums).map((a) => el('ChecksumAlgorithm', a.toUpperCase()));
        return `<Contents>${el('Key', k)}${el('LastModified', new Date(o.lastModified).toISOString())}${el('ETag', o.etag)}${checksum.join('')}${el('Size', o.body.length)}${el('StorageClass', o.storageClass)}</Contents>`;
      })
      .join('');
    const next = truncated ? el('NextContinuationToken', Buffer.from(page[page.length - 1] as string, 'utf8').toString('base64url')) : '';
    sendXml(
      res,
      `<ListBucketResult xmlns="${S3_NS}">${el('Name', name)}${el('Prefix', prefix)}${startAfter === '' ? '' : el('StartAfter', startAfter)}${token === null ? '' : el('ContinuationToken', token)}${el('KeyCount', page.length)}${el('MaxKeys', maxKeys)}${el('IsTruncated', truncated)}${contents}${next}</ListBucketResult>`,
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    localhostUrl: `http://localhost:${port}`,
    buckets,
    requests,
    createBucket(name, opts = {}) {
      buckets.set(name, { objectLock: opts.objectLock ?? false, objects: new Map() });
    },
    slowDown(count = Number.POSITIVE_INFINITY) {
      slowDownLeft = count;
    },
    hang(count = Number.POSITIVE_INFINITY) {
      hangLeft = count;
    },
    pending: () => held.size,
    clearFaults() {
      slowDownLeft = 0;
      hangLeft = 0;
      for (const res of held) res.destroy();
      held.clear();
    },
    tamper(bucket, key, body) {
      const b = buckets.get(bucket);
      const o = b?.objects.get(key);
      if (b === undefined || o === undefined) throw new Error(`no object ${bucket}/${key}`);
      b.objects.set(key, withBody(o, body));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('x-amz-request-id', requestId());
  res.end();
}

function sendXml(res: ServerResponse, body: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'application/xml');
  res.setHeader('x-amz-request-id', requestId());
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error): void {
  const id = requestId();
  res.statusCode = error.status;
  res.setHeader('x-amz-request-id', id);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/xml');
  res.end(errorXml(error.code, error.message, (req.url ?? '/').split('?')[0] as string, id));
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}
