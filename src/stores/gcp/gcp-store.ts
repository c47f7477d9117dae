/**
 * The GCP Secret Manager store: each Keyturn secret is one Secret Manager secret (id from its path,
 * ./names.ts), each Keyturn version one secret version (numbered by Secret Manager: 1, 2, 3 are
 * Keyturn's numbers), each stage a version alias (`current`, `pending`, `previous`; applications
 * read `.../versions/current`, since `latest` is always the newest version, pending included).
 *
 * Secret Manager keeps no metadata per version, so version ids, kinds and creation times live in
 * the secret's annotations (./record.ts); every change to them and to the aliases is an
 * UpdateSecret carrying the etag last read (ABORTED when stale: read again, decide again), so
 * stage moves and compare-and-set puts are the service's own atomic checks.
 *
 * A put claims the secret first (`kt-put` annotation, written by etag), then adds the version,
 * then records it and moves its stages by etag. A racing put that finds a claim waits for it to
 * end (up to a lease), so versions get numbers in the order their checks passed. A put retried
 * with the same version id after a crash finds versions nobody recorded and takes the one holding
 * its value, so it adds nothing twice (AddSecretVersion has no request id).
 *
 * Secret Manager deletes a secret at once, for good: a Keyturn delete is marks in annotations
 * (deleted at, purge after) with the secret's versions disabled, a restore enables them again,
 * and a purge is DeleteSecret (by etag).
 *
 * @example
 * ```ts
 * const store = new GcpStore({ type: 'gcp', project: 'acme-prod' }, { clock: systemClock });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { protos } from '@google-cloud/secret-manager';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { KeyturnError, isKeyturnError } from '../../core/errors.js';
import { assertValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { decodeValue, encodeValue, parseStage, printable } from '../../core/values.js';
import {
  DEFAULT_RECOVERY_DAYS,
  MAX_RECOVERY_DAYS,
  MIN_RECOVERY_DAYS,
  type ListOptions,
  type PutOptions,
  type SecretStore,
  type StoreCapabilities,
  type VersionPurge,
  type VersionSelector,
} from '../store.js';
import { GcpClient } from './client.js';
import type { GcpStoreConfig } from './config.js';
import { crc32c } from './crc32c.js';
import { Code, hasCode, storeError } from './errors.js';
import { checkMetadata } from '../../core/metadata.js';
import { MANAGED_LABEL, MANAGED_VALUE, PATH_ANNOTATION, secretIdOf } from './names.js';
import { intentValue, metadataPatch, patchAnnotations, readRecord, versionKey, versionValue, type SecretRecord } from './record.js';
import { checkPut } from '../put-input.js';
import { moveStageIn } from '../stage-moves.js';

type Secret = protos.google.cloud.secretmanager.v1.ISecret;
type SecretVersion = protos.google.cloud.secretmanager.v1.ISecretVersion;

export interface GcpStoreOptions {
  clock: Clock;
  /** Largest value in bytes (at most Secret Manager's 64 KiB). */
  maxValueBytes?: number;
  /** Unlabeled versions beyond this count are destroyed (default 100). */
  maxVersions?: number;
  /** No version younger than this is destroyed (default 7 days). */
  retentionMs?: number;
  /** Refuse purging a deleted secret before its recovery window ends (default true). */
  purgeProtection?: boolean;
  /** How long a put waits for another put's claim to end before taking it over (default 15 s). */
  claimLeaseMs?: number;
}

const MAX_PAYLOAD = 64 * 1024;

function ms(t: { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1_000_000);
}

function versionNumber(v: SecretVersion): number {
  return Number((v.name ?? '').slice((v.name ?? '').lastIndexOf('/') + 1));
}

/** The aliases as plain numbers. */
function aliasesOf(s: Secret): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.versionAliases ?? {})) out[k] = Number(String(v));
  return out;
}

function stageList(aliases: Record<string, number>, number: number): Stage[] {
  return STAGES.filter((st) => aliases[st] === number);
}

export class GcpStore implements SecretStore {
  readonly kind = 'gcp';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });

  private readonly gcp: GcpClient;
  private readonly clock: Clock;
  private readonly prefix: string;
  readonly maxValueBytes: number;
  readonly maxVersions: number;
  readonly retentionMs: number;
  readonly purgeProtection: boolean;
  private readonly claimLeaseMs: number;

  constructor(config: GcpStoreConfig, options: GcpStoreOptions) {
    this.gcp = new GcpClient(config);
    this.clock = options.clock;
    this.prefix = config.prefix ?? '';
    this.maxValueBytes = Math.min(options.maxValueBytes ?? MAX_PAYLOAD, MAX_PAYLOAD);
    this.maxVersions = options.maxVersions ?? 100;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.purgeProtection = options.purgeProtection ?? true;
    this.claimLeaseMs = options.claimLeaseMs ?? 15_000;
  }

  async close(): Promise<void> {
    await this.gcp.close();
  }

  // ── calls ──────────────────────────────────────────────────────────────

  private nameOf(path: string): string {
    return `${this.gcp.parent}/secrets/${secretIdOf(this.prefix, path)}`;
  }

  /** One SDK call, its errors as Keyturn errors unless `pass` lets a code through untouched. */
  private async call<T>(op: string, fn: (opts: object) => Promise<T>, pass: number[] = []): Promise<T> {
    try {
      return await fn(await this.gcp.options());
    } catch (e) {
      if (pass.some((c) => hasCode(e, c))) throw e;
      throw storeError(e, op, this.gcp.endpoint);
    }
  }

  private async findSecret(path: string): Promise<Secret | null> {
    const name = this.nameOf(path);
    try {
      const [secret] = await this.call('GetSecret', (o) => this.gcp.client().getSecret({ name }, o), [Code.NOT_FOUND]);
      const rec = readRecord(secret.annotations ?? {});
      if (rec.path !== path) {
        throw new KeyturnError(
          'KT_STORE_FAILED',
          `GCP secret ${name} is not Keyturn's secret for ${path} (its ${PATH_ANNOTATION} annotation says ${rec.path === null ? 'nothing' : `"${printable(rec.path)}"`})`,
          {
            details: { provider: 'gcp', name },
          },
        );
      }
      return secret;
    } catch (e) {
      if (hasCode(e, Code.NOT_FOUND)) return null;
      throw e;
    }
  }

  private async requireSecret(path: string): Promise<Secret> {
    const secret = await this.findSecret(path);
    if (!secret) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    return secret;
  }

  /**
   * UpdateSecret by etag: annotations and aliases as given. Null when the etag was stale
   * (someone changed the secret since it was read): the caller reads again and decides again.
   */
  private async update(secret: Secret, annotations: Record<string, string>, aliases?: Record<string, number>): Promise<Secret | null> {
    const paths = aliases === undefined ? ['annotations'] : ['annotations', 'version_aliases'];
    const body: Secret = { name: secret.name!, etag: secret.etag!, annotations, ...(aliases !== undefined ? { versionAliases: aliases } : {}) };
    try {
      const [updated] = await this.call('UpdateSecret', (o) => this.gcp.client().updateSecret({ secret: body, updateMask: { paths } }, o), [Code.ABORTED, Code.FAILED_PRECONDITION]);
      return updated;
    } catch (e) {
      if (hasCode(e, Code.ABORTED)) return null;
      if (hasCode(e, Code.FAILED_PRECONDITION) && /etag/i.test(String((e as Error).message))) return null;
      throw storeError(e, 'UpdateSecret', this.gcp.endpoint);
    }
  }

  /** The value of version `number`, checked against its CRC32C; null when the version cannot be read (destroyed, disabled, gone). */
  private async access(secret: Secret, number: number): Promise<Buffer | null> {
    const name = `${secret.name}/versions/${number}`;
    try {
      const [res] = await this.call('AccessSecretVersion', (o) => this.gcp.client().accessSecretVersion({ name }, o), [Code.NOT_FOUND, Code.FAILED_PRECONDITION]);
      const data = Buffer.from(res.payload?.data ?? new Uint8Array());
      const sum = res.payload?.dataCrc32c;
      if (sum !== undefined && sum !== null && Number(String(sum)) !== crc32c(data)) {
        throw new KeyturnError('KT_STORE_FAILED', `GCP Secret Manager returned ${name} with a checksum that does not match its data`, { details: { provider: 'gcp', name } });
      }
      return data;
    } catch (e) {
      if (hasCode(e, Code.NOT_FOUND) || hasCode(e, Code.FAILED_PRECONDITION)) return null;
      throw e;
    }
  }

  private async listVersions(secret: Secret): Promise<SecretVersion[]> {
    const [versions] = await this.call('ListSecretVersions', (o) => this.gcp.client().listSecretVersions({ parent: secret.name! }, { ...o, autoPaginate: true }));
    return versions.filter((v) => v.state !== 'DESTROYED');
  }

  // ── reads ──────────────────────────────────────────────────────────────

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    assertValidPath(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    const secret = await this.findSecret(path);
    if (!secret) return null;
    const rec = readRecord(secret.annotations ?? {});
    assertLive(path, rec);
    const aliases = aliasesOf(secret);
    let number: number | undefined;
    if (select.versionId !== undefined) {
      number = [...rec.versions].find(([, v]) => v.id === select.versionId)?.[0];
      if (number === undefined) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(select.versionId)}"`);
    } else if (select.number !== undefined) {
      number = rec.versions.has(select.number) ? select.number : undefined;
      if (number === undefined) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with number ${select.number}`);
    } else {
      number = aliases[stage ?? 'current'];
      if (number === undefined) return null;
    }
    const v = rec.versions.get(number);
    const data = v ? await this.access(secret, number) : null;
    if (!v || !data) {
      if (select.versionId === undefined && select.number === undefined) return null;
      throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no readable version ${number}`);
    }
    return { path, id: v.id, number, kind: v.kind, createdAt: v.createdAt, stages: stageList(aliases, number), value: decodeValue(v.kind, data) };
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    const secret = await this.requireSecret(path);
    const rec = readRecord(secret.annotations ?? {});
    assertLive(path, rec);
    const live = new Set((await this.listVersions(secret)).map(versionNumber));
    return this.infos(secret, rec).filter((v) => live.has(v.number));
  }

  private infos(secret: Secret, rec: SecretRecord): VersionInfo[] {
    const aliases = aliasesOf(secret);
    return [...rec.versions].sort(([a], [b]) => b - a).map(([number, v]) => ({ id: v.id, number, kind: v.kind, createdAt: v.createdAt, stages: stageList(aliases, number) }));
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    const secret = await this.findSecret(path);
    return secret ? this.info(path, secret) : null;
  }

  private info(path: string, secret: Secret): SecretInfo {
    const rec = readRecord(secret.annotations ?? {});
    const versions = this.infos(secret, rec);
    const current = versions.find((v) => v.stages.includes('current'));
    const createdAt = ms(secret.createTime);
    return {
      path,
      ...rec.metadata,
      createdAt,
      updatedAt: rec.updatedAt ?? createdAt,
      versionCount: versions.length,
      currentVersion: current ? { id: current.id, number: current.number } : null,
      deletedAt: rec.deletedAt,
      purgeAfter: rec.deletedAt === null ? null : rec.purgeAfter,
    };
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const parent = this.gcp.parent;
    const [secrets] = await this.call('ListSecrets', (o) => this.gcp.client().listSecrets({ parent, filter: `labels.${MANAGED_LABEL}:${MANAGED_VALUE}` }, { ...o, autoPaginate: true }));
    const paths: string[] = [];
    for (const s of secrets) {
      const rec = readRecord(s.annotations ?? {});
      if (rec.path === null || `${parent}/secrets/${secretIdOf(this.prefix, rec.path)}` !== s.name) continue;
      if ((rec.deletedAt !== null) !== (options.deleted === true)) continue;
      if (pathHasPrefix(rec.path, base)) paths.push(rec.path);
    }
    for (const path of paths.sort()) yield path;
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    assertValidPath(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, this.maxValueBytes);
    const { kind, bytes } = encodeValue(value);
    const token = randomUUID();
    const claim = intentValue({ token, id: versionId, kind });
    const name = this.nameOf(path);

    // 1. Claim the secret (creating it with the claim when there is none).
    let claimed: Secret | null = null;
    let waited: { token: string; since: number } | null = null;
    while (!claimed) {
      const secret = await this.findSecret(path);
      if (!secret) {
        if (expected !== undefined && expected !== 0) throw mismatch(path, expected, 0, false);
        const annotations = patchAnnotations({ [PATH_ANNOTATION]: path, 'kt-updated-at': String(this.clock.now()), 'kt-put': claim }, metadataPatch(metadata ?? {}));
        try {
          const [created] = await this.call(
            'CreateSecret',
            (o) =>
              this.gcp
                .client()
                .createSecret(
                  { parent: this.gcp.parent, secretId: name.slice(name.lastIndexOf('/') + 1), secret: { ...this.gcp.replication(), labels: { [MANAGED_LABEL]: MANAGED_VALUE }, annotations } },
                  o,
                ),
            [Code.ALREADY_EXISTS],
          );
          claimed = created;
        } catch (e) {
          if (!hasCode(e, Code.ALREADY_EXISTS)) throw e;
        }
        continue;
      }
      const rec = readRecord(secret.annotations ?? {});
      assertLive(path, rec);
      const existing = [...rec.versions].find(([, v]) => v.id === versionId);
      if (existing) return this.repeated(path, secret, existing[0], existing[1].kind, existing[1].createdAt, versionId, kind, bytes, value);
      const ours = rec.intent?.id === versionId;
      // Another put is between its claim and its record: let it finish (or outlive its lease).
      if (rec.intent && !ours && !(waited && waited.token === rec.intent.token && Date.now() - waited.since >= this.claimLeaseMs)) {
        if (!waited || waited.token !== rec.intent.token) waited = { token: rec.intent.token, since: Date.now() };
        await sleep(Math.min(25 * 2 ** Math.min(6, Math.floor((Date.now() - waited.since) / 200)), 500));
        continue;
      }
      const aliases = aliasesOf(secret);
      if (expected !== undefined) {
        // A secret our own interrupted put created, with nothing recorded yet, counts as not there before.
        const createdByUs = ours && rec.versions.size === 0;
        const actual = createdByUs ? 0 : (aliases.current ?? null);
        if (actual !== expected) throw mismatch(path, expected, actual, !createdByUs);
      }
      // A retried put (an explicit id) may find the version its interrupted attempt added.
      if (options.versionId !== undefined) {
        const orphan = await this.findOrphan(secret, rec, bytes);
        if (orphan) return this.record(path, secret, orphan.number, orphan.createdAt, versionId, kind, stages, value, expected, token);
      }
      const patch = patchAnnotations(secret.annotations ?? {}, { ...metadataPatch(metadata ?? {}), 'kt-put': claim, 'kt-updated-at': String(this.clock.now()) });
      claimed = await this.update(secret, patch);
    }

    // 2. Add the version.
    let added: SecretVersion;
    try {
      [added] = await this.call('AddSecretVersion', (o) => this.gcp.client().addSecretVersion({ parent: claimed.name!, payload: { data: bytes, dataCrc32c: crc32c(bytes) } }, o));
    } catch (e) {
      // Refused for sure (not an answer lost on the way): nothing was added, so the claim ends here.
      // After KT_STORE_UNAVAILABLE the version may exist: the claim stays for the retry to find it.
      if (!isKeyturnError(e, 'KT_STORE_UNAVAILABLE')) await this.release(path, token);
      throw e;
    }
    // 3. Record it and move its stages.
    return this.record(path, claimed, versionNumber(added), ms(added.createTime), versionId, kind, stages, value, expected, token);
  }

  /** A put repeated for a version id already recorded: the same value returns it; another is KT_VERSION_CONFLICT. */
  private async repeated(path: string, secret: Secret, number: number, storedKind: string, createdAt: number, versionId: string, kind: string, bytes: Buffer, value: SecretValue): Promise<Version> {
    const stored = await this.access(secret, number);
    if (!stored || storedKind !== kind || !stored.equals(bytes)) {
      throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
    }
    return { path, id: versionId, number, kind: kind as 'string' | 'json', createdAt, stages: stageList(aliasesOf(secret), number), value };
  }

  /** A version nobody recorded (a put interrupted between adding and recording) holding `bytes`. */
  private async findOrphan(secret: Secret, rec: SecretRecord, bytes: Buffer): Promise<{ number: number; createdAt: number } | null> {
    const orphans = (await this.listVersions(secret)).filter((v) => !rec.versions.has(versionNumber(v)) && v.state === 'ENABLED');
    for (const v of orphans) {
      const data = await this.access(secret, versionNumber(v));
      if (data?.equals(bytes)) return { number: versionNumber(v), createdAt: ms(v.createTime) };
    }
    return null;
  }

  /** Records version `number` as `versionId`, moves its stages and ends the claim, by etag (read again on a stale etag). */
  private async record(
    path: string,
    start: Secret,
    number: number,
    createdAt: number,
    versionId: string,
    kind: 'string' | 'json',
    stages: Stage[],
    value: SecretValue,
    expected: number | undefined,
    token: string,
  ): Promise<Version> {
    let secret = start;
    for (;;) {
      const rec = readRecord(secret.annotations ?? {});
      const aliases = aliasesOf(secret);
      const actual = aliases.current ?? (rec.versions.size === 0 ? 0 : null);
      if (expected !== undefined && actual !== expected) {
        // Current moved (a stage move) while this put was between its check and its record: it writes nothing.
        await this.discard(secret, number);
        if (rec.intent?.token === token) await this.update(secret, patchAnnotations(secret.annotations ?? {}, { 'kt-put': null }));
        throw mismatch(path, expected, actual, true);
      }
      for (const stage of stages) moveStageIn(aliases, stage, number);
      const patch: Record<string, string | null> = { [versionKey(number)]: versionValue({ id: versionId, kind, createdAt }), 'kt-updated-at': String(this.clock.now()) };
      if (rec.intent?.id === versionId) patch['kt-put'] = null;
      const updated = await this.update(secret, patchAnnotations(secret.annotations ?? {}, patch), aliases);
      if (updated) {
        await this.prune(updated);
        return { path, id: versionId, number, kind, createdAt, stages: stageList(aliases, number), value };
      }
      secret = await this.requireSecret(path);
    }
  }

  /** Drops this put's claim if it is still on the secret (best effort: a claim left behind ends with its lease). */
  private async release(path: string, token: string): Promise<void> {
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const secret = await this.findSecret(path);
        if (!secret || readRecord(secret.annotations ?? {}).intent?.token !== token) return;
        if (await this.update(secret, patchAnnotations(secret.annotations ?? {}, { 'kt-put': null }))) return;
      }
    } catch {
      // The caller's own error is the one to report.
    }
  }

  /** Destroys a version this put added but may not keep. */
  private async discard(secret: Secret, number: number): Promise<void> {
    const name = `${secret.name}/versions/${number}`;
    await this.call('DestroySecretVersion', (o) => this.gcp.client().destroySecretVersion({ name }, o), [Code.FAILED_PRECONDITION, Code.NOT_FOUND]).catch(() => undefined);
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    for (;;) {
      const secret = await this.requireSecret(path);
      const rec = readRecord(secret.annotations ?? {});
      assertLive(path, rec);
      const idOf = (n: number | undefined) => (n === undefined ? null : (rec.versions.get(n)?.id ?? `#${n}`));
      let target: number | null = null;
      if (to !== null) {
        const found = [...rec.versions].find(([, v]) => v.id === to);
        if (!found) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
        target = found[0];
      }
      const aliases = aliasesOf(secret);
      const holder = idOf(aliases[st]);
      if (holder !== expectFrom) {
        throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${holder ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
          details: { path, stage: st, expected: expectFrom, actual: holder },
        });
      }
      if (holder === to) return;
      moveStageIn(aliases, st, target);
      const updated = await this.update(secret, patchAnnotations(secret.annotations ?? {}, { 'kt-updated-at': String(this.clock.now()) }), aliases);
      if (updated) return;
    }
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    assertValidPath(path);
    const patch = checkMetadata(metadata);
    for (;;) {
      const secret = await this.requireSecret(path);
      assertLive(path, readRecord(secret.annotations ?? {}));
      const updated = await this.update(secret, patchAnnotations(secret.annotations ?? {}, { ...metadataPatch(patch), 'kt-updated-at': String(this.clock.now()) }));
      if (updated) return this.info(path, updated);
    }
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    }
    for (;;) {
      const secret = await this.requireSecret(path);
      const rec = readRecord(secret.annotations ?? {});
      if (rec.deletedAt !== null) {
        // Deleted already: finish what an interrupted delete may have left (versions still enabled), then say so.
        await this.disableAll(secret, rec.disabled);
        assertLive(path, rec);
      }
      const enabled = (await this.listVersions(secret)).filter((v) => v.state === 'ENABLED').map(versionNumber);
      const now = this.clock.now();
      const marks = { 'kt-deleted-at': String(now), 'kt-purge-after': String(now + days * DAY_MS), 'kt-disabled': enabled.join(','), 'kt-updated-at': String(now) };
      const updated = await this.update(secret, patchAnnotations(secret.annotations ?? {}, marks));
      if (!updated) continue;
      // Applications reading the secret directly are refused from now on, as a deleted secret should be.
      await this.disableAll(secret, enabled);
      return this.info(path, updated);
    }
  }

  private async disableAll(secret: Secret, numbers: number[]): Promise<void> {
    for (const n of numbers) {
      const name = `${secret.name}/versions/${n}`;
      await this.call('DisableSecretVersion', (o) => this.gcp.client().disableSecretVersion({ name }, o), [Code.FAILED_PRECONDITION, Code.NOT_FOUND]).catch((e: unknown) => {
        if (!hasCode(e, Code.FAILED_PRECONDITION) && !hasCode(e, Code.NOT_FOUND)) throw e;
      });
    }
  }

  async restore(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    for (;;) {
      const secret = await this.requireSecret(path);
      const rec = readRecord(secret.annotations ?? {});
      if (rec.deletedAt === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
      for (const n of rec.disabled) {
        const name = `${secret.name}/versions/${n}`;
        await this.call('EnableSecretVersion', (o) => this.gcp.client().enableSecretVersion({ name }, o), [Code.FAILED_PRECONDITION, Code.NOT_FOUND]).catch((e: unknown) => {
          if (!hasCode(e, Code.FAILED_PRECONDITION) && !hasCode(e, Code.NOT_FOUND)) throw e;
        });
      }
      const marks = { 'kt-deleted-at': null, 'kt-purge-after': null, 'kt-disabled': null, 'kt-updated-at': String(this.clock.now()) };
      const updated = await this.update(secret, patchAnnotations(secret.annotations ?? {}, marks));
      if (updated) return this.info(path, updated);
    }
  }

  async purge(path: string): Promise<void> {
    assertValidPath(path);
    for (;;) {
      const secret = await this.requireSecret(path);
      this.refusePurge(path, readRecord(secret.annotations ?? {}));
      try {
        await this.call('DeleteSecret', (o) => this.gcp.client().deleteSecret({ name: secret.name!, etag: secret.etag! }, o), [Code.ABORTED, Code.NOT_FOUND]);
        return;
      } catch (e) {
        if (!hasCode(e, Code.ABORTED) && !hasCode(e, Code.NOT_FOUND)) throw e;
      }
    }
  }

  async assertPurgeable(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    const secret = await this.requireSecret(path);
    this.refusePurge(path, readRecord(secret.annotations ?? {}));
    return this.info(path, secret);
  }

  private refusePurge(path: string, rec: SecretRecord): void {
    if (rec.deletedAt === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; delete it before purging`);
    const purgeAfter = rec.purgeAfter ?? 0;
    if (this.purgeProtection && this.clock.now() < purgeAfter) {
      throw new KeyturnError('KT_PURGE_PROTECTED', `${path} can be purged from ${new Date(purgeAfter).toISOString()}`, {
        details: { path, purgeAfter: new Date(purgeAfter).toISOString() },
      });
    }
  }

  async purgeVersion(path: string, versionId: string): Promise<VersionPurge> {
    assertValidPath(path);
    const secret = await this.findSecret(path);
    if (!secret) return { outcome: 'gone' };
    const rec = readRecord(secret.annotations ?? {});
    if (rec.deletedAt !== null) return { outcome: 'gone' };
    const found = [...rec.versions].find(([, v]) => v.id === versionId);
    if (!found) return { outcome: 'gone' };
    const [number, v] = found;
    const stages = stageList(aliasesOf(secret), number);
    if (stages.length > 0) return { outcome: 'staged', stages };
    const until = v.createdAt + this.retentionMs;
    if (until > this.clock.now()) return { outcome: 'held', until };
    await this.destroy(path, secret, [number]);
    return { outcome: 'purged' };
  }

  /** Destroys versions (never a staged one) and drops their records. */
  private async destroy(path: string, start: Secret, numbers: number[]): Promise<void> {
    for (const n of numbers) {
      const name = `${start.name}/versions/${n}`;
      await this.call('DestroySecretVersion', (o) => this.gcp.client().destroySecretVersion({ name }, o), [Code.FAILED_PRECONDITION]).catch((e: unknown) => {
        if (!hasCode(e, Code.FAILED_PRECONDITION)) throw e;
      });
    }
    let secret: Secret | null = start;
    while (secret) {
      const patch = Object.fromEntries(numbers.map((n) => [versionKey(n), null]));
      if (await this.update(secret, patchAnnotations(secret.annotations ?? {}, patch))) return;
      secret = await this.findSecret(path);
    }
  }

  /** Destroys the oldest unstaged versions beyond `maxVersions`, never one inside the retention hold. */
  private async prune(secret: Secret): Promise<void> {
    const rec = readRecord(secret.annotations ?? {});
    const newest = Math.max(0, ...rec.versions.keys());
    if (newest <= this.maxVersions) return;
    const versions = await this.listVersions(secret);
    let excess = versions.length - this.maxVersions;
    if (excess <= 0) return;
    const aliases = aliasesOf(secret);
    const staged = new Set(Object.values(aliases));
    const now = this.clock.now();
    const drop: number[] = [];
    for (const v of [...versions].sort((a, b) => versionNumber(a) - versionNumber(b))) {
      if (excess <= 0) break;
      const n = versionNumber(v);
      // A version newer than every record may be another put's, between its add and its record.
      if (staged.has(n) || ms(v.createTime) > now - this.retentionMs || (!rec.versions.has(n) && n > newest)) continue;
      drop.push(n);
      excess -= 1;
    }
    if (drop.length > 0 && rec.path !== null) await this.destroy(rec.path, secret, drop);
  }
}

function assertLive(path: string, rec: SecretRecord): void {
  if (rec.deletedAt !== null) {
    throw new KeyturnError('KT_SECRET_DELETED', `${path} is deleted; it can be restored until ${new Date(rec.purgeAfter ?? rec.deletedAt).toISOString()}`, { details: { path } });
  }
}

/** The compare-and-set refusal of a put (as the embedded store words it). */
function mismatch(path: string, expected: number, actual: number | null, exists: boolean): KeyturnError {
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = !exists ? 'it does not exist' : actual === null ? 'it exists with no current version' : `its current version is ${actual}`;
  return new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, { details: { path, expected, actual: exists ? actual : 0, exists } });
}
