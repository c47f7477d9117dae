/**
 * SigV4 verification for the local Secrets Manager server: recomputes the signature of a request
 * from its Authorization header, its signed headers and its body with the secret key of the access
 * key it names (AWS Signature Version 4, "Create a signed AWS API request"), and says why a
 * request is refused in the error shape the AWS front end uses.
 *
 * @example
 * ```ts
 * const refusal = verifySigV4({ method: 'POST', path: '/', headers: req.headers, body }, { AKIDTEST: 'secret' });
 * if (refusal) respond(refusal.status, { __type: refusal.type, message: refusal.message });
 * ```
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Why a request is refused: the status, `__type` and message AWS answers with. */
export interface SigV4Refusal {
  status: number;
  type: string;
  message: string;
}

export interface SignedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function canonicalUri(path: string): string {
  const bare = path.split('?')[0] ?? '/';
  return bare
    .split('/')
    .map((s) => encodeURIComponent(decodeURIComponent(s)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

function canonicalQuery(path: string): string {
  const q = path.includes('?') ? path.slice(path.indexOf('?') + 1) : '';
  if (q === '') return '';
  const pairs = [...new URLSearchParams(q)].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const);
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Checks a request's SigV4 signature against `keys` (access key id → secret access key); null when
 * it holds, else the refusal AWS would answer with.
 */
export function verifySigV4(req: SignedRequest, keys: Readonly<Record<string, string>>, service = 'secretsmanager'): SigV4Refusal | null {
  const auth = headerValue(req.headers, 'authorization');
  if (auth === undefined) return { status: 400, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const m = AUTH.exec(auth);
  if (!m) return { status: 400, type: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.` };
  const [, credential, signedHeaderList, signature] = m as unknown as [string, string, string, string];
  const [accessKeyId, date, region, scopeService, terminator] = credential.split('/');
  if (accessKeyId === undefined || date === undefined || region === undefined || scopeService !== service || terminator !== 'aws4_request') {
    return { status: 400, type: 'IncompleteSignatureException', message: `Credential should be scoped to correct service: '${service}'.` };
  }
  const secret = keys[accessKeyId];
  if (secret === undefined) return { status: 400, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (amzDate === undefined || !amzDate.startsWith(date)) {
    return { status: 400, type: 'IncompleteSignatureException', message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.' };
  }
  const names = signedHeaderList.split(';');
  if (!names.includes('host')) return { status: 400, type: 'IncompleteSignatureException', message: "'Host' must be a signed header." };
  const canonicalHeaders = names.map((n) => `${n}:${(headerValue(req.headers, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = sha256(req.body);
  const declared = headerValue(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash && declared !== 'UNSIGNED-PAYLOAD') {
    return { status: 400, type: 'InvalidSignatureException', message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  }
  const canonicalRequest = [req.method, canonicalUri(req.path), canonicalQuery(req.path), canonicalHeaders, signedHeaderList, declared ?? payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      status: 400,
      type: 'InvalidSignatureException',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return null;
}
