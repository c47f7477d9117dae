/**
 * The local Secrets Manager's state and operations: secrets with versions and staging labels,
 * following the published Smithy model (aws-sdk-js-v3 codegen/sdk-codegen/aws-models/
 * secrets-manager.json) and the API reference's documented behaviour: ClientRequestToken
 * idempotency, AWSCURRENT/AWSPREVIOUS moves, UpdateSecretVersionStage's RemoveFromVersionId check,
 * deletion with a recovery window, ListSecrets filters and pages. Each operation takes the
 * request's JSON and returns the response's JSON, or throws an {@link AwsError}.
 *
 * @example
 * ```ts
 * const sm = new SecretsModel({ clock, region: 'us-east-1' });
 * sm.call('CreateSecret', { Name: 'app/key', SecretString: 'v1', ClientRequestToken: token });
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * An error answered as `{"__type": type, "Message": message}` with `status`.
 *
 * @example
 * ```ts
 * throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
 * ```
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

interface VersionRec {
  id: string;
  string: string | undefined;
  binary: string | undefined;
  created: number;
  labels: Set<string>;
}

interface SecretRec {
  name: string;
  arn: string;
  description: string | undefined;
  kmsKeyId: string | undefined;
  tags: Map<string, string>;
  created: number;
  changed: number;
  deletedAt: number | undefined;
  deletionDate: number | undefined;
  versions: Map<string, VersionRec>;
}

/** Versions with no staging label beyond this many are removed (AWS: "about 100"). */
const KEEP_DEPRECATED = 100;
const MAX_LABELS_PER_VERSION = 20;
/** Quota "Staging labels attached across all versions of a secret": 20. */
const MAX_LABELS_PER_SECRET = 20;
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const DAY_S = 86_400;

const seconds = (ms: number): number => ms / 1000;

function str(input: Json, key: string, required = false): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required) throw new AwsError('InvalidParameterException', `You must provide a value for the ${key} parameter.`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsError('SerializationException', `Unexpected value type for ${key}`);
  return v;
}

export class SecretsModel {
  private readonly secrets = new Map<string, SecretRec>();
  private readonly clock: { now(): number };
  private readonly region: string;
  /** Largest page ListSecrets / ListSecretVersionIds answers with (AWS may answer with fewer than MaxResults). */
  maxPageSize: number;
  /** ListSecrets is eventually consistent (AWS: it "might not reflect changes from the last five minutes"): it misses secrets created less than this long ago (default 0). */
  listLagMs: number;

  constructor(options: { clock: { now(): number }; region: string; maxPageSize?: number; listLagMs?: number }) {
    this.clock = options.clock;
    this.region = options.region;
    this.maxPageSize = options.maxPageSize ?? 100;
    this.listLagMs = options.listLagMs ?? 0;
  }

  /** Runs one operation; throws AwsError for the documented failures. */
  call(op: string, input: Json): Json {
    this.reap();
    switch (op) {
      case 'CreateSecret':
        return this.createSecret(input);
      case 'PutSecretValue':
        return this.putSecretValue(input);
      case 'GetSecretValue':
        return this.getSecretValue(input);
      case 'DescribeSecret':
        return this.describeSecret(input);
      case 'ListSecretVersionIds':
        return this.listSecretVersionIds(input);
      case 'UpdateSecretVersionStage':
        return this.updateSecretVersionStage(input);
      case 'UpdateSecret':
        return this.updateSecret(input);
      case 'TagResource':
        return this.tagResource(input);
      case 'UntagResource':
        return this.untagResource(input);
      case 'DeleteSecret':
        return this.deleteSecret(input);
      case 'RestoreSecret':
        return this.restoreSecret(input);
      case 'ListSecrets':
        return this.listSecrets(input);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${op}`);
    }
  }

  /** Names of every secret held (deleted ones included), for tests. */
  names(): string[] {
    return [...this.secrets.keys()].sort();
  }

  /**
   * AWS deletes a secret some time after its DeletionDate ("Some time after the deleted date,
   * Secrets Manager deletes the secret"); here, at the first call once the clock has passed it.
   */
  private reap(): void {
    const now = this.clock.now();
    for (const [name, s] of this.secrets) if (s.deletionDate !== undefined && s.deletionDate < now) this.secrets.delete(name);
  }

  private find(input: Json): SecretRec {
    const id = str(input, 'SecretId', true)!;
    const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => x.arn === id);
    if (!s) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  }

  private live(input: Json): SecretRec {
    const s = this.find(input);
    if (s.deletedAt !== undefined) throw new AwsError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    return s;
  }

  private token(input: Json): string {
    const t = str(input, 'ClientRequestToken') ?? randomUUID();
    if (t.length < 32 || t.length > 64) throw new AwsError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters long.');
    return t;
  }

  private value(input: Json): { string: string | undefined; binary: string | undefined } {
    const string = str(input, 'SecretString');
    const binary = str(input, 'SecretBinary');
    if (string !== undefined && binary !== undefined) throw new AwsError('InvalidParameterException', 'You can provide either SecretString or SecretBinary, but not both.');
    if (string !== undefined && Buffer.byteLength(string) > 65536) throw new AwsError('InvalidParameterException', 'SecretString must be at most 65536 bytes.');
    return { string, binary };
  }

  private tagsIn(input: Json): Array<[string, string]> {
    const raw = input.Tags;
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) throw new AwsError('SerializationException', 'Tags must be a list');
    return raw.map((t: unknown) => {
      const { Key, Value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
      if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128 || typeof Value !== 'string' || Value.length > 256) {
        throw new AwsError('InvalidParameterException', 'Tag keys must be 1 to 128 characters and tag values at most 256 characters.');
      }
      if (Key.toLowerCase().startsWith('aws:')) throw new AwsError('InvalidParameterException', 'Tag keys starting with aws: are reserved.');
      return [Key, Value];
    });
  }

  private addTags(s: SecretRec, tags: Array<[string, string]>): void {
    for (const [k, v] of tags) s.tags.set(k, v);
    if (s.tags.size > 50) throw new AwsError('LimitExceededException', 'A secret can have at most 50 tags.');
  }

  /** Attaches `label` to `version`, taking it from any other; AWSCURRENT leaving a version puts AWSPREVIOUS there. */
  private attach(s: SecretRec, label: string, version: VersionRec): void {
    if (label.length < 1 || label.length > 256) throw new AwsError('InvalidParameterException', 'A staging label must be 1 to 256 characters.');
    const holder = this.holder(s, label);
    if (holder === version) return;
    if (version.labels.size >= MAX_LABELS_PER_VERSION) throw new AwsError('LimitExceededException', `A version can have at most ${MAX_LABELS_PER_VERSION} staging labels.`);
    if (!holder && [...s.versions.values()].reduce((n, v) => n + v.labels.size, 0) >= MAX_LABELS_PER_SECRET) {
      throw new AwsError('LimitExceededException', `A secret can have at most ${MAX_LABELS_PER_SECRET} staging labels across all its versions.`);
    }
    holder?.labels.delete(label);
    version.labels.add(label);
    if (label === 'AWSCURRENT' && holder) {
      this.holder(s, 'AWSPREVIOUS')?.labels.delete('AWSPREVIOUS');
      holder.labels.add('AWSPREVIOUS');
    }
  }

  private holder(s: SecretRec, label: string): VersionRec | undefined {
    return [...s.versions.values()].find((v) => v.labels.has(label));
  }

  /** AWS keeps the 100 most recent versions, and every version of the last 24 hours; it removes deprecated ones (no staging label) beyond that. */
  private dropDeprecated(s: SecretRec): void {
    const dayAgo = this.clock.now() - DAY_S * 1000;
    const deprecated = [...s.versions.values()].filter((v) => v.labels.size === 0 && v.created < dayAgo);
    for (const v of deprecated.slice(0, Math.max(0, s.versions.size - KEEP_DEPRECATED))) s.versions.delete(v.id);
  }

  private newVersion(s: SecretRec, token: string, value: { string: string | undefined; binary: string | undefined }, labels: string[]): VersionRec {
    const v: VersionRec = { id: token, string: value.string, binary: value.binary, created: this.clock.now(), labels: new Set() };
    // "If this operation creates the first version for the secret, then Secrets Manager automatically attaches the staging label AWSCURRENT to it."
    const first = s.versions.size === 0;
    s.versions.set(token, v);
    for (const label of first && !labels.includes('AWSCURRENT') ? ['AWSCURRENT', ...labels] : labels) this.attach(s, label, v);
    s.changed = this.clock.now();
    this.dropDeprecated(s);
    return v;
  }

  private createSecret(input: Json): Json {
    const name = str(input, 'Name', true)!;
    if (!NAME.test(name)) throw new AwsError('InvalidParameterException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    const value = this.value(input);
    const hasValue = value.string !== undefined || value.binary !== undefined;
    const token = this.token(input);
    const existing = this.secrets.get(name);
    if (existing) {
      if (existing.deletedAt !== undefined) throw new AwsError('InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
      throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const now = this.clock.now();
    const s: SecretRec = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:123456789012:secret:${name}-${randomBytes(3).toString('hex')}`,
      description: str(input, 'Description'),
      kmsKeyId: str(input, 'KmsKeyId'),
      tags: new Map(),
      created: now,
      changed: now,
      deletedAt: undefined,
      deletionDate: undefined,
      versions: new Map(),
    };
    this.addTags(s, this.tagsIn(input));
    this.secrets.set(name, s);
    if (!hasValue) return { ARN: s.arn, Name: s.name };
    const v = this.newVersion(s, token, value, ['AWSCURRENT']);
    return { ARN: s.arn, Name: s.name, VersionId: v.id };
  }

  private putSecretValue(input: Json): Json {
    const s = this.live(input);
    const value = this.value(input);
    if (value.string === undefined && value.binary === undefined) throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    const token = this.token(input);
    const stagesIn = input.VersionStages;
    if (stagesIn !== undefined && (!Array.isArray(stagesIn) || stagesIn.length < 1 || stagesIn.length > 20 || !stagesIn.every((x) => typeof x === 'string'))) {
      throw new AwsError('InvalidParameterException', 'VersionStages must be a list of 1 to 20 staging labels.');
    }
    const existing = s.versions.get(token);
    if (existing) {
      // Same token and same value: the request is ignored (idempotent); a different value cannot change a version.
      if (existing.string !== value.string || existing.binary !== value.binary) {
        throw new AwsError('ResourceExistsException', "You can't modify an existing version, you can only create new versions.");
      }
      return { ARN: s.arn, Name: s.name, VersionId: existing.id, VersionStages: [...existing.labels] };
    }
    const v = this.newVersion(s, token, value, (stagesIn as string[] | undefined) ?? ['AWSCURRENT']);
    return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.labels] };
  }

  private getSecretValue(input: Json): Json {
    const s = this.live(input);
    const versionId = str(input, 'VersionId');
    const stage = str(input, 'VersionStage');
    let v: VersionRec | undefined;
    if (versionId !== undefined) {
      v = s.versions.get(versionId);
      if (!v || (stage !== undefined && !v.labels.has(stage))) {
        throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
    } else {
      const label = stage ?? 'AWSCURRENT';
      v = this.holder(s, label);
      if (!v) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
    }
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: v.id,
      ...(v.string !== undefined ? { SecretString: v.string } : { SecretBinary: v.binary }),
      VersionStages: [...v.labels],
      CreatedDate: seconds(v.created),
    };
  }

  private describeOut(s: SecretRec): Json {
    const stages: Record<string, string[]> = {};
    for (const v of s.versions.values()) if (v.labels.size > 0) stages[v.id] = [...v.labels];
    return {
      ARN: s.arn,
      Name: s.name,
      ...(s.description !== undefined ? { Description: s.description } : {}),
      ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
      Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })),
      VersionIdsToStages: stages,
      CreatedDate: seconds(s.created),
      LastChangedDate: seconds(s.changed),
      ...(s.deletedAt !== undefined ? { DeletedDate: seconds(s.deletedAt) } : {}),
    };
  }

  private describeSecret(input: Json): Json {
    return this.describeOut(this.find(input));
  }

  private page<T>(items: T[], input: Json): { items: T[]; next: string | undefined } {
    const max = Math.min(Number(input.MaxResults ?? 100), this.maxPageSize);
    if (!Number.isInteger(max) || max < 1) throw new AwsError('InvalidParameterException', 'MaxResults must be 1 to 100.');
    const token = str(input, 'NextToken');
    let start = 0;
    if (token !== undefined) {
      start = Number(
        Buffer.from(token, 'base64url')
          .toString('utf8')
          .replace(/^page:/, ''),
      );
      if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
    }
    const end = start + max;
    return { items: items.slice(start, end), next: end < items.length ? Buffer.from(`page:${end}`).toString('base64url') : undefined };
  }

  private listSecretVersionIds(input: Json): Json {
    const s = this.find(input);
    const all = [...s.versions.values()].filter((v) => input.IncludeDeprecated === true || v.labels.size > 0).reverse();
    const { items, next } = this.page(all, input);
    return {
      ARN: s.arn,
      Name: s.name,
      Versions: items.map((v) => ({ VersionId: v.id, VersionStages: [...v.labels], CreatedDate: seconds(v.created) })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private updateSecretVersionStage(input: Json): Json {
    const s = this.live(input);
    const label = str(input, 'VersionStage', true)!;
    const from = str(input, 'RemoveFromVersionId');
    const to = str(input, 'MoveToVersionId');
    const target = to === undefined ? undefined : s.versions.get(to);
    if (to !== undefined && !target) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${to}`);
    if (from !== undefined && !s.versions.has(from)) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${from}`);
    const holder = this.holder(s, label);
    if (holder && holder !== target && holder.id !== from) {
      throw new AwsError(
        'InvalidParameterException',
        from === undefined
          ? `The parameter RemoveFromVersionId can't be empty. Staging label ${label} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`
          : `The staging label ${label} is attached to version ${holder.id}, not to version ${from}.`,
      );
    }
    if (from !== undefined && holder?.id !== from) throw new AwsError('InvalidParameterException', `The staging label ${label} is not attached to version ${from}.`);
    if (target) this.attach(s, label, target);
    else {
      if (label === 'AWSCURRENT') throw new AwsError('InvalidParameterException', "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.");
      holder?.labels.delete(label);
    }
    s.changed = this.clock.now();
    this.dropDeprecated(s);
    return { ARN: s.arn, Name: s.name };
  }

  private updateSecret(input: Json): Json {
    const s = this.live(input);
    const description = str(input, 'Description');
    const kms = str(input, 'KmsKeyId');
    if (description !== undefined) s.description = description;
    if (kms !== undefined) s.kmsKeyId = kms;
    s.changed = this.clock.now();
    const value = this.value(input);
    if (value.string === undefined && value.binary === undefined) return { ARN: s.arn, Name: s.name };
    const out = this.putSecretValue({ SecretId: s.name, SecretString: value.string, SecretBinary: value.binary, ClientRequestToken: this.token(input) });
    return { ARN: s.arn, Name: s.name, VersionId: out.VersionId };
  }

  private tagResource(input: Json): Json {
    const s = this.live(input);
    const tags = this.tagsIn(input);
    const before = new Map(s.tags);
    try {
      this.addTags(s, tags);
    } catch (e) {
      s.tags = before;
      throw e;
    }
    return {};
  }

  private untagResource(input: Json): Json {
    const s = this.live(input);
    const keys = input.TagKeys;
    if (!Array.isArray(keys)) throw new AwsError('InvalidParameterException', 'TagKeys must be a list.');
    for (const k of keys) if (typeof k === 'string') s.tags.delete(k);
    return {};
  }

  private deleteSecret(input: Json): Json {
    const force = input.ForceDeleteWithoutRecovery === true;
    const days = input.RecoveryWindowInDays;
    if (force && days !== undefined) throw new AwsError('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)) {
      throw new AwsError('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    const id = str(input, 'SecretId', true)!;
    const now = this.clock.now();
    if (force) {
      const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => x.arn === id);
      // Forcing the deletion of a deleted or missing secret does not answer ResourceNotFoundException.
      if (s) this.secrets.delete(s.name);
      return { ARN: s?.arn, Name: s?.name ?? id, DeletionDate: seconds(now) };
    }
    const s = this.find(input);
    if (s.deletedAt !== undefined) throw new AwsError('InvalidRequestException', "You can't perform this operation on the secret because it was already scheduled for deletion.");
    s.deletedAt = now;
    s.deletionDate = now + ((days as number | undefined) ?? 30) * DAY_S * 1000;
    return { ARN: s.arn, Name: s.name, DeletionDate: seconds(s.deletionDate) };
  }

  private restoreSecret(input: Json): Json {
    const s = this.find(input);
    s.deletedAt = undefined;
    s.deletionDate = undefined;
    return { ARN: s.arn, Name: s.name };
  }

  private listSecrets(input: Json): Json {
    const filters = (input.Filters ?? []) as Array<{ Key?: unknown; Values?: unknown }>;
    if (!Array.isArray(filters)) throw new AwsError('InvalidParameterException', 'Filters must be a list.');
    const seen = this.clock.now() - this.listLagMs;
    let all = [...this.secrets.values()].filter((s) => (input.IncludePlannedDeletion === true || s.deletedAt === undefined) && s.created <= seen);
    for (const f of filters) {
      const values = Array.isArray(f.Values) ? (f.Values as unknown[]).filter((v): v is string => typeof v === 'string') : [];
      const test = (s: SecretRec, v: string): boolean => {
        switch (f.Key) {
          case 'name':
            return s.name.startsWith(v);
          case 'description':
            return (s.description ?? '').toLowerCase().startsWith(v.toLowerCase());
          case 'tag-key':
            return [...s.tags.keys()].some((k) => k.startsWith(v));
          case 'tag-value':
            return [...s.tags.values()].some((x) => x.startsWith(v));
          default:
            throw new AwsError('InvalidParameterException', `Filter key ${String(f.Key)} is not supported by this server.`);
        }
      };
      all = all.filter((s) => values.some((v) => (v.startsWith('!') ? !test(s, v.slice(1)) : test(s, v))));
    }
    all.sort((a, b) => a.created - b.created);
    if (input.SortOrder === 'desc') all.reverse();
    const { items, next } = this.page(all, input);
    return {
      SecretList: items.map((s) => {
        const d = this.describeOut(s);
        const { VersionIdsToStages, ...rest } = d;
        return { ...rest, SecretVersionsToStages: VersionIdsToStages };
      }),
      ...(next ? { NextToken: next } : {}),
    };
  }
}
