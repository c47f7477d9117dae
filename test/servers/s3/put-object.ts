/**
 * PutObject's checks in the local S3 server, in S3's order: the body (aws-chunked decoded, its
 * `x-amz-content-sha256` digest), the checksums (Content-MD5, `x-amz-checksum-*` as a header or
 * an aws-chunked trailer; BadDigest on a mismatch), the storage class, Object Lock (refused on a
 * bucket without it; mode and date together; a content checksum required; a date in the future),
 * then the conditional write (`If-None-Match: *`: 412 when the key exists). Returns the object to
 * store or the S3 error to answer.
 *
 * @example
 * ```ts
 * const out = checkPut({ headers, raw, bucket, existing, now: clock.now() });
 * if ('error' in out) reply(out.error); else bucket.objects.set(key, out.object);
 * ```
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { decodeAwsChunked } from './aws-chunked.js';

export interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  /** Full-object checksums the writer sent, by algorithm (`sha256` → base64), verified. */
  readonly checksums: Readonly<Record<string, string>>;
  readonly lastModified: number;
  readonly storageClass: string;
  readonly contentType: string;
  readonly lockMode: 'GOVERNANCE' | 'COMPLIANCE' | null;
  readonly retainUntil: number | null;
}

export interface S3Error {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE'];

/** Algorithms whose header value the server recomputes; others are refused (501). */
const DIGESTS: Record<string, (b: Buffer) => string> = {
  sha256: (b) => createHash('sha256').update(b).digest('base64'),
  sha1: (b) => createHash('sha1').update(b).digest('base64'),
  crc32: (b) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(b) >>> 0);
    return out.toString('base64');
  },
};

/** The object with other bytes, its ETag and checksums recomputed (as if another writer put them). */
export function withBody(o: StoredObject, body: Buffer): StoredObject {
  const checksums = Object.fromEntries(Object.keys(o.checksums).map((a) => [a, (DIGESTS[a] as (b: Buffer) => string)(body)]));
  return { ...o, body, etag: `"${createHash('md5').update(body).digest('hex')}"`, checksums };
}

const err = (status: number, code: string, message: string): { error: S3Error } => ({ error: { status, code, message } });

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export interface PutInput {
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly objectLockEnabled: boolean;
  readonly existing: StoredObject | undefined;
  readonly now: number;
}

export function checkPut(input: PutInput): { object: StoredObject } | { error: S3Error } {
  const { headers, now } = input;
  const contentSha = header(headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  let body = input.raw;
  let trailers: Record<string, string> = {};
  const encoding = (header(headers, 'content-encoding') ?? '').split(',').map((s) => s.trim());
  if (contentSha.startsWith('STREAMING-') || encoding.includes('aws-chunked')) {
    try {
      ({ body, trailers } = decodeAwsChunked(input.raw));
    } catch (e) {
      return err(400, 'IncompleteBody', (e as Error).message);
    }
    const decoded = header(headers, 'x-amz-decoded-content-length');
    if (decoded !== undefined && Number(decoded) !== body.length) return err(400, 'IncompleteBody', 'x-amz-decoded-content-length does not match the decoded body');
  } else if (/^[0-9a-f]{64}$/.test(contentSha) && createHash('sha256').update(body).digest('hex') !== contentSha) {
    return err(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const md5 = header(headers, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) return err(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  const checksums: Record<string, string> = {};
  const given = { ...Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('x-amz-checksum-') && k !== 'x-amz-checksum-type')), ...trailers };
  for (const [name, value] of Object.entries(given)) {
    if (!name.startsWith('x-amz-checksum-') || name === 'x-amz-checksum-type') continue;
    const algorithm = name.slice('x-amz-checksum-'.length);
    const digest = DIGESTS[algorithm];
    if (digest === undefined) return err(501, 'NotImplemented', `the local server does not compute ${algorithm} checksums`);
    const text = Array.isArray(value) ? value.join(',') : String(value);
    if (digest(body) !== text) return err(400, 'BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    checksums[algorithm] = text;
  }

  const storageClass = header(headers, 'x-amz-storage-class') ?? 'STANDARD';
  if (!STORAGE_CLASSES.includes(storageClass)) return err(400, 'InvalidStorageClass', 'The storage class you specified is not valid');

  const mode = header(headers, 'x-amz-object-lock-mode');
  const until = header(headers, 'x-amz-object-lock-retain-until-date');
  let retainUntil: number | null = null;
  if (mode !== undefined || until !== undefined) {
    if (!input.objectLockEnabled) return err(400, 'InvalidRequest', 'Bucket is missing Object Lock Configuration');
    if (mode === undefined || until === undefined) return err(400, 'InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
    if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') return err(400, 'InvalidArgument', 'Unknown wormMode directive.');
    if (md5 === undefined && Object.keys(checksums).length === 0) {
      return err(400, 'InvalidRequest', 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters');
    }
    retainUntil = Date.parse(until);
    if (Number.isNaN(retainUntil)) return err(400, 'InvalidArgument', 'The retain until date is not a valid date');
    if (retainUntil <= now) return err(400, 'InvalidArgument', 'The retain until date must be in the future!');
  }

  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') return err(501, 'NotImplemented', 'If-None-Match supports only *');
  if (ifNoneMatch === '*' && input.existing !== undefined) return err(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  if (input.existing?.retainUntil != null && input.existing.retainUntil > now) {
    // Real S3 keeps the locked version and adds a new one (Object Lock needs versioning); this
    // server keeps one version per key, so it refuses the overwrite instead (README.md).
    return err(403, 'AccessDenied', 'Access Denied because object protected by object lock.');
  }

  return {
    object: {
      body,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      checksums,
      lastModified: now,
      storageClass,
      contentType: header(headers, 'content-type') ?? 'binary/octet-stream',
      lockMode: (mode as StoredObject['lockMode'] | undefined) ?? null,
      retainUntil,
    },
  };
}
