/**
 * OCI request signatures, checked the way OCI checks them: draft-cavage HTTP Signatures
 * (`Authorization: Signature version="1",keyId="tenancy/user/fingerprint",algorithm="rsa-sha256",
 * headers="date (request-target) host ...",signature="..."`), RSA-SHA256 over the listed headers,
 * with `x-content-sha256`, `content-length` and `content-type` required for POST/PUT bodies and
 * the body's SHA-256 checked against `x-content-sha256`.
 *
 * @example
 * ```ts
 * const problem = verifyOciSignature(req, body, (keyId) => keys.get(keyId));
 * if (problem) reply(401, { code: 'NotAuthenticated', message: problem });
 * ```
 */
import { createHash, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const FIELD = /([a-zA-Z]+)="([^"]*)"/g;
/** How far a request's date may be from the server's time (OCI allows 5 minutes). */
const MAX_SKEW_MS = 5 * 60_000;

/** The reason the request's signature does not check, or null when it does. */
export function verifyOciSignature(req: IncomingMessage, body: Buffer, keyFor: (keyId: string) => KeyObject | undefined): string | null {
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Signature ')) return 'the request is not signed';
  const fields = new Map<string, string>();
  for (const m of auth.slice('Signature '.length).matchAll(FIELD)) fields.set(m[1]!, m[2]!);
  const keyId = fields.get('keyId');
  const signature = fields.get('signature');
  const headers = (fields.get('headers') ?? 'date')
    .split(' ')
    .filter((h) => h !== '')
    .map((h) => h.toLowerCase());
  if (keyId === undefined || signature === undefined) return 'the signature has no keyId or signature';
  if ((fields.get('algorithm') ?? 'rsa-sha256') !== 'rsa-sha256') return 'the signature algorithm must be rsa-sha256';
  if (keyId.split('/').length !== 3) return 'the keyId must be tenancy/user/fingerprint';
  const key = keyFor(keyId);
  if (!key) return 'the key is not known';

  const method = (req.method ?? 'GET').toUpperCase();
  const required = ['(request-target)', 'host'];
  required.push(headers.includes('x-date') ? 'x-date' : 'date');
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') required.push('x-content-sha256', 'content-length', 'content-type');
  for (const name of required) if (!headers.includes(name)) return `the signature does not cover ${name}`;

  const lines: string[] = [];
  for (const name of headers) {
    if (name === '(request-target)') {
      lines.push(`(request-target): ${method.toLowerCase()} ${req.url ?? '/'}`);
      continue;
    }
    const value = req.headers[name];
    if (value === undefined) return `the signed header ${name} is missing`;
    lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
  }
  const verifier = createVerify('RSA-SHA256');
  verifier.update(lines.join('\n'));
  if (!verifier.verify(key, signature, 'base64')) return 'the signature does not match';

  const date = Date.parse(String(req.headers['x-date'] ?? req.headers.date ?? ''));
  if (!Number.isFinite(date) || Math.abs(Date.now() - date) > MAX_SKEW_MS) return 'the request date is missing or too far from the server time';
  if (headers.includes('x-content-sha256')) {
    if (createHash('sha256').update(body).digest('base64') !== req.headers['x-content-sha256']) return 'the body does not match x-content-sha256';
    if (Number(req.headers['content-length']) !== body.length) return 'the body does not match content-length';
  }
  return null;
}
