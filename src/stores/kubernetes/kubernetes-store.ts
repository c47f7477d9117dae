/**
 * The kubernetes store: each secret is an index Secret named for its path (./names.ts) holding
 * the CURRENT value as ordinary Secret data (one key per field, or `value` for a string), so pods
 * mount it as they would any Secret, and Keyturn's record of the secret in its
 * `keyturn.dev/state` annotation (./state.ts); each version is a Secret of its own holding the
 * value's exact bytes under `value`, labelled with the path's hash.
 *
 * Every change (put, stage move, metadata, delete, restore) replaces the index Secret with the
 * resourceVersion it read: the API server refuses a stale one with 409 Conflict, and the store
 * reads again and decides again, so of two racing writers exactly one wins and the other gets
 * KT_STAGE_CONFLICT or KT_VERSION_MISMATCH when its expectation no longer holds. A version's
 * Secret is created before the index names it; one left behind by a crash is reused (same id and
 * value) or replaced by the retried put, and one whose put lost its race is deleted.
 *
 * @example
 * ```ts
 * const store = new KubernetesStore({ type: 'kubernetes', namespace: 'keyturn' }, { clock: systemClock, purgeProtection: true });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' }); // Secret prod.db.app has keys username, password
 * ```
 */
import type * as K8s from '@kubernetes/client-node';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { decodeValue, encodeValue, parseStage, printable } from '../../core/values.js';
import { connect, describeFailure, type KubeApi } from '../../consumers/kubernetes/api.js';
import { ANNOTATIONS, MANAGED_BY, secretData } from '../../consumers/kubernetes/secret-data.js';
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
import type { KubernetesStoreConfig } from './config.js';
import { indexName, pathHash, versionName } from './names.js';
import { infoOf, newState, parseState, stagesOf, STATE_ANNOTATION, type IndexState, type VersionEntry } from './state.js';
import { checkPut } from '../put-input.js';
import { checkMetadata } from '../../core/metadata.js';
import { moveStageIn } from '../stage-moves.js';

export interface KubernetesStoreOptions {
  clock: Clock;
  maxValueBytes: number;
  maxVersions: number;
  retentionMs: number;
  purgeProtection: boolean;
}

const ROLE = 'keyturn.dev/role';
const PATH_HASH = 'keyturn.dev/path-hash';
/** Compare-and-set rounds before giving up (each lost round means another writer changed the secret). */
const CAS_ROUNDS = 20;

/** The index as read: its state and the object (null when the path has no index yet). */
interface Read {
  state: IndexState | null;
  object: K8s.V1Secret | null;
}

/** What one round of a change decided: the new state (and current value), or nothing to write. */
type Decision<T> = { write: false; result: T } | { write: true; state: IndexState; current: SecretValue | null | 'keep'; result: T; after?: () => Promise<void> };

export class KubernetesStore implements SecretStore {
  readonly kind = 'kubernetes';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });
  private api: Promise<KubeApi> | null = null;

  constructor(
    private readonly config: KubernetesStoreConfig,
    private readonly options: KubernetesStoreOptions,
  ) {}

  private client(): Promise<KubeApi> {
    return (this.api ??= connect(this.config).catch((e: unknown) => {
      this.api = null;
      throw this.mapError(e, '(not connected)');
    }));
  }

  /** KT_STORE_AUTH_FAILED (401/403), KT_STORE_UNAVAILABLE (429, 5xx, unreachable, after retries) or KT_STORE_FAILED. */
  private mapError(e: unknown, server: string): KeyturnError {
    if (e instanceof KeyturnError) return e;
    const f = describeFailure(e, server);
    const details = { ...(f.code > 0 ? { httpStatus: f.code } : {}), ...(f.statusReason ? { reason: f.statusReason } : {}) };
    if (f.code === 401 || f.code === 403) return new KeyturnError('KT_STORE_AUTH_FAILED', `kubernetes store: ${f.reason}`, { details });
    if (f.code === 429 || f.code >= 500 || (f.code === 0 && f.reason.startsWith('cannot reach'))) return new KeyturnError('KT_STORE_UNAVAILABLE', `kubernetes store: ${f.reason}`, { details });
    return new KeyturnError('KT_STORE_FAILED', `kubernetes store: ${f.reason}`, { details });
  }

  /** Runs one API call through the retrying client; a failure is a KeyturnError carrying the HTTP status (`httpStatus`). */
  private async call<T>(what: string, fn: (k: KubeApi) => Promise<T>): Promise<T> {
    const k = await this.client();
    try {
      return await k.call(new AbortController().signal, what, () => fn(k));
    } catch (e) {
      throw Object.assign(this.mapError(e, k.server), { httpStatus: describeFailure(e, k.server).code });
    }
  }

  private static status(e: unknown): number {
    return typeof (e as { httpStatus?: unknown }).httpStatus === 'number' ? (e as { httpStatus: number }).httpStatus : 0;
  }

  private async readSecret(name: string): Promise<K8s.V1Secret | null> {
    try {
      return await this.call(`reading Secret ${name}`, (k) => k.core.readNamespacedSecret({ name, namespace: this.config.namespace }));
    } catch (e) {
      if (KubernetesStore.status(e) === 404) return null;
      throw e;
    }
  }

  private async readIndex(path: string): Promise<Read> {
    const name = indexName(path);
    const object = await this.readSecret(name);
    if (!object) return { state: null, object: null };
    const state = parseState(object.metadata?.annotations?.[STATE_ANNOTATION], name);
    if (state.path !== path) throw new KeyturnError('KT_STORE_FAILED', `the Secret ${name} belongs to ${printable(state.path)}, not ${path} (a name collision)`, { details: { object: name } });
    return { state, object };
  }

  /**
   * The compare-and-set loop: reads the index, lets `decide` check and change the state, and
   * writes it back with the resourceVersion read (create when new); a 409 starts a new round.
   */
  private async change<T>(path: string, decide: (read: Read) => Promise<Decision<T>>): Promise<T> {
    for (let round = 0; round < CAS_ROUNDS; round++) {
      const read = await this.readIndex(path);
      const d = await decide(read);
      if (!d.write) return d.result;
      d.state.updatedAt = Math.max(this.options.clock.now(), d.state.createdAt);
      const name = indexName(path);
      const data = d.current === 'keep' ? (read.object?.data ?? {}) : d.current === null ? {} : secretData(d.current);
      const current = d.state.versions.find((v) => v.id === d.state.stages.current);
      const annotations: Record<string, string> = { ...(read.object?.metadata?.annotations ?? {}), [STATE_ANNOTATION]: JSON.stringify(d.state), [ANNOTATIONS.path]: path };
      if (current) Object.assign(annotations, { [ANNOTATIONS.versionId]: current.id, [ANNOTATIONS.version]: String(current.number), [ANNOTATIONS.kind]: current.kind });
      else for (const k of [ANNOTATIONS.versionId, ANNOTATIONS.version, ANNOTATIONS.kind]) delete annotations[k];
      const labels = { ...(read.object?.metadata?.labels ?? {}), [MANAGED_BY.key]: MANAGED_BY.value, [ROLE]: 'index', [PATH_HASH]: pathHash(path) };
      try {
        if (read.object === null) {
          const body: K8s.V1Secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: this.config.namespace, labels, annotations }, data };
          await this.call(`creating Secret ${name}`, (k) => k.core.createNamespacedSecret({ namespace: this.config.namespace, body }));
        } else {
          const body: K8s.V1Secret = { ...read.object, metadata: { ...read.object.metadata, labels, annotations }, data };
          await this.call(`replacing Secret ${name}`, (k) => k.core.replaceNamespacedSecret({ name, namespace: this.config.namespace, body }));
        }
      } catch (e) {
        if (KubernetesStore.status(e) === 409) continue;
        throw e;
      }
      await d.after?.().catch(() => undefined);
      return d.result;
    }
    throw new KeyturnError('KT_STORE_UNAVAILABLE', `kubernetes store: ${path} kept changing under Keyturn (${CAS_ROUNDS} resourceVersion conflicts in a row)`, { details: { path } });
  }

  private async versionValue(path: string, entry: VersionEntry): Promise<SecretValue> {
    const object = await this.readSecret(entry.object);
    const held = object?.metadata?.annotations ?? {};
    if (!object || held[ANNOTATIONS.versionId] !== entry.id || held[ANNOTATIONS.path] !== path)
      throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(entry.id)}" (its Secret ${entry.object} is gone)`);
    return decodeValue(entry.kind, Buffer.from(object.data?.value ?? '', 'base64'));
  }

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    assertValidPath(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    const { state } = await this.readIndex(path);
    if (!state) return null;
    assertLive(state);
    let entry: VersionEntry | undefined;
    if (select.versionId !== undefined || select.number !== undefined) {
      entry = select.versionId !== undefined ? state.versions.find((v) => v.id === select.versionId) : state.versions.find((v) => v.number === select.number);
      if (!entry) {
        const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : `number ${select.number ?? '?'}`;
        throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
      }
    } else {
      const id = state.stages[stage ?? 'current'];
      if (id === undefined) return null;
      entry = state.versions.find((v) => v.id === id);
      if (!entry) return null;
    }
    const value = await this.versionValue(path, entry);
    return { path, id: entry.id, number: entry.number, kind: entry.kind, createdAt: entry.createdAt, stages: stagesOf(state, entry.id), value };
  }

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    assertValidPath(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, this.options.maxValueBytes);
    const { kind, bytes } = encodeValue(value);
    const objectName = versionName(path, versionId);
    let made: { createdAt: number } | null = null;

    const result = await this.change<Version>(path, async ({ state: read }) => {
      if (read) assertLive(read);
      const existing = read?.versions.find((v) => v.id === versionId);
      if (existing && read) {
        const stored = encodeValue(await this.versionValue(path, existing));
        if (existing.kind !== kind || !stored.bytes.equals(bytes)) throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
        return { write: false, result: { path, id: existing.id, number: existing.number, kind, createdAt: existing.createdAt, stages: stagesOf(read, existing.id), value } };
      }
      if (expected !== undefined) assertCurrentVersion(path, read, expected);
      made ??= await this.writeVersionObject(path, versionId, objectName, kind, bytes);
      const state = read ? (structuredClone(read) as IndexState) : newState(path, made.createdAt);
      if (metadata) state.meta = { ...state.meta, ...metadata };
      const number = state.next;
      state.next += 1;
      state.versions.push({ id: versionId, number, kind, createdAt: made.createdAt, object: objectName });
      let currentChanged = false;
      for (const st of stages) currentChanged = moveIn(state, st, versionId) || currentChanged;
      const dropped = this.pruneIn(state);
      return {
        write: true,
        state,
        current: currentChanged ? value : 'keep',
        result: { path, id: versionId, number, kind, createdAt: made.createdAt, stages: stagesOf(state, versionId), value },
        after: () => this.deleteObjects(dropped.map((v) => v.object)),
      };
    }).catch(async (e: unknown) => {
      // A put that lost (the index, read in its last round, does not name the version) leaves no
      // version Secret behind. After an outage the index may name it after all: it stays.
      const decided = e instanceof KeyturnError && ['KT_VERSION_MISMATCH', 'KT_SECRET_DELETED', 'KT_VERSION_CONFLICT'].includes(e.code);
      if (made !== null && decided) await this.deleteObjects([objectName]).catch(() => undefined);
      throw e;
    });
    return result;
  }

  /** Creates the version's Secret, or takes over one a crashed put of this id left; returns its creation time. */
  private async writeVersionObject(path: string, versionId: string, name: string, kind: 'string' | 'json', bytes: Buffer): Promise<{ createdAt: number }> {
    const annotations = { [ANNOTATIONS.path]: path, [ANNOTATIONS.versionId]: versionId, [ANNOTATIONS.kind]: kind };
    const labels = { [MANAGED_BY.key]: MANAGED_BY.value, [ROLE]: 'version', [PATH_HASH]: pathHash(path) };
    const data = { value: bytes.toString('base64') };
    const body: K8s.V1Secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: this.config.namespace, labels, annotations }, data };
    try {
      const created = await this.call(`creating Secret ${name}`, (k) => k.core.createNamespacedSecret({ namespace: this.config.namespace, body }));
      return { createdAt: timeOf(created, this.options.clock) };
    } catch (e) {
      if (KubernetesStore.status(e) !== 409) throw e;
    }
    const found = await this.readSecret(name);
    if (!found) return this.writeVersionObject(path, versionId, name, kind, bytes);
    if (found.data?.value !== data.value || found.metadata?.annotations?.[ANNOTATIONS.kind] !== kind) {
      const replaced = await this.call(`replacing Secret ${name}`, (k) =>
        k.core.replaceNamespacedSecret({ name, namespace: this.config.namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: found.metadata?.resourceVersion } } }),
      );
      return { createdAt: timeOf(replaced, this.options.clock) };
    }
    return { createdAt: timeOf(found, this.options.clock) };
  }

  private async deleteObjects(names: string[]): Promise<void> {
    for (const name of names) {
      try {
        await this.call(`deleting Secret ${name}`, (k) => k.core.deleteNamespacedSecret({ name, namespace: this.config.namespace }));
      } catch (e) {
        if (KubernetesStore.status(e) !== 404) throw e;
      }
    }
  }

  /** Drops the oldest unstaged versions past `maxVersions` and outside the retention hold; returns them. */
  private pruneIn(state: IndexState): VersionEntry[] {
    let excess = state.versions.length - this.options.maxVersions;
    if (excess <= 0) return [];
    const now = this.options.clock.now();
    const dropped: VersionEntry[] = [];
    for (const v of state.versions) {
      if (excess <= 0) break;
      if (stagesOf(state, v.id).length > 0 || v.createdAt > now - this.options.retentionMs) continue;
      dropped.push(v);
      excess -= 1;
    }
    state.versions = state.versions.filter((v) => !dropped.includes(v));
    return dropped;
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    await this.change<void>(path, async ({ state: read }) => {
      if (!read) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      assertLive(read);
      if (to !== null && !read.versions.some((v) => v.id === to)) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
      const holder = read.stages[st] ?? null;
      if (holder !== expectFrom)
        throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${holder ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
          details: { path, stage: st, expected: expectFrom, actual: holder },
        });
      if (holder === to) return { write: false, result: undefined };
      const state = structuredClone(read) as IndexState;
      const currentChanged = to === null ? (delete state.stages[st], st === 'current') : moveIn(state, st, to);
      let current: SecretValue | null | 'keep' = 'keep';
      if (currentChanged) {
        const entry = state.versions.find((v) => v.id === state.stages.current);
        current = entry ? await this.versionValue(path, entry) : null;
      }
      return { write: true, state, current, result: undefined };
    });
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    const { state } = await this.readIndex(path);
    if (!state) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    assertLive(state);
    return [...state.versions].reverse().map((v) => ({ id: v.id, number: v.number, kind: v.kind, createdAt: v.createdAt, stages: stagesOf(state, v.id) }));
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    const { state } = await this.readIndex(path);
    return state ? infoOf(state) : null;
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    assertValidPath(path);
    const patch = checkMetadata(metadata);
    return this.change<SecretInfo>(path, async ({ state: read }) => {
      if (!read) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      assertLive(read);
      const state = structuredClone(read) as IndexState;
      state.meta = { ...state.meta, ...patch };
      return { write: true, state, current: 'keep', result: infoOf({ ...state, updatedAt: Math.max(this.options.clock.now(), state.createdAt) }) };
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const paths: string[] = [];
    let cont: string | undefined;
    do {
      const page = await this.call('listing Secrets', (k) =>
        k.core.listNamespacedSecret({ namespace: this.config.namespace, labelSelector: `${MANAGED_BY.key}=${MANAGED_BY.value},${ROLE}=index`, limit: 500, _continue: cont }),
      );
      for (const item of page.items) {
        const text = item.metadata?.annotations?.[STATE_ANNOTATION];
        if (text === undefined) continue;
        const state = parseState(text, item.metadata?.name ?? '?');
        if ((state.deletedAt !== null) !== (options.deleted === true)) continue;
        if (pathHasPrefix(state.path, base)) paths.push(state.path);
      }
      cont = page.metadata?._continue || undefined;
    } while (cont !== undefined);
    for (const p of paths.sort()) yield p;
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS)
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    return this.change<SecretInfo>(path, async ({ state: read }) => {
      if (!read) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      assertLive(read);
      const state = structuredClone(read) as IndexState;
      const now = this.options.clock.now();
      state.deletedAt = now;
      state.purgeAfter = now + days * DAY_MS;
      // Applications reading the Secret see no value while the secret is deleted; restore puts it back.
      return { write: true, state, current: null, result: infoOf({ ...state, updatedAt: Math.max(now, state.createdAt) }) };
    });
  }

  async restore(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    return this.change<SecretInfo>(path, async ({ state: read }) => {
      if (!read) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      if (read.deletedAt === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
      const state = structuredClone(read) as IndexState;
      state.deletedAt = null;
      state.purgeAfter = null;
      const entry = state.versions.find((v) => v.id === state.stages.current);
      const current = entry ? await this.versionValue(path, entry) : null;
      return { write: true, state, current, result: infoOf({ ...state, updatedAt: Math.max(this.options.clock.now(), state.createdAt) }) };
    });
  }

  async assertPurgeable(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    const { state } = await this.readIndex(path);
    if (!state) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    this.refusePurge(state);
    return infoOf(state);
  }

  private refusePurge(state: IndexState): void {
    if (state.deletedAt === null) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${state.path} is not deleted; delete it before purging`);
    const purgeAfter = Number(state.purgeAfter);
    if (this.options.purgeProtection && this.options.clock.now() < purgeAfter)
      throw new KeyturnError('KT_PURGE_PROTECTED', `${state.path} can be purged from ${new Date(purgeAfter).toISOString()}`, {
        details: { path: state.path, purgeAfter: new Date(purgeAfter).toISOString() },
      });
  }

  /** Deletes the index (with its resourceVersion as precondition), then every version Secret of the path. */
  async purge(path: string): Promise<void> {
    assertValidPath(path);
    for (let round = 0; round < CAS_ROUNDS; round++) {
      const { state, object } = await this.readIndex(path);
      if (!state || !object) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      this.refusePurge(state);
      const name = indexName(path);
      try {
        await this.call(`deleting Secret ${name}`, (k) =>
          k.core.deleteNamespacedSecret({ name, namespace: this.config.namespace, body: { preconditions: { resourceVersion: object.metadata?.resourceVersion } } }),
        );
      } catch (e) {
        const status = KubernetesStore.status(e);
        if (status === 409) continue;
        if (status === 404) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
        throw e;
      }
      const page = await this.call('listing Secrets', (k) => k.core.listNamespacedSecret({ namespace: this.config.namespace, labelSelector: `${PATH_HASH}=${pathHash(path)},${ROLE}=version` }));
      await this.deleteObjects(page.items.filter((i) => i.metadata?.annotations?.[ANNOTATIONS.path] === path).map((i) => i.metadata!.name!));
      return;
    }
    throw new KeyturnError('KT_STORE_UNAVAILABLE', `kubernetes store: ${path} kept changing while it was being purged`, { details: { path } });
  }

  async purgeVersion(path: string, versionId: string): Promise<VersionPurge> {
    assertValidPath(path);
    return this.change<VersionPurge>(path, async ({ state: read }) => {
      if (!read || read.deletedAt !== null) return { write: false, result: { outcome: 'gone' } };
      const entry = read.versions.find((v) => v.id === versionId);
      if (!entry) return { write: false, result: { outcome: 'gone' } };
      const stages = stagesOf(read, versionId);
      if (stages.length > 0) return { write: false, result: { outcome: 'staged', stages } };
      const until = entry.createdAt + this.options.retentionMs;
      if (until > this.options.clock.now()) return { write: false, result: { outcome: 'held', until } };
      const state = structuredClone(read) as IndexState;
      state.versions = state.versions.filter((v) => v.id !== versionId);
      return { write: true, state, current: 'keep', result: { outcome: 'purged' }, after: () => this.deleteObjects([entry.object]) };
    });
  }

  async close(): Promise<void> {
    this.api = null;
  }
}

/** Moves `stage` onto `to` in `state` with the side moves (current's old holder becomes previous; pending leaves the new current). True when current moved. */
function moveIn(state: IndexState, stage: Stage, to: string): boolean {
  return moveStageIn(state.stages, stage, to) && stage === 'current';
}

/** The creation time the API server reports (seconds), or the clock when it reports none. */
function timeOf(object: K8s.V1Secret, clock: Clock): number {
  const t = object.metadata?.creationTimestamp;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : Number.NaN;
  return Number.isFinite(ms) ? ms : clock.now();
}

function assertLive(state: IndexState): void {
  if (state.deletedAt !== null)
    throw new KeyturnError('KT_SECRET_DELETED', `${state.path} is deleted; it can be restored until ${new Date(Number(state.purgeAfter)).toISOString()}`, { details: { path: state.path } });
}

function assertCurrentVersion(path: string, state: IndexState | null, expected: number): void {
  const currentId = state?.stages.current;
  const actual = state === null ? 0 : (state.versions.find((v) => v.id === currentId)?.number ?? null);
  if (actual === expected) return;
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = state === null ? 'it does not exist' : actual === null ? 'it exists with no current version' : `its current version is ${actual}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, { details: { path, expected, actual, exists: state !== null } });
}
