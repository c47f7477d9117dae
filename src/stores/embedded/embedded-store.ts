/**
 * The embedded store: secrets kept in the state database (SQLite or PostgreSQL), every value
 * sealed with AES-256-GCM under a data key of the {@link KeyRing}, bound to its path and version id.
 *
 * Each write is one transaction; stage moves are compare-and-set `UPDATE ... WHERE version_id = ?`
 * statements whose affected-row count decides, so two writers cannot both win on PostgreSQL either.
 * A put locks its secret's row first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
 * `begin immediate` serializes writers), so its version number and its `expectCurrentVersion`
 * check hold until it commits.
 *
 * With an `audit` hook (../audit-hook.ts), each write records its event inside its own transaction
 * (no event, no write), each value read records `secret.read` before the value is returned, and
 * each failed operation records a failure event with its error code.
 *
 * @example
 * ```ts
 * const store = new EmbeddedStore(state, ring, { purgeProtection: true });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { DAY_MS, systemClock, type Clock } from '../../core/clock.js';
import { KeyturnError, isKeyturnError } from '../../core/errors.js';
import { assertValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { DEFAULT_MAX_VALUE_BYTES, decodeValue, encodeValue, parseStage, printable } from '../../core/values.js';
import type { KeyRing } from '../../crypto/keyring.js';
import { databaseError, type StateDb } from '../../state/db.js';
import type { Schema, SecretsTable } from '../../state/schema.js';
import { transact } from '../../state/tx.js';
import * as sql from './sql.js';
import { stagedEntry, type StagedEntry } from './staged-read.js';
import type { StoreAuditAction, StoreAuditEvent, StoreAuditHook } from '../audit-hook.js';
import {
  DEFAULT_RECOVERY_DAYS,
  MAX_RECOVERY_DAYS,
  MIN_RECOVERY_DAYS,
  type ListOptions,
  type PutOptions,
  type SecretStore,
  type StoreCapabilities,
  type StoreCounts,
  type TransactionalPut,
  type VersionPurge,
  type VersionSelector,
} from '../store.js';
import { checkMetadata } from '../../core/metadata.js';
import { checkPut } from '../put-input.js';

export interface EmbeddedStoreOptions {
  clock?: Clock;
  /** Largest value in bytes (default 64 KiB). */
  maxValueBytes?: number;
  /** Unlabeled versions beyond this count are pruned (default 100). */
  maxVersions?: number;
  /** No version younger than this is pruned (default 7 days). */
  retentionMs?: number;
  /** Refuse purging a deleted secret before its recovery window ends (default true). */
  purgeProtection?: boolean;
  /** Records every write (in its transaction), value read and failure in the audit log. */
  audit?: StoreAuditHook;
  /**
   * How long a value opened for a stage read may answer the next reads of the same stage, in ms
   * (default 0: every read opens it). Only while the stage read's rows are cached (nothing changed
   * them: ./staged-read.ts); any write to the secrets' tables, here or by another process, drops it
   * at once. A kept value is in this process's memory as plaintext for up to this long.
   */
  valueCacheMs?: number;
  /**
   * Record value reads as `secret.read` events (default true). The rotation engine reads through
   * a view with this off: its reads are covered by the run's own intent and outcome events.
   */
  auditReads?: boolean;
}

/** What a write fills in for its success event. */
type AuditDetails = { versionId?: string | null; valueHmac?: string | null; fieldHmacs?: Readonly<Record<string, string>> | null };

type Db = Kysely<Schema> | Transaction<Schema>;
/** A read's version, or why there is none. */
type StagedResult = Version | 'KT_SECRET_NOT_FOUND' | 'KT_STAGE_NOT_SET';
type SecretRow = SecretsTable;

/** What the embedded store can do (one frozen object: a store is made per server request). */
const CAPABILITIES: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });

export class EmbeddedStore implements SecretStore, TransactionalPut {
  readonly kind = 'embedded';
  readonly capabilities: StoreCapabilities = CAPABILITIES;

  private readonly clock: Clock;
  readonly maxValueBytes: number;
  readonly maxVersions: number;
  readonly retentionMs: number;
  readonly purgeProtection: boolean;
  private readonly audit: StoreAuditHook | undefined;
  private readonly auditReads: boolean;
  private readonly valueCacheMs: number;

  constructor(
    private readonly state: StateDb,
    private readonly ring: KeyRing,
    private readonly options: EmbeddedStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.maxVersions = options.maxVersions ?? 100;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.purgeProtection = options.purgeProtection ?? true;
    this.audit = options.audit;
    this.auditReads = options.auditReads ?? true;
    // Only where the stage read's rows can be cached (SQLite): elsewhere an opened value would never be read again.
    this.valueCacheMs = state.sqlite?.readVersion === undefined ? 0 : (options.valueCacheMs ?? 0);
  }

  /** The same store, with value reads not recorded as `secret.read` (writes still are). */
  withoutReadAudit(): EmbeddedStore {
    return new EmbeddedStore(this.state, this.ring, { ...this.options, auditReads: false });
  }

  // ── reads ──────────────────────────────────────────────────────────────

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    // The hot path of every API read: `audited` and `guard` written out here as two try blocks
    // (the same handling, without two async wrappers and their promises per read).
    try {
      assertValidPath(path);
      const stage = select.stage === undefined ? undefined : parseStage(select.stage);
      let found: StagedResult;
      try {
        if (select.versionId === undefined && select.number === undefined) {
          const staged = this.stagedVersion(path, stage ?? 'current');
          found = staged instanceof Promise ? await staged : staged;
        } else found = await this.selectedVersion(path, select);
      } catch (e) {
        throw databaseError(e, this.state);
      }
      // Access audit: the value leaves the store only once its read is recorded.
      if (!this.auditReads) return typeof found === 'string' ? null : found;
      if (typeof found === 'string') {
        await this.audit?.record(null, { action: 'secret.read', path, outcome: 'failure', errorCode: found });
        return null;
      }
      await this.audit?.record(null, { action: 'secret.read', path, outcome: 'success', versionId: found.id });
      return found;
    } catch (e) {
      return this.failed('secret.read', path, e);
    }
  }

  /** A version by id or number (the stage path is {@link stagedVersion}). */
  private async selectedVersion(path: string, select: VersionSelector): Promise<Version | 'KT_SECRET_NOT_FOUND'> {
    const secret = await this.findSecret(this.state.db, path);
    if (!secret) return 'KT_SECRET_NOT_FOUND';
    assertLive(secret);
    let query = this.state.db.selectFrom('secret_versions').selectAll().where('secret_id', '=', secret.id);
    if (select.versionId !== undefined) query = query.where('id', '=', select.versionId);
    else query = query.where('number', '=', select.number!);
    const row = await query.executeTakeFirst();
    if (!row) {
      const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : `number ${select.number ?? '?'}`;
      throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
    }
    const stages = await this.stagesOf(this.state.db, secret.id);
    const value = decodeValue(row.kind, this.ring.openValue(path, row.id, row.data_key_id, row.sealed));
    return { path, id: row.id, number: Number(row.number), kind: row.kind, createdAt: Number(row.created_at), stages: stages.get(row.id) ?? [], value };
  }

  /**
   * The common read, the version holding a stage, in one query (every rotation reads the current
   * and pending stages); without a promise when the stage read's rows are cached.
   */
  private stagedVersion(path: string, stage: Stage): StagedResult | Promise<StagedResult> {
    const entry = stagedEntry(this.state, path, stage);
    return entry instanceof Promise ? entry.then((e) => this.openStaged(path, stage, e)) : this.openStaged(path, stage, entry);
  }

  /** The version of `stage` the stage read's rows hold, opened (or as opened before, while the value cache keeps it). */
  private openStaged(path: string, stage: Stage, entry: StagedEntry): StagedResult {
    const now = this.valueCacheMs > 0 ? this.clock.now() : 0;
    const opened = entry.opened;
    // The value opened by an earlier read of these same rows: a copy of the version, its value and stages shared (frozen).
    if (opened !== undefined && now < opened.until) return { ...opened.version };
    const rows = entry.rows;
    const first = rows[0];
    if (first === undefined) return 'KT_SECRET_NOT_FOUND';
    if (first.deleted_at !== null) assertLive({ path: first.path, deleted_at: first.deleted_at, purge_after: first.purge_after } as SecretRow);
    const row = rows.find((r) => r.stage === stage);
    if (row === undefined || row.id === null || row.kind === null || row.data_key_id === null || row.sealed === null) return 'KT_STAGE_NOT_SET';
    const value = decodeValue(row.kind, this.ring.openValue(path, row.id, row.data_key_id, row.sealed));
    const stages = STAGES.filter((st) => rows.some((r) => r.stage === st && r.version_id === row.id));
    const version: Version = { path, id: row.id, number: Number(row.number), kind: row.kind, createdAt: Number(row.created_at), stages, value };
    if (this.valueCacheMs <= 0) return version;
    entry.opened = {
      version: Object.freeze({ ...version, stages: Object.freeze(stages) as Stage[], value: typeof value === 'string' ? value : Object.freeze(value) }),
      until: now + this.valueCacheMs,
    };
    return { ...entry.opened.version };
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    return this.guard(async () => {
      const secret = await this.requireSecret(this.state.db, path);
      assertLive(secret);
      return this.versionInfos(this.state.db, secret.id);
    });
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    return this.guard(async () => {
      const secret = await this.findSecret(this.state.db, path);
      return secret ? this.info(this.state.db, secret) : null;
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const rows = await this.guard(async () => {
      let query = this.state.db.selectFrom('secrets').select('path');
      query = options.deleted ? query.where('deleted_at', 'is not', null) : query.where('deleted_at', 'is', null);
      // Not LIKE ("_" is a wildcard there) and not a range (PostgreSQL collations are not bytewise).
      if (base !== '') query = query.where((eb) => eb.or([eb('path', '=', base), eb(eb.fn('substr', ['path', eb.val(1), eb.val(base.length + 1)]), '=', `${base}/`)]));
      return query.execute();
    });
    const paths = rows.map((r) => r.path).filter((p) => pathHasPrefix(p, base));
    for (const path of paths.sort()) yield path;
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    return this.audited('secret.put', path, () => this.putAudited(path, value, options));
  }

  /**
   * `put` inside the caller's transaction (see {@link TransactionalPut}): its version and success
   * event commit with the caller's other writes, or not at all.
   */
  async putWithin(trx: Transaction<Schema>, path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    return this.write('secret.put', path, this.putWrite(path, value, options), trx);
  }

  private async putAudited(path: string, value: SecretValue, options: PutOptions): Promise<Version> {
    return this.write('secret.put', path, this.putWrite(path, value, options));
  }

  /** Checks a put's arguments (throwing before any write), then returns the write itself. */
  private putWrite(path: string, value: SecretValue, options: PutOptions): (trx: Transaction<Schema>, details: AuditDetails) => Promise<Version> {
    assertValidPath(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, this.maxValueBytes);
    const { kind, bytes } = encodeValue(value);

    return async (trx, details) => {
      details.versionId = versionId;
      details.valueHmac = this.audit?.hashValue(value) ?? null;
      details.fieldHmacs = this.audit?.hashFields?.(value) ?? null;
      const now = this.clock.now();
      // The secret's row stays locked until commit, so the checks below hold for the write.
      const { secret, created } = await this.upsertSecret(trx, path, now, metadata);
      assertLive(secret);

      const existing = await sql.versionById.first(this.state, trx, { secret_id: secret.id, id: versionId });
      if (existing) {
        const stored = this.ring.openValue(path, existing.id, existing.data_key_id, existing.sealed);
        if (existing.kind !== kind || !stored.equals(bytes)) {
          throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
        }
        const current = await this.stagesOf(trx, secret.id);
        return { path, id: existing.id, number: Number(existing.number), kind: existing.kind, createdAt: Number(existing.created_at), stages: current.get(existing.id) ?? [], value };
      }
      // One read of the stage rows (with their versions' numbers, for the compare-and-set); a secret this put created has none.
      const staged = created ? new Map<Stage, { id: string; number: number }>() : await this.stagedNumbers(trx, secret.id);
      if (expected !== undefined) assertCurrentVersion(path, created, staged.get('current')?.number ?? null, expected);

      const number = Number(secret.next_version);
      await sql.bumpVersion.execute(this.state, trx, { id: secret.id, next_version: number + 1, updated_at: now });
      const { dataKeyId, sealed } = this.ring.sealValue(path, versionId, bytes);
      await sql.insertVersion.execute(this.state, trx, { secret_id: secret.id, id: versionId, number, kind, data_key_id: dataKeyId, sealed, created_at: now });
      // Every move below is a compare-and-set against the stage rows read above.
      const held = new Map([...staged].map(([st, v]) => [st, v.id]));
      for (const stage of stages) await this.applyMove(trx, secret.id, stage, versionId, held.get(stage) ?? null, now, held);
      // A secret can hold more than maxVersions versions only once its numbers pass it.
      if (number > this.maxVersions) await this.prune(trx, secret.id, now);
      // A new version holds exactly the stages it was put with (no side move takes one from it).
      return { path, id: versionId, number, kind, createdAt: now, stages: STAGES.filter((st) => held.get(st) === versionId), value };
    };
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    const action: StoreAuditAction = STAGES.includes(stage) ? `secret.stage.${stage}` : 'secret.stage';
    await this.audited(action, path, () => this.moveStageAudited(action, path, stage, to, expectFrom));
  }

  /**
   * `moveStage` inside the caller's transaction (see {@link TransactionalPut}): the move and its
   * success event commit with the caller's other writes (the engine's finish step), or not at all.
   */
  async moveStageWithin(trx: Transaction<Schema>, path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    const action: StoreAuditAction = STAGES.includes(stage) ? `secret.stage.${stage}` : 'secret.stage';
    await this.moveStageAudited(action, path, stage, to, expectFrom, trx);
  }

  private async moveStageAudited(action: StoreAuditAction, path: string, stage: Stage, to: string | null, expectFrom: string | null, within?: Transaction<Schema>): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    await this.write(
      action,
      path,
      async (trx, details) => {
        details.versionId = to;
        const secret = await this.requireSecret(trx, path);
        assertLive(secret);
        if (to !== null) {
          const exists = await sql.versionExists.first(this.state, trx, { secret_id: secret.id, id: to });
          if (!exists) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
        }
        const held = await this.stageHolders(trx, secret.id);
        const holder = held.get(st) ?? null;
        if (holder !== expectFrom) {
          throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${holder ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
            details: { path, stage: st, expected: expectFrom, actual: holder },
          });
        }
        if (holder === to) return;
        await this.applyMove(trx, secret.id, st, to, expectFrom, this.clock.now(), held);
        await sql.touchSecret.execute(this.state, trx, { id: secret.id, updated_at: this.clock.now() });
      },
      within,
    );
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    return this.audited('secret.metadata', path, async () => {
      assertValidPath(path);
      const patch = checkMetadata(metadata);
      return this.write('secret.metadata', path, async (trx) => {
        const secret = await this.requireSecret(trx, path);
        assertLive(secret);
        await trx
          .updateTable('secrets')
          .set({ ...metadataColumns(patch), updated_at: this.clock.now() })
          .where('id', '=', secret.id)
          .execute();
        return this.info(trx, (await this.findSecret(trx, path))!);
      });
    });
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    return this.audited('secret.delete', path, () => this.removeAudited(path, options));
  }

  private async removeAudited(path: string, options: { recoveryDays?: number }): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    }
    return this.write('secret.delete', path, async (trx) => {
      const secret = await this.requireSecret(trx, path);
      assertLive(secret);
      const now = this.clock.now();
      await trx
        .updateTable('secrets')
        .set({ deleted_at: now, purge_after: now + days * DAY_MS, updated_at: now })
        .where('id', '=', secret.id)
        .execute();
      return this.info(trx, (await this.findSecret(trx, path))!);
    });
  }

  async restore(path: string): Promise<SecretInfo> {
    return this.audited('secret.restore', path, () => this.restoreAudited(path));
  }

  private async restoreAudited(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    return this.write('secret.restore', path, async (trx) => {
      const secret = await this.requireSecret(trx, path);
      if (secret.deleted_at === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
      await trx.updateTable('secrets').set({ deleted_at: null, purge_after: null, updated_at: this.clock.now() }).where('id', '=', secret.id).execute();
      return this.info(trx, (await this.findSecret(trx, path))!);
    });
  }

  async purge(path: string): Promise<void> {
    await this.audited('secret.purge', path, () => this.purgeAudited(path));
  }

  private async purgeAudited(path: string): Promise<void> {
    assertValidPath(path);
    await this.write('secret.purge', path, async (trx) => {
      const secret = await this.requireSecret(trx, path);
      this.refusePurge(path, secret);
      await this.deleteSecretRows(trx, secret.id);
    });
  }

  /**
   * Throws what `purge(path)` would throw right now (not found, not deleted, purge protection),
   * changing nothing; returns the secret's info when a purge would go ahead. For asking before a
   * purge that would be refused anyway.
   */
  async assertPurgeable(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    return this.guard(async () => {
      const secret = await this.requireSecret(this.state.db, path);
      this.refusePurge(path, secret);
      return this.info(this.state.db, secret);
    });
  }

  private refusePurge(path: string, secret: SecretRow): void {
    if (secret.deleted_at === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; delete it before purging`);
    const purgeAfter = Number(secret.purge_after);
    if (this.purgeProtection && this.clock.now() < purgeAfter) {
      throw new KeyturnError('KT_PURGE_PROTECTED', `${path} can be purged from ${new Date(purgeAfter).toISOString()}`, {
        details: { path, purgeAfter: new Date(purgeAfter).toISOString() },
      });
    }
  }

  /**
   * Drops one version (a rotation's cleanup past `retainPrevious`): only one that holds no stage
   * and is older than the retention hold (`retentionMs`, as pruning); a `secret.version.purge`
   * event commits with the delete. `gone` for a version or secret that is not there (or deleted:
   * its own purge drops its versions).
   */
  async purgeVersion(path: string, versionId: string): Promise<VersionPurge> {
    return this.audited('secret.version.purge', path, async () => {
      assertValidPath(path);
      return this.write(null, path, async (trx) => {
        const secret = await this.findSecret(trx, path, { lock: true });
        if (!secret || secret.deleted_at !== null) return { outcome: 'gone' as const };
        const version = (await this.versionInfos(trx, secret.id)).find((v) => v.id === versionId);
        if (!version) return { outcome: 'gone' as const };
        if (version.stages.length > 0) return { outcome: 'staged' as const, stages: version.stages };
        const until = version.createdAt + this.retentionMs;
        if (until > this.clock.now()) return { outcome: 'held' as const, until };
        await trx.deleteFrom('secret_versions').where('secret_id', '=', secret.id).where('id', '=', versionId).execute();
        await this.audit?.record(trx, { action: 'secret.version.purge', path, outcome: 'success', versionId });
        return { outcome: 'purged' as const };
      });
    });
  }

  /** Purges every deleted secret whose recovery window has ended; returns their paths. */
  async purgeExpired(): Promise<string[]> {
    return this.audited('secret.purge', null, () =>
      this.write(null, null, async (trx) => {
        const rows = await trx.selectFrom('secrets').select(['id', 'path']).where('deleted_at', 'is not', null).where('purge_after', '<=', this.clock.now()).execute();
        const paths = rows.map((r) => r.path).sort();
        for (const row of rows) await this.deleteSecretRows(trx, row.id);
        for (const path of paths) await this.audit?.record(trx, { action: 'secret.purge', path, outcome: 'success' });
        return paths;
      }),
    );
  }

  /** How many secrets (live and deleted) and versions the store holds. */
  async counts(): Promise<StoreCounts> {
    return this.guard(async () => {
      const secrets = await this.state.db
        .selectFrom('secrets')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>('deleted_at').as('deleted')])
        .executeTakeFirstOrThrow();
      const versions = await this.state.db
        .selectFrom('secret_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return { secrets: Number(secrets.n) - Number(secrets.deleted), deleted: Number(secrets.deleted), versions: Number(versions.n) };
    });
  }

  // ── internals ──────────────────────────────────────────────────────────

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw databaseError(e, this.state);
    }
  }

  /**
   * One transaction (or the caller's `within`); with an audit hook, the success event of `action`
   * is recorded in it, last.
   */
  private write<T>(action: StoreAuditAction | null, path: string | null, fn: (trx: Transaction<Schema>, details: AuditDetails) => Promise<T>, within?: Transaction<Schema>): Promise<T> {
    const body = async (trx: Transaction<Schema>): Promise<T> => {
      const details: AuditDetails = {};
      const result = await fn(trx, details);
      if (this.audit && action !== null) await this.audit.record(trx, { action, path, outcome: 'success', ...details });
      return result;
    };
    return this.guard(() => (within ? body(within) : transact(this.state.db, body)));
  }

  /** Runs an operation; when it fails, records a failure event (outside its rolled-back transaction) and rethrows. */
  private async audited<T>(action: StoreAuditAction, path: string | null, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      return this.failed(action, path, e);
    }
  }

  /** Records the failure event of an operation that threw `e` (unless the audit write itself failed), then rethrows `e`. */
  private async failed(action: StoreAuditAction, path: string | null, e: unknown): Promise<never> {
    if (this.audit && !isKeyturnError(e, 'KT_AUDIT_WRITE_FAILED')) {
      const event: StoreAuditEvent = { action, path: validPathOrNull(path), outcome: 'failure', errorCode: isKeyturnError(e) ? e.code : 'KT_INTERNAL' };
      // The caller gets the operation's own error; a failure to record it is not a second one.
      await this.audit.record(null, event).catch(() => undefined);
    }
    throw e;
  }

  private async findSecret(db: Db, path: string, options: { lock?: boolean } = {}): Promise<SecretRow | undefined> {
    // PostgreSQL: a row lock held to commit (a racing writer waits, then reads what this one wrote).
    // SQLite needs none: `begin immediate` already serializes writers.
    const lock = options.lock === true && this.state.dialect === 'postgres';
    return (lock ? sql.secretByPathForUpdate : sql.secretByPath).first(this.state, db, { path });
  }

  private async requireSecret(db: Db, path: string): Promise<SecretRow> {
    const secret = await this.findSecret(db, path);
    if (!secret) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    return secret;
  }

  /**
   * The secret's row, created if missing, locked until the transaction ends; `created` says
   * whether this transaction inserted it (a racing insert that lost finds the winner's row).
   */
  private async upsertSecret(trx: Transaction<Schema>, path: string, now: number, metadata: Partial<SecretMetadata> | undefined): Promise<{ secret: SecretRow; created: boolean }> {
    let secret = await this.findSecret(trx, path, { lock: true });
    let created = false;
    if (!secret) {
      const res = await trx
        .insertInto('secrets')
        .values({
          id: randomUUID(),
          path,
          type: null,
          description: null,
          owner: null,
          tags: '{}',
          created_at: now,
          updated_at: now,
          deleted_at: null,
          purge_after: null,
          next_version: 1,
          ...metadataColumns(metadata ?? {}),
        })
        .onConflict((oc) => oc.column('path').doNothing())
        .executeTakeFirst();
      created = Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
      secret = (await this.findSecret(trx, path, { lock: true }))!;
    }
    if (metadata && secret.deleted_at === null && Object.keys(metadata).length > 0) {
      await trx.updateTable('secrets').set(metadataColumns(metadata)).where('id', '=', secret.id).execute();
    }
    return { secret, created };
  }

  /** The secret's stage rows with their versions' numbers: stage → { id, number }. */
  private async stagedNumbers(trx: Transaction<Schema>, secretId: string): Promise<Map<Stage, { id: string; number: number }>> {
    const rows = await sql.stageRowsWithNumbers.rows(this.state, trx, { secret_id: secretId });
    return new Map(rows.map((r) => [r.stage as Stage, { id: r.version_id, number: Number(r.number) }]));
  }

  private async stagesOf(db: Db, secretId: string): Promise<Map<string, Stage[]>> {
    const rows = await sql.stageRows.rows(this.state, db, { secret_id: secretId });
    const out = new Map<string, Stage[]>();
    for (const stage of STAGES) {
      const row = rows.find((r) => r.stage === stage);
      if (row) out.set(row.version_id, [...(out.get(row.version_id) ?? []), stage]);
    }
    return out;
  }

  /** One compare-and-set on a stage row; the affected-row count decides who won. */
  private async casStage(trx: Transaction<Schema>, secretId: string, stage: Stage, to: string | null, from: string | null, now: number): Promise<void> {
    if (from === null && to === null) return;
    const changed =
      from === null
        ? await sql.stageInsert.changes(this.state, trx, { secret_id: secretId, stage, to, updated_at: now })
        : to === null
          ? await sql.stageDelete.changes(this.state, trx, { secret_id: secretId, stage, from })
          : await sql.stageUpdate.changes(this.state, trx, { secret_id: secretId, stage, from, to, updated_at: now });
    if (changed !== 1) {
      throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${stage} moved while it was being set`, { details: { stage, expected: from } });
    }
  }

  /** Moves `stage` from `from` to `to`, with the side moves that keep the stages coherent. */
  /**
   * Moves `stage` from `from` to `to`, with the side moves that keep the stages coherent. `held`
   * (the secret's stage rows as read in this transaction, see `stageHolders`) is kept up to date
   * with every move, so the side moves need no further read; each move is still a compare-and-set.
   */
  private async applyMove(trx: Transaction<Schema>, secretId: string, stage: Stage, to: string | null, from: string | null, now: number, held: Map<Stage, string>): Promise<void> {
    if (from === to) return;
    const move = async (st: Stage, next: string | null, prev: string | null) => {
      await this.casStage(trx, secretId, st, next, prev, now);
      if (next === null) held.delete(st);
      else held.set(st, next);
    };
    await move(stage, to, from);
    if (stage === 'current' && to !== null) {
      const previous = held.get('previous') ?? null;
      if (from !== null) await move('previous', from, previous);
      else if (previous === to) await move('previous', null, to);
      if (held.get('pending') === to) await move('pending', null, to);
    }
  }

  /** The secret's stage rows: stage → version id. */
  private async stageHolders(db: Db, secretId: string): Promise<Map<Stage, string>> {
    const rows = await sql.stageRows.rows(this.state, db, { secret_id: secretId });
    return new Map(rows.map((r) => [r.stage as Stage, r.version_id]));
  }

  private async versionInfos(db: Db, secretId: string): Promise<VersionInfo[]> {
    const rows = await db.selectFrom('secret_versions').select(['id', 'number', 'kind', 'created_at']).where('secret_id', '=', secretId).orderBy('number', 'desc').execute();
    const stages = await this.stagesOf(db, secretId);
    return rows.map((r) => ({ id: r.id, number: Number(r.number), kind: r.kind, createdAt: Number(r.created_at), stages: stages.get(r.id) ?? [] }));
  }

  private async info(db: Db, secret: SecretRow): Promise<SecretInfo> {
    const versions = await this.versionInfos(db, secret.id);
    const current = versions.find((v) => v.stages.includes('current'));
    return {
      path: secret.path,
      type: secret.type,
      description: secret.description,
      owner: secret.owner,
      tags: JSON.parse(secret.tags) as Record<string, string>,
      createdAt: Number(secret.created_at),
      updatedAt: Number(secret.updated_at),
      versionCount: versions.length,
      currentVersion: current ? { id: current.id, number: current.number } : null,
      deletedAt: secret.deleted_at === null ? null : Number(secret.deleted_at),
      purgeAfter: secret.purge_after === null ? null : Number(secret.purge_after),
    };
  }

  /** Drops the oldest unlabeled versions beyond `maxVersions`, never one inside the retention hold. */
  private async prune(trx: Transaction<Schema>, secretId: string, now: number): Promise<void> {
    const versions = await this.versionInfos(trx, secretId);
    let excess = versions.length - this.maxVersions;
    if (excess <= 0) return;
    for (const v of [...versions].reverse()) {
      if (excess <= 0) break;
      if (v.stages.length > 0 || v.createdAt > now - this.retentionMs) continue;
      await trx.deleteFrom('secret_versions').where('secret_id', '=', secretId).where('id', '=', v.id).execute();
      excess -= 1;
    }
  }

  private async deleteSecretRows(trx: Transaction<Schema>, secretId: string): Promise<void> {
    await trx.deleteFrom('secret_stages').where('secret_id', '=', secretId).execute();
    await trx.deleteFrom('secret_versions').where('secret_id', '=', secretId).execute();
    await trx.deleteFrom('secrets').where('id', '=', secretId).execute();
  }
}

/**
 * The compare-and-set of a put: the version staged current must be number `expected` (0: no
 * secret before this put). `actual`: the current version's number, null when none is staged.
 */
function assertCurrentVersion(path: string, created: boolean, actual: number | null, expected: number): void {
  const have = created ? 0 : actual;
  if (have === expected) return;
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = created ? 'it does not exist' : have === null ? 'it exists with no current version' : `its current version is ${have}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, {
    details: { path, expected, actual: have, exists: !created },
  });
}

/** The path when it is a valid one; an invalid one is never echoed into an event. */
function validPathOrNull(path: string | null): string | null {
  if (path === null) return null;
  try {
    assertValidPath(path);
    return path;
  } catch {
    return null;
  }
}

function assertLive(secret: SecretRow): void {
  if (secret.deleted_at !== null) {
    throw new KeyturnError('KT_SECRET_DELETED', `${secret.path} is deleted; it can be restored until ${new Date(Number(secret.purge_after)).toISOString()}`, {
      details: { path: secret.path },
    });
  }
}

function metadataColumns(m: Partial<SecretMetadata>): Partial<Pick<SecretRow, 'type' | 'description' | 'owner' | 'tags'>> {
  const out: Partial<Pick<SecretRow, 'type' | 'description' | 'owner' | 'tags'>> = {};
  if (m.type !== undefined) out.type = m.type;
  if (m.description !== undefined) out.description = m.description;
  if (m.owner !== undefined) out.owner = m.owner;
  if (m.tags !== undefined) out.tags = JSON.stringify(m.tags);
  return out;
}
