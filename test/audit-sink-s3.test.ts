/**
 * The S3 audit sink through the official @aws-sdk/client-s3 against the local S3 server
 * (test/servers/s3, SigV4 verified): event batches and checkpoints land as objects with Object
 * Lock retention, a SHA-256 checksum and the storage class; a retry after a crash writes the same
 * keys and counts the objects already there as delivered; an object at a key holding other bytes
 * is reported loudly and never overwritten; the sink falls behind while the service answers 503
 * SlowDown and catches up after; the bucket's content verifies with the audit key alone, the way
 * an export does (`keyturn audit verify --file`), and `audit verify` reads its checkpoints back.
 * Credentials come from the SDK's default chain (here its environment variables).
 */
import { lookup } from 'node:dns';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, GetObjectRetentionCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkEvent, encodeEvent } from '../src/audit/event.js';
import { EXPORT_FORMAT, parseExport, verifyExport } from '../src/audit/export.js';
import { AuditLog } from '../src/audit/log.js';
import { deliverSinks, type DeliverOptions } from '../src/audit/sinks/deliver.js';
import { sinksConfigured } from '../src/audit/sinks/configured.js';
import { sinksFromSettings } from '../src/audit/sinks/from-settings.js';
import { readOutsideCheckpoints } from '../src/audit/sinks/outside-checkpoints.js';
import { checkpointKey, eventsKey, parseBucketUrl } from '../src/audit/sinks/s3/object-keys.js';
import { S3Sink, type S3SinkOptions } from '../src/audit/sinks/s3/s3-sink.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli } from './helpers/cli.js';
import { startS3Server, type S3Server } from './servers/s3/server.js';
import { sqliteState, tempDir, type TestState } from './helpers/state.js';

const OPTS: DeliverOptions = { timeoutMs: 20_000, batch: 50 };
const CREDENTIALS = { accessKeyId: 'AKIDKEYTURNLOCAL', secretAccessKey: 'local-s3-secret-for-tests' };
const DAY = 86_400_000;
const SAVED = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_EC2_METADATA_DISABLED'] as const;
const saved: Partial<Record<(typeof SAVED)[number], string>> = {};

// Credentials from the SDK's default chain: its first link, the environment.
beforeAll(() => {
  for (const k of SAVED) if (process.env[k] !== undefined) saved[k] = process.env[k];
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterAll(() => {
  for (const k of SAVED) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('S3 audit sink against the local S3 server', () => {
  let clock: ManualClock;
  let t: TestState;
  let audit: AuditLog;
  let s3: S3Server;
  let client: S3Client;

  beforeEach(async () => {
    clock = manualClock();
    t = await sqliteState(clock);
    audit = await AuditLog.open(t.state, t.ring, { clock, context: { actor: 'user:dana', source: 'cli', correlationId: null } });
    s3 = await startS3Server({ credentials: CREDENTIALS, clock });
    s3.createBucket('audit-archive', { objectLock: true });
    client = new S3Client({ endpoint: s3.url, region: 'eu-west-1', forcePathStyle: true, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await s3.close();
    await t.close();
  });

  const sinkOf = (over: Partial<S3SinkOptions> = {}): S3Sink =>
    new S3Sink({
      url: 's3://audit-archive/keyturn/prod',
      region: 'eu-west-1',
      endpoint: s3.url,
      pathStyle: true,
      retentionDays: 30,
      lockMode: 'COMPLIANCE',
      storageClass: 'GLACIER_IR',
      clock,
      ...over,
    });

  const events = (n: number) => audit.appendBatch(Array.from({ length: n }, (_, i) => ({ action: 'test.event', outcome: 'success' as const, path: `apps/p${i}` })));

  const keys = (): string[] => [...(s3.buckets.get('audit-archive')?.objects.keys() ?? [])].sort();
  const resetCursors = (to: number) => t.state.db.updateTable('audit_sink_cursors').set({ next_seq: to }).execute();

  it('writes event batches and checkpoints as objects with Object Lock retention, a SHA-256 checksum, If-None-Match and the storage class', async () => {
    await events(120);
    await audit.checkpoint();
    const sink = sinkOf();
    expect(sink.name).toBe(`s3:s3://audit-archive/keyturn/prod (${s3.url})`);
    const [report] = await deliverSinks(audit, t.state, [sink], OPTS);
    expect(report).toMatchObject({ delivered: 121, nextSeq: 121, behind: 0, error: null });
    const sizes = (await audit.checkpoints()).map((c) => c.size);
    expect(sizes).toContain(121);
    expect(keys()).toEqual([eventsKey('keyturn/prod', 0, 49), eventsKey('keyturn/prod', 50, 99), eventsKey('keyturn/prod', 100, 120), ...sizes.map((s) => checkpointKey('keyturn/prod', s))].sort());
    expect(keys()[0]).toBe('keyturn/prod/checkpoints/0000000000000001.json');

    const key = eventsKey('keyturn/prod', 50, 99);
    const head = await client.send(new HeadObjectCommand({ Bucket: 'audit-archive', Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ObjectLockMode: 'COMPLIANCE', StorageClass: 'GLACIER_IR', ContentType: 'application/x-ndjson' });
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBe(clock.now() + 30 * DAY);
    expect(head.ChecksumSHA256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const retention = await client.send(new GetObjectRetentionCommand({ Bucket: 'audit-archive', Key: checkpointKey('keyturn/prod', 121) }));
    expect(retention.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: new Date(clock.now() + 30 * DAY) });

    // What went over the wire: every PutObject was signed, conditional, checksummed and locked.
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBe(keys().length);
    for (const put of puts) {
      expect(put.status).toBe(200);
      expect(put.headers).toMatchObject({ 'if-none-match': '*', 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-storage-class': 'GLACIER_IR', 'x-amz-checksum-sha256': expect.any(String) });
      expect(String(put.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDKEYTURNLOCAL\/\d{8}\/eu-west-1\/s3\/aws4_request/);
    }

    // Retained objects cannot be deleted.
    await expect(client.send(new DeleteObjectCommand({ Bucket: 'audit-archive', Key: key }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(keys()).toContain(key);
    const lines = (await getText(client, key)).trim().split('\n');
    expect(lines).toHaveLength(50);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ id: expect.stringMatching(/^ev_50_/), seq: 50, action: 'test.event', path: 'apps/p49' });
  });

  it('a retry after a crash (cursors moved back) writes the same keys and counts the objects already there as delivered', async () => {
    await events(120);
    await audit.checkpoint();
    await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    const before = keys();
    const bodies = before.map((k) => s3.buckets.get('audit-archive')?.objects.get(k)?.etag);
    // The crash: objects written, cursors never moved (both the events' and the checkpoints').
    await resetCursors(0);
    s3.requests.length = 0;
    const [report] = await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    expect(report).toMatchObject({ delivered: 121, nextSeq: 121, behind: 0, error: null });
    expect(keys()).toEqual(before);
    expect(before.map((k) => s3.buckets.get('audit-archive')?.objects.get(k)?.etag)).toEqual(bodies);
    // Every PutObject was answered 412 and followed by a HeadObject of the same key.
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.status)).toEqual(before.map(() => 412));
    expect(
      s3.requests
        .filter((r) => r.method === 'HEAD')
        .map((r) => r.key)
        .sort(),
    ).toEqual(before);
  });

  it('an object at a batch key that holds other bytes is reported and kept; the sink stops there', async () => {
    await events(120);
    await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    const key = eventsKey('keyturn/prod', 50, 99);
    s3.tamper('audit-archive', key, Buffer.from('{"id":"ev_50_000000000000","forged":true}\n'));
    await t.state.db.updateTable('audit_sink_cursors').set({ next_seq: 50 }).where('name', 'not like', 'checkpoints@%').execute();
    const [report] = await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    expect(report).toMatchObject({ delivered: 0, nextSeq: 50, behind: 71 });
    expect(report?.error).toMatch(new RegExp(`^KT_AUDIT_SINK_FAILED: s3://audit-archive/${key} already exists with other content`));
    expect(await getText(client, key)).toContain('forged');
    const cursor = await t.state.db.selectFrom('audit_sink_cursors').selectAll().where('name', '=', sinkOf().name).executeTakeFirstOrThrow();
    expect(cursor).toMatchObject({ next_seq: 50, failures: 1 });
    expect(cursor.last_error).toContain('already exists with other content');
  });

  it('falls behind while the service answers 503 SlowDown and catches up after; one 503 is absorbed by the SDK retry', async () => {
    await events(80);
    s3.slowDown();
    const [down] = await deliverSinks(audit, t.state, [sinkOf({ maxAttempts: 2 })], OPTS);
    expect(down).toMatchObject({ delivered: 0, nextSeq: 0, behind: 81 });
    expect(down?.error).toMatch(/^KT_AUDIT_SINK_FAILED: PutObject s3:\/\/audit-archive\/keyturn\/prod\/.*SlowDown \(HTTP 503\)/);
    expect(keys()).toEqual([]);
    await events(10);
    s3.clearFaults();
    s3.slowDown(1);
    const [up] = await deliverSinks(audit, t.state, [sinkOf({ maxAttempts: 2 })], OPTS);
    expect(up).toMatchObject({ delivered: 91, nextSeq: 91, behind: 0, error: null });
    expect(s3.requests.filter((r) => r.status === 503).length).toBeGreaterThan(2);
    expect(keys().filter((k) => k.includes('/events/'))).toEqual([eventsKey('keyturn/prod', 0, 49), eventsKey('keyturn/prod', 50, 90)]);
  });

  it('a bucket that does not answer is abandoned after the delivery bound (the request aborted); the sink catches up later', async () => {
    await events(20);
    s3.hang();
    const [hung] = await deliverSinks(audit, t.state, [sinkOf()], { ...OPTS, timeoutMs: 300 });
    expect(hung).toMatchObject({
      delivered: 0,
      nextSeq: 0,
      behind: 21,
      error: expect.stringMatching(/^KT_AUDIT_SINK_FAILED: s3:s3:\/\/audit-archive\/keyturn\/prod .* did not take 21 event\(s\) within 300 ms$/),
    });
    // The abandoned PutObject was aborted: its connection is closed, not left open.
    await expect.poll(() => s3.pending(), { timeout: 20_000, interval: 10 }).toBe(0);
    s3.clearFaults();
    expect((await deliverSinks(audit, t.state, [sinkOf()], OPTS))[0]).toMatchObject({ delivered: 21, nextSeq: 21, error: null });
  });

  it("the bucket's objects verify with the audit log's public key alone, as an export does; a changed line is named", async () => {
    await events(120);
    await audit.checkpoint();
    await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    // Everything under the prefix, read through the SDK (ListObjectsV2 pages of 2, GetObject).
    const texts = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'audit-archive', Prefix: 'keyturn/prod/', MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) texts.set(o.Key as string, await getText(client, o.Key as string));
      token = page.NextContinuationToken;
    } while (token !== undefined);
    expect([...texts.keys()].sort()).toEqual(keys());

    const exportText = bucketAsExport(texts, audit.origin, audit.verifierKey);
    const result = verifyExport(parseExport(exportText), audit.verifierKey);
    expect(result.problems).toEqual([]);
    expect(result.latest?.size).toBe(121);

    const changed = exportText.replace('\\"path\\":\\"apps/p7\\"', '\\"path\\":\\"apps/p8\\"');
    expect(changed).not.toBe(exportText);
    expect(verifyExport(parseExport(changed), audit.verifierKey).problems.map((p) => p.kind)).toContain('leaf_changed');
  });

  it('a batch re-delivered after the log grew gets its own key: the overlap holds the same events and the bucket still verifies', async () => {
    await events(30);
    await audit.checkpoint();
    await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    await resetCursors(0); // the crash: written, cursor not moved …
    await events(10); // … and the log grew before the retry
    await audit.checkpoint();
    expect((await deliverSinks(audit, t.state, [sinkOf()], OPTS))[0]).toMatchObject({ delivered: 41, nextSeq: 41, error: null });
    const eventKeys = keys().filter((k) => k.includes('/events/'));
    expect(eventKeys).toEqual([eventsKey('keyturn/prod', 0, 30), eventsKey('keyturn/prod', 0, 40)]);
    const texts = new Map(await Promise.all(keys().map(async (k) => [k, await getText(client, k)] as const)));
    expect((texts.get(eventKeys[1] as string) as string).startsWith(texts.get(eventKeys[0] as string) as string)).toBe(true);
    const result = verifyExport(parseExport(bucketAsExport(texts, audit.origin, audit.verifierKey)), audit.verifierKey);
    expect(result.problems).toEqual([]);
    expect(result.latest?.size).toBe(41);
  });

  it('`audit verify` reads the checkpoints back from the bucket (KEYTURN_AUDIT_S3_* settings)', async () => {
    await events(30);
    await audit.checkpoint();
    await deliverSinks(audit, t.state, [sinkOf()], OPTS);
    const settings = loadSettings({
      KEYTURN_HOME: '/srv/kt',
      KEYTURN_AUDIT_S3_BUCKET: 's3://audit-archive/keyturn/prod/',
      KEYTURN_AUDIT_S3_REGION: 'eu-west-1',
      KEYTURN_AUDIT_S3_ENDPOINT: s3.url,
      KEYTURN_AUDIT_S3_PATH_STYLE: 'true',
      KEYTURN_AUDIT_S3_RETENTION_DAYS: '2555',
      KEYTURN_AUDIT_S3_STORAGE_CLASS: 'DEEP_ARCHIVE',
    });
    expect(settings.audit.s3).toEqual({
      url: 's3://audit-archive/keyturn/prod/',
      region: 'eu-west-1',
      endpoint: s3.url,
      retentionDays: 2555,
      lockMode: 'COMPLIANCE',
      storageClass: 'DEEP_ARCHIVE',
      pathStyle: true,
    });
    expect(sinksFromSettings(settings.audit).map((s) => s.name)).toEqual([sinkOf().name]);
    expect(sinksConfigured(settings.audit)).toBe(true);
    expect(sinksConfigured(loadSettings({}).audit)).toBe(false);
    const { checkpoints, report } = await readOutsideCheckpoints(settings.audit);
    expect(report).toMatchObject({ warning: null, newest: { source: `s3://audit-archive/${checkpointKey('keyturn/prod', 31)}`, size: 31 } });
    expect(report.sinks).toEqual([{ name: sinkOf().name, readable: true, checkpoints: checkpoints.length }]);
    expect(checkpoints.map((c) => c.note)).toEqual((await audit.checkpoints()).map((c) => c.note));
    for (const bad of ['s3://', 's3://UPPER/x', 'https://bucket/x']) expect(() => loadSettings({ KEYTURN_AUDIT_S3_BUCKET: bad })).toThrow(/KEYTURN_AUDIT_S3_BUCKET/);
    expect(() => loadSettings({ KEYTURN_AUDIT_S3_LOCK_MODE: 'LEGAL_HOLD' })).toThrow(/KEYTURN_AUDIT_S3_LOCK_MODE/);
    expect(parseBucketUrl('s3://audit-archive')).toEqual({ bucket: 'audit-archive', prefix: '' });
  });

  it('a bucket without Object Lock refuses the retention headers; bad credentials are refused; both are reported', async () => {
    await events(5);
    s3.createBucket('no-lock');
    const [refused] = await deliverSinks(audit, t.state, [sinkOf({ url: 's3://no-lock/k' })], OPTS);
    expect(refused).toMatchObject({ delivered: 0, nextSeq: 0 });
    expect(refused?.error).toMatch(/InvalidRequest \(HTTP 400\): Bucket is missing Object Lock Configuration/);
    // Without retention headers the same bucket takes them (its default retention, if any, applies).
    expect((await deliverSinks(audit, t.state, [sinkOf({ url: 's3://no-lock/k', retentionDays: undefined })], OPTS))[0]).toMatchObject({ delivered: 6, error: null });

    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const [denied] = await deliverSinks(audit, t.state, [sinkOf()], OPTS);
      expect(denied?.error).toMatch(/SignatureDoesNotMatch \(HTTP 403\)/);
      expect(denied?.error).not.toContain('not-the-secret');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
    }
  });
});

describe('keyturn with KEYTURN_AUDIT_S3_BUCKET', () => {
  let s3: S3Server;
  let base: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  beforeEach(async () => {
    s3 = await startS3Server({ credentials: CREDENTIALS });
    s3.createBucket('audit-archive', { objectLock: true });
    base = tempDir();
    env = {
      KEYTURN_HOME: join(base.dir, 'home'),
      KEYTURN_AUDIT_CHECKPOINT_EVERY: '5',
      KEYTURN_LOG_LEVEL: 'silent',
      KEYTURN_AUDIT_S3_BUCKET: 's3://audit-archive/kt',
      KEYTURN_AUDIT_S3_REGION: 'eu-west-1',
      KEYTURN_AUDIT_S3_ENDPOINT: s3.url,
      KEYTURN_AUDIT_S3_PATH_STYLE: 'true',
      KEYTURN_AUDIT_S3_RETENTION_DAYS: '7',
    };
    expect((await runCli(['init'], { env })).code).toBe(0);
  });
  afterEach(async () => {
    await s3.close();
    base.remove();
  });

  const writeSecrets = async (from: number, n: number): Promise<void> => {
    const kt = await openKeyturn(loadSettings(env), { audit: { actor: 'user:fixture', source: 'cli', correlationId: 'fixture' } });
    try {
      for (let i = from; i < from + n; i++) await kt.store.put(`app/s${i}`, `value-${i}`);
    } finally {
      await kt.close(); // feeds the sinks
    }
  };

  it('a command feeds the bucket; `audit verify` finds a state database cut back behind the checkpoints kept in the bucket', async () => {
    await writeSecrets(0, 3);
    const dbFile = join(env.KEYTURN_HOME as string, 'keyturn.db');
    const withDb = <T>(fn: (db: DatabaseSync) => T): T => {
      const db = new DatabaseSync(dbFile);
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };
    const oldHead = withDb((db) => db.prepare('SELECT * FROM audit_head WHERE id = 1').get() as Record<string, string | number | null>);
    await writeSecrets(10, 6);
    const bucketKeys = [...(s3.buckets.get('audit-archive')?.objects.keys() ?? [])];
    expect(bucketKeys.some((k) => k.startsWith('kt/events/'))).toBe(true);
    expect(bucketKeys.some((k) => k.startsWith('kt/checkpoints/'))).toBe(true);
    const intact = await runCli(['audit', 'verify', '--json'], { env });
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, outside: { warning: null, newest: { source: expect.stringMatching(/^s3:\/\/audit-archive\/kt\/checkpoints\//) } } });

    // Tail events, their checkpoints and the head row cut back in the database.
    const size = Number(oldHead.size);
    withDb((db) => {
      db.prepare('DELETE FROM audit_leaves WHERE seq >= ?').run(size);
      db.prepare('DELETE FROM audit_checkpoints WHERE size > ?').run(size);
      const cols = Object.keys(oldHead).filter((c) => c !== 'id');
      db.prepare(`UPDATE audit_head SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = 1`).run(...cols.map((c) => oldHead[c] as string | number | null));
    });
    const cut = await runCli(['audit', 'verify', '--json'], { env });
    expect(cut.code).not.toBe(0);
    const data = JSON.parse(cut.stdout) as { ok: boolean; problems: { kind: string; code: string; source?: string; size?: number }[] };
    expect(data.ok).toBe(false);
    expect(data.problems.find((p) => p.kind === 'truncated')).toMatchObject({ code: 'KT_AUDIT_TRUNCATED', size, source: expect.stringMatching(/^s3:\/\/audit-archive\/kt\/checkpoints\//) });
  });
});

describe('the local S3 server', () => {
  let s3: S3Server;
  let client: S3Client;
  beforeEach(async () => {
    s3 = await startS3Server({ credentials: CREDENTIALS });
    s3.createBucket('locked', { objectLock: true });
    client = new S3Client({ endpoint: s3.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await s3.close();
  });

  it('takes a streamed body in aws-chunked encoding with the SHA-256 in a trailer, and refuses a wrong checksum (BadDigest)', async () => {
    const body = 'x'.repeat(70_000);
    await client.send(new PutObjectCommand({ Bucket: 'locked', Key: 'stream.txt', Body: Readable.from([Buffer.from(body)]), ContentLength: body.length, ChecksumAlgorithm: 'SHA256' }));
    const put = s3.requests.at(-1);
    expect(put?.headers).toMatchObject({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-sha256' });
    expect(await getText(client, 'stream.txt', 'locked')).toBe(body);
    await expect(client.send(new PutObjectCommand({ Bucket: 'locked', Key: 'bad.txt', Body: 'abc', ChecksumSHA256: Buffer.alloc(32).toString('base64') }))).rejects.toMatchObject({
      name: 'BadDigest',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('Object Lock: a content checksum is required; If-None-Match: * is 412; GOVERNANCE yields to the bypass header; virtual-host style works', async () => {
    const until = new Date(Date.now() + DAY);
    const lock = { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: until };
    const bare = new S3Client({ endpoint: s3.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      await expect(bare.send(new PutObjectCommand({ Bucket: 'locked', Key: 'a', Body: 'a', ...lock }))).rejects.toMatchObject({
        name: 'InvalidRequest',
        message: expect.stringContaining('Content-MD5 OR x-amz-checksum-'),
      });
    } finally {
      bare.destroy();
    }
    await client.send(new PutObjectCommand({ Bucket: 'locked', Key: 'a', Body: 'a', ChecksumAlgorithm: 'SHA256', ...lock }));
    await expect(
      client.send(new PutObjectCommand({ Bucket: 'locked', Key: 'b', Body: 'b', ChecksumAlgorithm: 'SHA256', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() - DAY) })),
    ).rejects.toMatchObject({
      name: 'InvalidArgument',
    });
    await expect(client.send(new PutObjectCommand({ Bucket: 'locked', Key: 'a', Body: 'b', IfNoneMatch: '*', ChecksumAlgorithm: 'SHA256' }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'a' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await client.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'a', BypassGovernanceRetention: true }));
    await expect(client.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'a' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });

    // `locked.localhost` resolved to 127.0.0.1 by the client's agent (the resolver may not know *.localhost).
    const httpAgent = new Agent({ lookup: (_host, options, callback) => lookup('127.0.0.1', options, callback) });
    const virtual = new S3Client({ endpoint: s3.localhostUrl, region: 'us-east-1', forcePathStyle: false, maxAttempts: 1, requestHandler: { httpAgent } });
    try {
      await virtual.send(new PutObjectCommand({ Bucket: 'locked', Key: 'v/1', Body: 'v', ChecksumAlgorithm: 'SHA256' }));
      expect(s3.requests.at(-1)).toMatchObject({ bucket: 'locked', key: 'v/1', status: 200, headers: { host: expect.stringMatching(/^locked\.localhost:\d+$/) } });
    } finally {
      virtual.destroy();
    }
  });
});

async function getText(client: S3Client, key: string, bucket = 'audit-archive'): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await got.Body?.transformToString('utf8')) ?? '';
}

/**
 * The sink's objects as a `keyturn-audit-export/v1` file from seq 0: each event line
 * (`{"id", …event}`) becomes its leaf again (the event's RFC 8785 bytes), once per seq (a batch
 * re-delivered after the log grew may overlap another), then the checkpoints.
 */
function bucketAsExport(texts: ReadonlyMap<string, string>, origin: string, verifierKey: string): string {
  const leaves = new Map<number, { id: string; leaf: string }>();
  const notes: { size: number; note: string }[] = [];
  for (const [key, text] of [...texts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (key.includes('/checkpoints/')) notes.push({ size: record.size as number, note: record.note as string });
      else {
        const { id, ...event } = record;
        leaves.set(event.seq as number, { id: id as string, leaf: encodeEvent(checkEvent(event)).toString('utf8') });
      }
    }
  }
  const header = { type: 'header', format: EXPORT_FORMAT, origin, verifierKey, createdAt: new Date(0).toISOString(), first: 0, prefix: { size: 0, nodes: [], lastHash: null } };
  const lines = [JSON.stringify(header)];
  for (const [seq, { id, leaf }] of [...leaves].sort(([a], [b]) => a - b)) lines.push(JSON.stringify({ type: 'event', seq, id, leaf }));
  for (const { size, note } of notes.sort((a, b) => a.size - b.size)) lines.push(JSON.stringify({ type: 'checkpoint', size, note }));
  return `${lines.join('\n')}\n`;
}
