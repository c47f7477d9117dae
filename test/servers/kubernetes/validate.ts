/**
 * The validation the API server applies to what the local server stores: object names
 * (DNS-1123 subdomains), label keys and values, the annotations' total size, and Secret data
 * (base64 values, key names, 1 MiB in all, `immutable`). Failures are 400 BadRequest or
 * 422 Invalid Status objects whose messages name fields and keys, never values.
 *
 * @example
 * ```ts
 * validateMeta('Secret', { name: 'db', labels: { app: 'api' } });
 * ```
 */
import type { Json } from './patch.js';
import { ApiFailure, badRequest, invalid } from './status.js';

type JsonObject = { [key: string]: Json };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Most bytes of a Secret's data (decoded), as the API server enforces. */
export const MAX_SECRET_BYTES = 1024 * 1024;
/** Most bytes of an object's annotations (keys and values). */
export const MAX_ANNOTATION_BYTES = 256 * 1024;

/** True for a DNS-1123 subdomain (object names of Secrets, Deployments, ...). */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && name.split('.').every((part) => DNS1123_LABEL.test(part));
}

function labelKeyProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== null && !isDnsSubdomain(prefix)) return 'prefix part must be a DNS-1123 subdomain';
  if (name.length > 63 || !LABEL_NAME.test(name)) return "name part must consist of alphanumeric characters, '-', '_' or '.', at most 63";
  return null;
}

const strings = (v: Json | undefined): Record<string, Json> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});

/** Checks name, labels and annotations of `meta`. */
export function validateMeta(kind: string, meta: JsonObject): void {
  const name = typeof meta.name === 'string' ? meta.name : '';
  const causes: { field: string; message: string }[] = [];
  if (!isDnsSubdomain(name)) causes.push({ field: 'metadata.name', message: "Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'" });
  for (const [k, v] of Object.entries(strings(meta.labels))) {
    const problem = labelKeyProblem(k);
    if (problem) causes.push({ field: `metadata.labels`, message: `Invalid value: "${k}": ${problem}` });
    if (typeof v !== 'string' || (v !== '' && (v.length > 63 || !LABEL_NAME.test(v))))
      causes.push({ field: `metadata.labels`, message: `Invalid value for label "${k}": must be 63 characters or less, alphanumeric, '-', '_' or '.'` });
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(strings(meta.annotations))) {
    const problem = labelKeyProblem(k);
    if (problem) causes.push({ field: 'metadata.annotations', message: `Invalid value: "${k}": ${problem}` });
    if (typeof v !== 'string') causes.push({ field: 'metadata.annotations', message: `the annotation "${k}" must be a string` });
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  }
  if (annotationBytes > MAX_ANNOTATION_BYTES) causes.push({ field: 'metadata.annotations', message: `Too long: must have at most ${MAX_ANNOTATION_BYTES} bytes` });
  if (causes.length > 0) throw new ApiFailure(invalid(kind, name, causes));
}

/**
 * Folds `stringData` into `data` (as the API server does on write), then checks keys, base64 and
 * the total size; and, for an `immutable` Secret, that `data` did not change.
 */
export function normalizeSecret(secret: JsonObject, previous: JsonObject | null): void {
  const name = String(strings(secret.metadata).name ?? '');
  const data: Record<string, Json> = { ...strings(secret.data) };
  for (const [k, v] of Object.entries(strings(secret.stringData))) data[k] = Buffer.from(typeof v === 'string' ? v : '', 'utf8').toString('base64');
  delete secret.stringData;
  const causes: { field: string; message: string }[] = [];
  let bytes = 0;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || !BASE64.test(v)) throw new ApiFailure(badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data["${k}"]`));
    if (!SECRET_KEY.test(k) || k === '.' || k === '..' || k.length > 253)
      causes.push({ field: `data[${k}]`, message: "Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.'" });
    bytes += Buffer.from(v, 'base64').length;
  }
  if (bytes > MAX_SECRET_BYTES) causes.push({ field: 'data', message: `Too long: must have at most ${MAX_SECRET_BYTES} bytes` });
  if (previous !== null && previous.immutable === true) {
    if (JSON.stringify(previous.data ?? {}) !== JSON.stringify(data)) causes.push({ field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' });
    if (secret.immutable !== true) causes.push({ field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
  }
  if (causes.length > 0) throw new ApiFailure(invalid('Secret', name, causes));
  if (Object.keys(data).length > 0) secret.data = data;
  else delete secret.data;
  if (typeof secret.type !== 'string') secret.type = previous && typeof previous.type === 'string' ? previous.type : 'Opaque';
  else if (previous && previous.type !== secret.type) throw new ApiFailure(invalid('Secret', name, [{ field: 'type', message: 'Invalid value: field is immutable' }]));
}
