/**
 * The AWS Secrets Manager store: each Keyturn secret is one AWS secret (named `prefix + path`),
 * each Keyturn version one AWS version. Keyturn's stages are AWS's own staging labels
 * (AWSCURRENT, AWSPENDING, AWSPREVIOUS), so applications reading the secret with GetSecretValue
 * see Keyturn's current value. A version's Keyturn id becomes a deterministic ClientRequestToken
 * (AWS's idempotency key and VersionId), and one custom label carries its number, kind and id
 * (./labels.ts). Stage moves are UpdateSecretVersionStage with RemoveFromVersionId: AWS's own
 * compare-and-set. See docs/stores/aws.md.
 *
 * @example
 * ```ts
 * const store = new AwsStore({ type: 'aws', region: 'eu-west-1', prefix: 'keyturn/' }, { clock: systemClock });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
  type DescribeSecretResponse,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath, isValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { encodeValue, parseStage, printable } from '../../core/values.js';
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
import type { AwsStoreConfig } from './config.js';
import { awsCode, storeError } from './errors.js';
import { AWS_STAGE, finalLabel, infoLabel, isKeyturnLabel, numberLabel, readLabels, tokenFor } from './labels.js';
import { checkMetadata } from '../../core/metadata.js';
import { checkPut } from '../put-input.js';

/**
 * The store's limits and clock (from the KEYTURN_* store settings; see ./module.ts).
 *
 * @example
 * ```ts
 * const options: AwsStoreOptions = { clock: systemClock, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true };
 * ```
 */
export interface AwsStoreOptions {
  clock: Clock;
  maxValueBytes?: number;
  maxVersions?: number;
  retentionMs?: number;
  purgeProtection?: boolean;
}

/**
 * AWS keeps a deleted secret at most 30 days (RecoveryWindowInDays 7 to 30); longer Keyturn windows are refused.
 *
 * @example
 * ```ts
 * if (days > AWS_MAX_RECOVERY_DAYS) throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', '...');
 * ```
 */
export const AWS_MAX_RECOVERY_DAYS = 30;
const MAX_NAME = 512;
/** AWS's quota: 20 staging labels across all versions of a secret. */
const LABELS_PER_SECRET = 20;
/** Labels a put may hold at once: Keyturn's three while it finishes, and one AWS stage taken by no version yet. */
const LABELS_PER_PUT = 4;
const TYPE_TAG = 'keyturn:type';
const OWNER_TAG = 'keyturn:owner';
const DAYS_TAG = 'keyturn:recovery-days';

/** One visible version (one with a label) as DescribeSecret shows it. */
interface Seen {
  awsId: string;
  /** Keyturn's id; the AWS VersionId for a version Keyturn did not write. */
  id: string;
  ours: boolean;
  number: number | null;
  claimed: number | null;
  kind: 'string' | 'json';
  stages: Stage[];
  labels: string[];
}

/** A secret as DescribeSecret shows it. */
interface View {
  raw: DescribeSecretResponse;
  deleted: boolean;
  versions: Seen[];
}

export class AwsStore implements SecretStore {
  readonly kind = 'aws';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });

  private sm: SecretsManagerClient | undefined;
  private readonly prefix: string;
  private readonly clock: Clock;
  readonly maxValueBytes: number;
  readonly maxVersions: number;
  readonly retentionMs: number;
  readonly purgeProtection: boolean;

  constructor(
    private readonly config: AwsStoreConfig,
    options: AwsStoreOptions,
  ) {
    this.prefix = config.prefix ?? '';
    this.clock = options.clock;
    this.maxValueBytes = options.maxValueBytes ?? 64 * 1024;
    this.maxVersions = options.maxVersions ?? 100;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.purgeProtection = options.purgeProtection ?? true;
  }

  private get endpoint(): string {
    return this.config.endpoint ?? `https://secretsmanager.${this.config.region}.amazonaws.com`;
  }

  /** The client, made at first use; credentials come from the SDK's default provider chain. */
  private client(): SecretsManagerClient {
    this.sm ??= new SecretsManagerClient({
      region: this.config.region,
      ...(this.config.endpoint !== undefined ? { endpoint: this.config.endpoint } : {}),
      ...(this.config.profile !== undefined ? { profile: this.config.profile } : {}),
    });
    return this.sm;
  }

  private fail(e: unknown): KeyturnError {
    return storeError(e, this.endpoint);
  }

  private nameOf(path: string): string {
    assertValidPath(path);
    const name = this.prefix + path;
    if (name.length > MAX_NAME)
      throw new KeyturnError('KT_PATH_TOO_LONG', `the secret name "${printable(this.prefix)}..." is ${name.length} characters with the store's prefix; AWS allows ${MAX_NAME}`);
    return name;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  /** The secret as DescribeSecret shows it; null when AWS has none of that name. */
  private async view(name: string): Promise<View | null> {
    let raw: DescribeSecretResponse;
    try {
      raw = await this.client().send(new DescribeSecretCommand({ SecretId: name }));
    } catch (e) {
      if (awsCode(e) === 'ResourceNotFoundException') return null;
      throw this.fail(e);
    }
    const versions: Seen[] = [];
    for (const [awsId, labels] of Object.entries(raw.VersionIdsToStages ?? {})) {
      if (labels.length === 0) continue;
      const info = readLabels(labels);
      versions.push({ awsId, id: info.id ?? awsId, ours: info.id !== null, number: info.number, claimed: info.claimed, kind: info.kind, stages: info.stages, labels });
    }
    return { raw, deleted: raw.DeletedDate !== undefined, versions };
  }

  private async liveView(path: string, name: string): Promise<View> {
    const view = await this.view(name);
    if (!view) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (view.deleted) throw this.deletedError(path, view);
    return view;
  }

  private deletedError(path: string, view?: View): KeyturnError {
    const after = view ? this.purgeAfter(view) : null;
    return new KeyturnError('KT_SECRET_DELETED', `${path} is deleted${after !== null ? `; it can be restored until ${new Date(after).toISOString()}` : ''}`, { details: { path } });
  }

  /**
   * When a deleted secret was deleted and when its recovery window ends. AWS documents
   * DescribeSecret's DeletedDate both as the time of the delete and as the date the secret is
   * scheduled for deletion; windows are 7 days or more, so a date still ahead is the latter. The
   * window's length is the `keyturn:recovery-days` tag set before the delete (AWS's 30 without it).
   */
  private deletion(view: View): { deletedAt: number; purgeAfter: number } | null {
    if (view.raw.DeletedDate === undefined) return null;
    const tagged = Number(tagsOf(view.raw)[DAYS_TAG] ?? DEFAULT_RECOVERY_DAYS);
    const windowMs = (Number.isInteger(tagged) ? tagged : DEFAULT_RECOVERY_DAYS) * DAY_MS;
    const t = view.raw.DeletedDate.getTime();
    return t > this.clock.now() ? { deletedAt: t - windowMs, purgeAfter: t } : { deletedAt: t, purgeAfter: t + windowMs };
  }

  private purgeAfter(view: View): number | null {
    return this.deletion(view)?.purgeAfter ?? null;
  }

  /** The version a Keyturn id names: one Keyturn wrote with that id, else one AWS named so that Keyturn did not write. */
  private find(view: View, versionId: string): Seen | undefined {
    return view.versions.find((v) => v.ours && v.id === versionId) ?? view.versions.find((v) => !v.ours && v.awsId === versionId);
  }

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    const name = this.nameOf(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    if (select.versionId === undefined && select.number === undefined) {
      try {
        return this.toVersion(path, await this.client().send(new GetSecretValueCommand({ SecretId: name, VersionStage: AWS_STAGE[stage ?? 'current'] })));
      } catch (e) {
        if (awsCode(e) === 'ResourceNotFoundException') {
          // No secret, or no version holding the stage; a deleted secret says so.
          const view = await this.view(name);
          if (view?.deleted) throw this.deletedError(path, view);
          return null;
        }
        if (awsCode(e) === 'InvalidRequestException') throw this.deletedError(path, (await this.view(name)) ?? undefined);
        throw this.fail(e);
      }
    }
    const view = await this.view(name);
    if (!view) return null;
    if (view.deleted) throw this.deletedError(path, view);
    const seen = select.versionId !== undefined ? this.find(view, select.versionId) : view.versions.find((v) => v.number === select.number);
    if (!seen || (seen.ours && seen.number === null)) {
      const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : `number ${select.number ?? '?'}`;
      throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
    }
    return this.readVersion(path, name, seen.awsId);
  }

  private async readVersion(path: string, name: string, awsId: string): Promise<Version> {
    try {
      return this.toVersion(path, await this.client().send(new GetSecretValueCommand({ SecretId: name, VersionId: awsId })));
    } catch (e) {
      throw this.fail(e);
    }
  }

  private toVersion(path: string, out: { VersionId?: string; SecretString?: string; VersionStages?: string[]; CreatedDate?: Date }): Version {
    const info = readLabels(out.VersionStages ?? []);
    const text = out.SecretString ?? '';
    let value: SecretValue = text;
    if (info.kind === 'json') value = JSON.parse(text) as SecretValue;
    return { path, id: info.id ?? out.VersionId ?? '', number: info.number ?? 0, kind: info.kind, createdAt: out.CreatedDate?.getTime() ?? 0, stages: info.stages, value };
  }

  /** Every labeled version with its creation time (ListSecretVersionIds, all pages). */
  private async versionList(name: string): Promise<Array<{ awsId: string; labels: string[]; created: number }>> {
    const out: Array<{ awsId: string; labels: string[]; created: number }> = [];
    let token: string | undefined;
    do {
      const page: { Versions?: Array<{ VersionId?: string; VersionStages?: string[]; CreatedDate?: Date }>; NextToken?: string } = await this.client().send(
        new ListSecretVersionIdsCommand({ SecretId: name, MaxResults: 100, ...(token ? { NextToken: token } : {}) }),
      );
      for (const v of page.Versions ?? [])
        if (v.VersionId && (v.VersionStages ?? []).length > 0) out.push({ awsId: v.VersionId, labels: v.VersionStages ?? [], created: v.CreatedDate?.getTime() ?? 0 });
      token = page.NextToken;
    } while (token);
    return out;
  }

  /** Keyturn's versions (numbered ones, and labeled ones Keyturn did not write, as number 0), newest first. */
  private async versionInfos(name: string): Promise<VersionInfo[]> {
    const list = await this.versionList(name);
    const out: VersionInfo[] = [];
    for (const v of list) {
      const info = readLabels(v.labels);
      if (info.id !== null && info.number === null) continue; // a put still in flight (or one that lost its race)
      out.push({ id: info.id ?? v.awsId, number: info.number ?? 0, kind: info.kind, createdAt: v.created, stages: info.stages });
    }
    return out.sort((a, b) => b.number - a.number || b.createdAt - a.createdAt);
  }

  async versions(path: string): Promise<VersionInfo[]> {
    const name = this.nameOf(path);
    try {
      await this.liveView(path, name);
      return await this.versionInfos(name);
    } catch (e) {
      throw this.fail(e);
    }
  }

  async describe(path: string): Promise<SecretInfo | null> {
    const name = this.nameOf(path);
    const view = await this.view(name);
    return view ? this.info(path, view) : null;
  }

  private info(path: string, view: View): SecretInfo {
    const tags = tagsOf(view.raw);
    const user: Record<string, string> = {};
    for (const [k, v] of Object.entries(tags)) if (!k.startsWith('keyturn:')) user[k] = v;
    const numbered = view.versions.filter((v) => !(v.ours && v.number === null));
    const current = view.versions.find((v) => v.stages.includes('current'));
    return {
      path,
      type: tags[TYPE_TAG] ?? null,
      description: view.raw.Description === undefined || view.raw.Description === '' ? null : view.raw.Description,
      owner: tags[OWNER_TAG] ?? null,
      tags: user,
      createdAt: view.raw.CreatedDate?.getTime() ?? 0,
      updatedAt: view.raw.LastChangedDate?.getTime() ?? view.raw.CreatedDate?.getTime() ?? 0,
      versionCount: numbered.length,
      currentVersion: current ? { id: current.id, number: current.number ?? 0 } : null,
      deletedAt: this.deletion(view)?.deletedAt ?? null,
      purgeAfter: this.purgeAfter(view),
    };
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const start = this.prefix + base;
    const paths: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page: { SecretList?: Array<{ Name?: string; DeletedDate?: Date }>; NextToken?: string } = await this.client().send(
          new ListSecretsCommand({
            MaxResults: 100,
            IncludePlannedDeletion: options.deleted === true,
            ...(start !== '' ? { Filters: [{ Key: 'name', Values: [start] }] } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        for (const s of page.SecretList ?? []) {
          if (s.Name === undefined || !s.Name.startsWith(this.prefix) || (s.DeletedDate !== undefined) !== (options.deleted === true)) continue;
          const path = s.Name.slice(this.prefix.length);
          if (isValidPath(path) && pathHasPrefix(path, base)) paths.push(path);
        }
        token = page.NextToken;
      } while (token);
    } catch (e) {
      throw this.fail(e);
    }
    for (const p of [...new Set(paths)].sort()) yield p;
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    const name = this.nameOf(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, this.maxValueBytes);
    const { kind, bytes } = encodeValue(value);
    const text = bytes.toString('utf8');
    const token = tokenFor(versionId);
    const label = infoLabel(kind, versionId);
    try {
      let view = await this.view(name);
      if (view?.deleted) throw this.deletedError(path, view);
      const mine = view?.versions.find((v) => v.awsId === token);
      if (mine && view) {
        // A retried put: the same id must hold the same value; a finished one is returned as it is.
        const stored = await this.readVersion(path, name, token);
        if (!mine.ours || mine.id !== versionId || stored.kind !== kind || JSON.stringify(stored.value) !== JSON.stringify(value)) {
          throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
        }
        if (mine.number !== null) return stored;
      }
      if (expected !== undefined && !mine) assertCurrent(path, view, expected);
      const wantCurrent = stages.includes('current');
      const casCurrent = wantCurrent && expected !== undefined && expected > 0;
      const otherLabels = stages.filter((s) => s !== 'current' || !casCurrent).map((s) => AWS_STAGE[s]);
      if (!view) {
        const made = await this.create(path, name, wantCurrent ? { token, text } : undefined, metadata, expected);
        view = made.view;
        if (made.wrote) {
          // CreateSecret put the version under AWSCURRENT; Keyturn's label and any other stage follow.
          await this.claimLabel(name, label, token);
          for (const l of otherLabels) if (l !== AWS_STAGE.current) await this.claimLabel(name, l, token);
        } else await this.writeVersion(name, token, text, [label, ...otherLabels], path);
      } else {
        if (metadata && Object.keys(metadata).length > 0) await this.applyMetadata(name, view, metadata);
        if (!mine) {
          await this.makeRoom(name, view);
          await this.writeVersion(name, token, text, [label, ...otherLabels], path);
        } else await this.claimLabel(name, label, token);
      }
      if (casCurrent) {
        const from = view.versions.find((v) => v.number === expected && v.stages.includes('current'));
        // A retry whose first try already moved AWSCURRENT has nothing left to move.
        const done = mine !== undefined && (await this.view(name))?.versions.find((v) => v.stages.includes('current'))?.awsId === token;
        if (!done) await this.moveCurrentForPut(path, name, token, from?.awsId, expected, label);
      }
      await this.claimNumber(name, token, kind, versionId);
      await this.prune(name);
      return await this.readVersion(path, name, token);
    } catch (e) {
      throw this.fail(e);
    }
  }

  /**
   * Creates the secret: with the version (`first`) when it is to be current, in one atomic call
   * (AWS puts it under AWSCURRENT), else empty. `wrote` is false when another writer created the
   * secret first (then a put expecting no secret is refused here).
   */
  private async create(
    path: string,
    name: string,
    first: { token: string; text: string } | undefined,
    metadata: Partial<SecretMetadata> | undefined,
    expected: number | undefined,
  ): Promise<{ view: View; wrote: boolean }> {
    const tags = metadataTags(metadata ?? {}, {});
    try {
      await this.client().send(
        new CreateSecretCommand({
          Name: name,
          ...(first ? { SecretString: first.text, ClientRequestToken: first.token } : {}),
          ...(metadata?.description ? { Description: metadata.description } : {}),
          ...(this.config.kmsKeyId !== undefined ? { KmsKeyId: this.config.kmsKeyId } : {}),
          ...(Object.keys(tags.set).length > 0 ? { Tags: Object.entries(tags.set).map(([Key, Value]) => ({ Key, Value })) } : {}),
        }),
      );
    } catch (e) {
      const code = awsCode(e);
      if (code === 'InvalidRequestException') throw this.deletedError(path, (await this.view(name)) ?? undefined);
      if (code !== 'ResourceExistsException') throw e;
      const view = await this.view(name);
      if (!view) throw e;
      if (view.deleted) throw this.deletedError(path, view);
      if (expected !== undefined) assertCurrent(path, view, expected);
      if (metadata && Object.keys(metadata).length > 0) await this.applyMetadata(name, view, metadata);
      return { view, wrote: false };
    }
    return { view: (await this.view(name))!, wrote: first !== undefined };
  }

  /** PutSecretValue: idempotent on the token; a different value under it is a conflict. */
  private async writeVersion(name: string, token: string, text: string, labels: string[], path?: string): Promise<void> {
    try {
      const out: { VersionStages?: string[] } = await this.client().send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: text, VersionStages: labels }));
      // A repeat of a put whose labels were taken away (it lost its race) gets them back: AWS
      // ignores VersionStages when the token's version exists.
      for (const l of labels) {
        if ((out.VersionStages ?? []).includes(l)) continue;
        if (isKeyturnLabel(l)) await this.claimLabel(name, l, token);
        else await this.takeLabel(name, l, token);
      }
    } catch (e) {
      if (awsCode(e) === 'ResourceExistsException') throw new KeyturnError('KT_VERSION_CONFLICT', `${path ?? name} already has that version id with a different value`);
      if (awsCode(e) === 'InvalidRequestException' && path) throw this.deletedError(path);
      throw e;
    }
  }

  /** Attaches a label held by no other version (UpdateSecretVersionStage without RemoveFromVersionId fails when another holds it). */
  private async claimLabel(name: string, label: string, token: string): Promise<boolean> {
    try {
      await this.client().send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: label, MoveToVersionId: token }));
      return true;
    } catch (e) {
      if (awsCode(e) === 'InvalidParameterException') return false;
      throw e;
    }
  }

  /** Moves an AWS stage to the version from wherever it is, as PutSecretValue's VersionStages would. */
  private async takeLabel(name: string, label: string, token: string): Promise<void> {
    const holder = (await this.view(name))?.versions.find((v) => v.labels.includes(label));
    if (holder?.awsId === token) return;
    await this.client().send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: label, MoveToVersionId: token, ...(holder ? { RemoveFromVersionId: holder.awsId } : {}) }));
  }

  /**
   * Gives the version the next free number and its one final label. `kt#<n>` can be claimed by one
   * version only (UpdateSecretVersionStage without RemoveFromVersionId fails when another holds
   * it); a finished version keeps its number in its final label and then gives `kt#<n>` back, so a
   * claimer checks after claiming that no finished version has that number, else gives it back and
   * tries the next. The final label is attached before `kt#<n>` is released, so the check holds.
   */
  private async claimNumber(name: string, token: string, kind: 'string' | 'json', versionId: string): Promise<void> {
    const release = async (label: string) =>
      this.client()
        .send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: label, RemoveFromVersionId: token }))
        .catch((e: unknown) => {
          if (awsCode(e) !== 'InvalidParameterException') throw e;
        });
    for (let attempt = 0; attempt < 20; attempt++) {
      const view = (await this.view(name))!;
      const own = view.versions.find((v) => v.awsId === token);
      if (own?.number !== null && own?.number !== undefined) return;
      let n = own?.claimed ?? null;
      if (n === null) {
        const next = Math.max(0, ...view.versions.map((v) => v.number ?? v.claimed ?? 0)) + 1;
        if (!(await this.claimLabel(name, numberLabel(next), token))) continue;
        n = next;
      }
      const after = (await this.view(name))!;
      if (after.versions.some((v) => v.awsId !== token && v.number === n)) {
        await release(numberLabel(n));
        continue;
      }
      await this.claimLabel(name, finalLabel(n, kind, versionId), token);
      await release(numberLabel(n));
      await release(infoLabel(kind, versionId));
      return;
    }
    throw new KeyturnError('KT_STORE_FAILED', `AWS Secrets Manager: no free version number for ${name} after 20 tries`);
  }

  /** The put's compare-and-set: AWSCURRENT moves only from the version that held it at the check; a loser's version loses its labels. */
  private async moveCurrentForPut(path: string, name: string, token: string, from: string | undefined, expected: number, label: string): Promise<void> {
    try {
      await this.client().send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: AWS_STAGE.current, MoveToVersionId: token, ...(from ? { RemoveFromVersionId: from } : {}) }));
    } catch (e) {
      if (awsCode(e) !== 'InvalidParameterException') throw e;
      await this.client()
        .send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: label, RemoveFromVersionId: token }))
        .catch(() => undefined);
      const view = await this.view(name);
      for (const l of view?.versions.find((v) => v.awsId === token)?.labels ?? []) {
        await this.client()
          .send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: l, RemoveFromVersionId: token }))
          .catch(() => undefined);
      }
      assertCurrent(path, await this.view(name), expected);
      throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: the current version moved while this put was writing; nothing was kept`, { details: { path, expected } });
    }
  }

  /** Drops Keyturn's labels from the oldest versions with no stage past `maxVersions`, never one inside the retention hold; AWS removes unlabeled versions itself. */
  private async prune(name: string): Promise<void> {
    const view = await this.view(name);
    if (!view || view.versions.filter((v) => v.number !== null).length <= this.maxVersions) return;
    const list = await this.versionList(name);
    const numbered = list.map((v) => ({ ...v, info: readLabels(v.labels) })).filter((v) => v.info.number !== null);
    let excess = numbered.length - this.maxVersions;
    const now = this.clock.now();
    for (const v of numbered.sort((a, b) => (a.info.number ?? 0) - (b.info.number ?? 0))) {
      if (excess <= 0) break;
      if (v.info.stages.length > 0 || v.created > now - this.retentionMs) continue;
      await this.unlabel(name, v.awsId, v.labels);
      excess -= 1;
    }
  }

  /**
   * Keeps the secret within AWS's 20 staging labels: before a put adds its labels, the oldest
   * versions with no stage lose Keyturn's labels (they leave Keyturn's history; AWS keeps their
   * values at least 24 hours, readable by VersionId) until the put's labels fit. This bounds
   * Keyturn's history on AWS to 15 versions, whatever `maxVersions` says, and is the one pruning
   * that does not wait out the retention hold.
   */
  private async makeRoom(name: string, view: View): Promise<void> {
    let used = view.versions.reduce((n, v) => n + v.labels.length, 0);
    const oldest = view.versions.filter((v) => v.stages.length === 0 && v.labels.some(isKeyturnLabel)).sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
    for (const v of oldest) {
      if (used + LABELS_PER_PUT <= LABELS_PER_SECRET) return;
      await this.unlabel(name, v.awsId, v.labels);
      used -= v.labels.filter(isKeyturnLabel).length;
    }
  }

  private async unlabel(name: string, awsId: string, labels: string[]): Promise<void> {
    for (const l of labels.filter(isKeyturnLabel)) {
      await this.client()
        .send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: l, RemoveFromVersionId: awsId }))
        .catch((e: unknown) => {
          if (awsCode(e) !== 'InvalidParameterException') throw e;
        });
    }
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    const name = this.nameOf(path);
    const st = parseStage(stage);
    const awsLabel = AWS_STAGE[st];
    try {
      const view = await this.liveView(path, name);
      const target = to === null ? null : this.find(view, to);
      if (to !== null && (!target || (target.ours && target.number === null))) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
      const holderOf = (v: View | null): Seen | undefined => v?.versions.find((x) => x.stages.includes(st));
      const conflict = (v: View | null): KeyturnError => {
        const actual = holderOf(v)?.id ?? null;
        return new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${actual ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
          details: { path, stage: st, expected: expectFrom, actual },
        });
      };
      const from = expectFrom === null ? null : this.find(view, expectFrom);
      if (expectFrom !== null && !from) throw conflict(view);
      if (to === expectFrom) {
        // Nothing to move: only says whether the stage is where the caller thinks.
        if ((holderOf(view)?.id ?? null) !== expectFrom) throw conflict(view);
        return;
      }
      if (st === 'current' && to === null) throw new KeyturnError('KT_USAGE', `AWS Secrets Manager cannot leave ${path} without AWSCURRENT; move current to another version instead`);
      try {
        await this.client().send(
          new UpdateSecretVersionStageCommand({
            SecretId: name,
            VersionStage: awsLabel,
            ...(target ? { MoveToVersionId: target.awsId } : {}),
            ...(from ? { RemoveFromVersionId: from.awsId } : {}),
          }),
        );
      } catch (e) {
        if (awsCode(e) === 'InvalidParameterException') throw conflict(await this.view(name));
        throw e;
      }
      // AWS moves AWSPREVIOUS itself; landing current on the pending version ends its pending stage.
      if (st === 'current' && target?.stages.includes('pending')) {
        await this.client()
          .send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: AWS_STAGE.pending, RemoveFromVersionId: target.awsId }))
          .catch((e: unknown) => {
            if (awsCode(e) !== 'InvalidParameterException') throw e;
          });
      }
    } catch (e) {
      throw this.fail(e);
    }
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    const name = this.nameOf(path);
    const patch = checkMetadata(metadata);
    try {
      const view = await this.liveView(path, name);
      await this.applyMetadata(name, view, patch);
      return this.info(path, (await this.view(name))!);
    } catch (e) {
      throw this.fail(e);
    }
  }

  private async applyMetadata(name: string, view: View, patch: Partial<SecretMetadata>): Promise<void> {
    if (patch.description !== undefined) await this.client().send(new UpdateSecretCommand({ SecretId: name, Description: patch.description ?? '' }));
    const { set, unset } = metadataTags(patch, tagsOf(view.raw));
    if (Object.keys(set).length > 0) await this.client().send(new TagResourceCommand({ SecretId: name, Tags: Object.entries(set).map(([Key, Value]): Tag => ({ Key, Value })) }));
    if (unset.length > 0) await this.client().send(new UntagResourceCommand({ SecretId: name, TagKeys: unset }));
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    const name = this.nameOf(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    }
    if (days > AWS_MAX_RECOVERY_DAYS) {
      throw new KeyturnError(
        'KT_RECOVERY_DAYS_INVALID',
        `AWS Secrets Manager keeps a deleted secret at most ${AWS_MAX_RECOVERY_DAYS} days; give a recovery window of ${MIN_RECOVERY_DAYS} to ${AWS_MAX_RECOVERY_DAYS} days`,
      );
    }
    try {
      await this.liveView(path, name);
      // The window's length, for describe (DescribeSecret gives the deletion time only).
      await this.client().send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: DAYS_TAG, Value: String(days) }] }));
      await this.client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: days }));
      return this.info(path, (await this.view(name))!);
    } catch (e) {
      throw this.fail(e);
    }
  }

  async restore(path: string): Promise<SecretInfo> {
    const name = this.nameOf(path);
    try {
      const view = await this.view(name);
      if (!view) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      if (!view.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
      await this.client().send(new RestoreSecretCommand({ SecretId: name }));
      return this.info(path, (await this.view(name))!);
    } catch (e) {
      throw this.fail(e);
    }
  }

  async assertPurgeable(path: string): Promise<SecretInfo> {
    const name = this.nameOf(path);
    try {
      const view = await this.view(name);
      if (!view) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      this.refusePurge(path, view);
      return this.info(path, view);
    } catch (e) {
      throw this.fail(e);
    }
  }

  async purge(path: string): Promise<void> {
    const name = this.nameOf(path);
    await this.assertPurgeable(path);
    try {
      await this.client().send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** Purge protection, kept by Keyturn: AWS would purge at once; refused until the recovery window AWS reports ends. */
  private refusePurge(path: string, view: View): void {
    if (!view.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; delete it before purging`);
    const purgeAfter = this.purgeAfter(view) ?? 0;
    if (this.purgeProtection && this.clock.now() < purgeAfter) {
      throw new KeyturnError('KT_PURGE_PROTECTED', `${path} can be purged from ${new Date(purgeAfter).toISOString()}`, { details: { path, purgeAfter: new Date(purgeAfter).toISOString() } });
    }
  }

  async purgeVersion(path: string, versionId: string): Promise<VersionPurge> {
    const name = this.nameOf(path);
    try {
      const view = await this.view(name);
      if (!view || view.deleted) return { outcome: 'gone' };
      const seen = this.find(view, versionId);
      if (!seen || !seen.ours) return { outcome: 'gone' };
      if (seen.stages.length > 0) return { outcome: 'staged', stages: seen.stages };
      const created = (await this.versionList(name)).find((v) => v.awsId === seen.awsId)?.created ?? 0;
      const until = created + this.retentionMs;
      if (until > this.clock.now()) return { outcome: 'held', until };
      await this.unlabel(name, seen.awsId, seen.labels);
      return { outcome: 'purged' };
    } catch (e) {
      throw this.fail(e);
    }
  }

  async close(): Promise<void> {
    this.sm?.destroy();
    this.sm = undefined;
  }
}

function tagsOf(raw: DescribeSecretResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of raw.Tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** The number of the version AWSCURRENT is on: 0 without a secret; one Keyturn has not numbered yet (a put in flight) counts as the next number. */
function currentNumber(view: View | null): number | null {
  if (!view) return 0;
  const current = view.versions.find((v) => v.stages.includes('current'));
  if (!current) return null;
  if (current.number !== null) return current.number;
  if (current.claimed !== null) return current.claimed;
  return Math.max(0, ...view.versions.map((v) => v.number ?? v.claimed ?? 0)) + 1;
}

function assertCurrent(path: string, view: View | null, expected: number): void {
  const have = currentNumber(view);
  if (have === expected && !(expected === 0 && view)) return;
  const created = view === null;
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = created ? 'it does not exist' : have === null ? 'it exists with no current version' : `its current version is ${have}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, { details: { path, expected, actual: have, exists: !created } });
}

/** The AWS tags a metadata patch sets and removes, given the secret's tags now (type and owner are `keyturn:` tags). */
function metadataTags(patch: Partial<SecretMetadata>, now: Record<string, string>): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  const one = (key: string, v: string | null | undefined) => {
    if (v === undefined) return;
    if (v === null) {
      if (key in now) unset.push(key);
    } else if (now[key] !== v) set[key] = v;
  };
  one(TYPE_TAG, patch.type);
  one(OWNER_TAG, patch.owner);
  if (patch.tags !== undefined) {
    for (const [k, v] of Object.entries(patch.tags)) if (now[k] !== v) set[k] = v;
    for (const k of Object.keys(now)) if (!k.startsWith('keyturn:') && !(k in patch.tags)) unset.push(k);
  }
  return { set, unset };
}
