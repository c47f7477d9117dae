/**
 * The S3 audit sink: each batch of events is one object `<prefix>/events/<first>-<last>.jsonl`
 * (one `sinkLine` per event, JSON Lines) and each signed checkpoint one object
 * `<prefix>/checkpoints/<size>.json` (its `checkpointLine`), in any S3-compatible bucket (AWS S3
 * with Glacier storage classes, OCI Object Storage's S3 compatibility API, MinIO). Every object is
 * written once (put-once.ts: `If-None-Match: *`, a SHA-256 checksum, Object Lock retention until
 * now + `retentionDays` in `lockMode`, the storage class); a retry of the same batch after a crash
 * names the same key and counts the object already there as delivered when its checksum matches,
 * and fails loudly when it does not. Credentials come from the AWS SDK's default chain only
 * (environment, shared config and credentials files, SSO, web identity, ECS/EC2 roles). The SDK
 * is imported on first delivery. {@link S3Sink.readCheckpoints} lists and reads the checkpoint
 * objects back for `audit verify` (storage classes that need a restore, GLACIER and DEEP_ARCHIVE,
 * cannot be read back without one: use GLACIER_IR where that matters).
 *
 * @example
 * ```ts
 * const sink = new S3Sink({ url: 's3://audit-archive/keyturn', region: 'eu-west-1', retentionDays: 2555, lockMode: 'COMPLIANCE', storageClass: 'GLACIER_IR' });
 * await deliverSinks(audit, state, [sink], { timeoutMs: 5000, batch: 500 });
 * ```
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../../../core/clock.js';
import { systemClock } from '../../../core/clock.js';
import type { AuditSink, FoundCheckpoint, SinkCheckpoint, SinkRecord } from '../sink.js';
import { checkpointLine, noteOfLine, sinkLine } from '../sink.js';
import { checkpointKey, checkpointsFolder, eventsKey, parseBucketUrl, type BucketLocation } from './object-keys.js';
import { putOnce, sinkError, type ObjectLock, type S3Sdk } from './put-once.js';

export interface S3SinkOptions {
  /** `s3://bucket/prefix`. */
  readonly url: string;
  /** Unset: the SDK's (AWS_REGION, the profile's region). */
  readonly region?: string | undefined;
  /** An S3-compatible service's endpoint (OCI, MinIO, a local server); unset: AWS S3. */
  readonly endpoint?: string | undefined;
  /** Path-style requests (`endpoint/bucket/key`) instead of virtual-host style. */
  readonly pathStyle?: boolean;
  /** Object Lock retain-until = now + this many days; unset: no retention headers. */
  readonly retentionDays?: number | undefined;
  readonly lockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  /** e.g. GLACIER_IR, DEEP_ARCHIVE; unset: the bucket's default (STANDARD). */
  readonly storageClass?: string | undefined;
  /** SDK attempts per request (default the SDK's, 3). */
  readonly maxAttempts?: number;
  /** Where retain-until dates count from (default the system clock). */
  readonly clock?: Clock;
}

const DAY_MS = 86_400_000;

export class S3Sink implements AuditSink {
  readonly name: string;
  readonly #options: S3SinkOptions;
  readonly #location: BucketLocation;
  #client: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;

  constructor(options: S3SinkOptions) {
    this.#options = options;
    this.#location = parseBucketUrl(options.url);
    const { bucket, prefix } = this.#location;
    const url = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.name = `s3:${url}${options.endpoint === undefined ? '' : ` (${new URL(options.endpoint).origin})`}`;
  }

  async deliver(records: readonly SinkRecord[], signal: AbortSignal): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    const body = Buffer.from(records.map((r) => `${sinkLine(r)}\n`).join(''), 'utf8');
    await this.#put(eventsKey(this.#location.prefix, first.seq, last.seq), body, 'application/x-ndjson', signal);
  }

  async deliverCheckpoints(checkpoints: readonly SinkCheckpoint[], signal: AbortSignal): Promise<void> {
    for (const c of checkpoints) {
      signal.throwIfAborted();
      await this.#put(checkpointKey(this.#location.prefix, c.size), Buffer.from(`${checkpointLine(c)}\n`, 'utf8'), 'application/json', signal);
    }
  }

  /** Every checkpoint object in the bucket, smallest size first. */
  async readCheckpoints(): Promise<FoundCheckpoint[]> {
    const { client, sdk } = await this.#connect();
    const { bucket, prefix } = this.#location;
    const found: FoundCheckpoint[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: checkpointsFolder(prefix), ...(token === undefined ? {} : { ContinuationToken: token }) }));
      } catch (e) {
        throw sinkError(`s3://${bucket}/${checkpointsFolder(prefix)}`, 'ListObjectsV2', e);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const source = `s3://${bucket}/${object.Key}`;
        let text: string;
        try {
          const got = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: object.Key, ChecksumMode: 'ENABLED' }));
          text = (await got.Body?.transformToString('utf8')) ?? '';
        } catch (e) {
          throw sinkError(source, 'GetObject', e);
        }
        // One line per object; a changed object that is no checkpoint line is kept, so verifying it fails loudly.
        found.push({ note: noteOfLine(text.replace(/\n$/, '')) ?? text, source });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found;
  }

  async #put(key: string, body: Buffer, contentType: string, signal: AbortSignal): Promise<void> {
    const { client, sdk } = await this.#connect();
    const { retentionDays, lockMode, storageClass } = this.#options;
    const lock: ObjectLock | null = retentionDays === undefined ? null : { mode: lockMode ?? 'COMPLIANCE', retainUntil: new Date((this.#options.clock ?? systemClock).now() + retentionDays * DAY_MS) };
    await putOnce(client, sdk, { bucket: this.#location.bucket, key, body, contentType, lock, storageClass }, signal);
  }

  /** The SDK client, made on first use (the SDK module is loaded only then). */
  #connect(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    this.#client ??= import('@aws-sdk/client-s3').then((sdk) => {
      const { region, endpoint, pathStyle, maxAttempts } = this.#options;
      const client = new sdk.S3Client({
        ...(region === undefined ? {} : { region }),
        ...(endpoint === undefined ? {} : { endpoint }),
        forcePathStyle: pathStyle ?? false,
        ...(maxAttempts === undefined ? {} : { maxAttempts }),
      });
      return { client, sdk };
    });
    return this.#client;
  }
}
