/**
 * AWS Signature Version 4 verification for the local S3 server: the `Authorization` header form
 * (`AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/s3/aws4_request, SignedHeaders=…,
 * Signature=…`), as S3 computes it: the canonical URI is the path exactly as sent (S3 neither
 * normalizes nor double-encodes it), the canonical query string is every parameter re-encoded
 * (RFC 3986) and sorted, and the payload hash is the `x-amz-content-sha256` header as sent (a
 * hex digest, `UNSIGNED-PAYLOAD` or a `STREAMING-…` marker; the server checks a hex digest
 * against the body separately).
 *
 * @example
 * ```ts
 * const problem = verifySigV4(req, rawUrl, { accessKeyId: 'AKIA…', secretAccessKey: '…' }, Date.now());
 * if (problem) reply(403, problem.code, problem.message);
 * ```
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SigV4Problem {
  /** S3's error code: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed. */
  readonly code: string;
  readonly message: string;
}

/** Parsed `Authorization` header; also what the streaming chunk signatures would need. */
export interface SigV4Auth {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** Parses the header; null when it is not a SigV4 header. */
export function parseAuthorization(header: string | undefined): SigV4Auth | null {
  const m = AUTH.exec(header ?? '');
  if (m === null) return null;
  const [, accessKeyId, date, region, service, signed, signature] = m as unknown as [string, string, string, string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders: signed.split(';'), signature };
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case), as SigV4 wants. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? '' : p.slice(eq + 1);
      return [encode(decodeURIComponent(k.replace(/\+/g, '%20'))), encode(decodeURIComponent(v.replace(/\+/g, '%20')))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
}

const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();

/** The SigV4 signing key of a secret for one day, region and service. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/**
 * Checks the request's header signature against `credentials`; null when it holds. The clock
 * (`now`, ms) bounds `x-amz-date` to ±15 minutes, as S3 does.
 */
export function verifySigV4(method: string, rawUrl: string, headers: IncomingHttpHeaders, credentials: S3Credentials, now: number): SigV4Problem | null {
  const auth = parseAuthorization(headerValue(headers, 'authorization'));
  if (auth === null) return { code: 'AccessDenied', message: 'Anonymous or malformed authorization is not allowed (expected AWS4-HMAC-SHA256 header authorization)' };
  if (auth.accessKeyId !== credentials.accessKeyId) return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  const amzDate = headerValue(headers, 'x-amz-date') ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null || !amzDate.startsWith(auth.date)) return { code: 'AccessDenied', message: 'x-amz-date is missing or does not match the credential scope' };
  const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Math.abs(signedAt - now) > 15 * 60_000) return { code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  if (!auth.signedHeaders.includes('host')) return { code: 'AccessDenied', message: 'the host header must be signed' };
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  const canonicalHeaders = auth.signedHeaders.map((h) => `${h}:${headerValue(headers, h) ?? ''}\n`).join('');
  const payloadHash = headerValue(headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const canonicalRequest = [method, path, canonicalQuery(query), canonicalHeaders, auth.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const expected = createHmac('sha256', signingKey(credentials.secretAccessKey, auth.date, auth.region, auth.service))
    .update(stringToSign, 'utf8')
    .digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
  }
  return null;
}
