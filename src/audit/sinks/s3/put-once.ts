/**
 * Writes one object to the audit bucket exactly once: PutObject with `If-None-Match: *` (a key
 * is never overwritten), a SHA-256 content checksum (`x-amz-checksum-sha256`, which S3 verifies
 * and Object Lock requires), the Object Lock retention (mode and retain-until date) and the
 * storage class. When the key already exists (412 PreconditionFailed: a retry after a crash, or
 * another process delivering the same batch) the existing object's SHA-256 is read with
 * HeadObject (it works in every storage class, Glacier included): the same checksum means this
 * content is already there (delivered); another checksum, or none, is a loud KT_AUDIT_SINK_FAILED
 * (the bucket's copy differs from the log: tampered with, or written by another log).
 *
 * @example
 * ```ts
 * const outcome = await putOnce(client, sdk, { bucket, key, body, contentType: 'application/x-ndjson', lock, storageClass }, signal);
 * outcome; // 'written' | 'already there'
 * ```
 */
import { createHash } from 'node:crypto';
import type * as S3SdkModule from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { KeyturnError } from '../../../core/errors.js';

/** The SDK module, imported lazily by the sink. */
export type S3Sdk = typeof S3SdkModule;

export interface ObjectLock {
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  readonly retainUntil: Date;
}

export interface PutOnceInput {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string;
  /** Null: no retention headers (the bucket's default retention applies, if it has one). */
  readonly lock: ObjectLock | null;
  readonly storageClass: string | undefined;
}

export type PutOutcome = 'written' | 'already there';

/** Writes the object unless the same bytes are there already; throws KT_AUDIT_SINK_FAILED otherwise. */
export async function putOnce(client: S3Client, sdk: S3Sdk, input: PutOnceInput, signal: AbortSignal): Promise<PutOutcome> {
  const sha256 = createHash('sha256').update(input.body).digest('base64');
  const where = `s3://${input.bucket}/${input.key}`;
  try {
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Body: input.body,
        ContentType: input.contentType,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256,
        IfNoneMatch: '*',
        ...(input.lock === null ? {} : { ObjectLockMode: input.lock.mode, ObjectLockRetainUntilDate: input.lock.retainUntil }),
        ...(input.storageClass === undefined ? {} : { StorageClass: input.storageClass as never }),
      }),
      { abortSignal: signal },
    );
    return 'written';
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    if (statusOf(e) !== 412) throw sinkError(where, 'PutObject', e);
  }
  let existing: string | undefined;
  try {
    const head = await client.send(new sdk.HeadObjectCommand({ Bucket: input.bucket, Key: input.key, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
    existing = head.ChecksumSHA256;
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw sinkError(where, 'HeadObject', e);
  }
  if (existing === sha256) return 'already there';
  throw new KeyturnError(
    'KT_AUDIT_SINK_FAILED',
    `${where} already exists with other content (SHA-256 ${existing ?? 'unknown'}, the log's batch has ${sha256}): the bucket's copy was changed or written by another log; it is kept (never overwritten) and this sink stops here until someone looks`,
    { details: { key: input.key, existingSha256: existing ?? null, expectedSha256: sha256 } },
  );
}

/** The HTTP status of an SDK error, if it has one. */
export function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** KT_AUDIT_SINK_FAILED naming the operation, the S3 error code and its message. */
export function sinkError(where: string, operation: string, e: unknown): KeyturnError {
  const err = e as { name?: string; message?: string };
  const status = statusOf(e);
  return new KeyturnError('KT_AUDIT_SINK_FAILED', `${operation} ${where}: ${err.name ?? 'Error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${err.message ?? String(e)}`, { cause: e });
}
