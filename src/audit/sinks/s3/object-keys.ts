/**
 * Where the S3 audit sink puts things in its bucket: `s3://bucket/prefix` parsed, and the
 * deterministic object keys (a retry of the same batch after a crash names the same object):
 * `<prefix>/events/<first seq>-<last seq>.jsonl` and `<prefix>/checkpoints/<size>.json`, numbers
 * zero-padded to 16 digits (any safe integer) so that keys list in log order.
 *
 * @example
 * ```ts
 * parseBucketUrl('s3://audit-archive/keyturn/prod'); // { bucket: 'audit-archive', prefix: 'keyturn/prod' }
 * eventsKey('keyturn/prod', 0, 499);   // 'keyturn/prod/events/0000000000000000-0000000000000499.jsonl'
 * checkpointKey('keyturn/prod', 1000); // 'keyturn/prod/checkpoints/0000000000001000.json'
 * ```
 */
import { KeyturnError } from '../../../core/errors.js';

export interface BucketLocation {
  readonly bucket: string;
  /** No leading or trailing slash; '' for the bucket's root. */
  readonly prefix: string;
}

/** S3 bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, a letter or digit at each end. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://bucket[/prefix]`; KT_CONFIG_INVALID otherwise. */
export function parseBucketUrl(text: string): BucketLocation {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  const bucket = m?.[1] ?? '';
  if (m === null || !BUCKET.test(bucket)) {
    throw new KeyturnError('KT_CONFIG_INVALID', `KEYTURN_AUDIT_S3_BUCKET: "${text}" is not s3://bucket/prefix with a valid bucket name`);
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix };
}

const PAD = 16;
const pad = (n: number): string => String(n).padStart(PAD, '0');
const under = (prefix: string, rest: string): string => (prefix === '' ? rest : `${prefix}/${rest}`);

/** The folder of event batches. */
export function eventsFolder(prefix: string): string {
  return under(prefix, 'events/');
}

/** The folder of checkpoints. */
export function checkpointsFolder(prefix: string): string {
  return under(prefix, 'checkpoints/');
}

/** The key of the batch of events `first` … `last` (inclusive). */
export function eventsKey(prefix: string, first: number, last: number): string {
  return `${eventsFolder(prefix)}${pad(first)}-${pad(last)}.jsonl`;
}

/** The key of the checkpoint of tree size `size`. */
export function checkpointKey(prefix: string, size: number): string {
  return `${checkpointsFolder(prefix)}${pad(size)}.json`;
}
