/**
 * The local OCI Vault's state and rules: secrets with their versions, OCI's version stages
 * (CURRENT, PENDING, PREVIOUS, LATEST, DEPRECATED), ETags, scheduled deletion of secrets and
 * versions on the server's clock, lifecycle states with their transitional states, and
 * `opc-retry-token` replay. The HTTP layer (./server.ts) maps requests onto it.
 *
 * @example
 * ```ts
 * const vault = new LocalVault({ now: () => Date.now() }, 1);
 * const s = vault.create({ compartmentId, vaultId, keyId, secretName: 'a', secretContent: { content: 'eA==' } });
 * ```
 */
import { randomBytes } from 'node:crypto';

export type LifecycleState = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'SCHEDULING_DELETION' | 'PENDING_DELETION' | 'CANCELLING_DELETION' | 'DELETED';
export type VersionStage = 'CURRENT' | 'PENDING' | 'PREVIOUS' | 'LATEST' | 'DEPRECATED';

export interface VersionRec {
  versionNumber: number;
  name: string | undefined;
  content: string;
  stages: Set<VersionStage>;
  timeCreated: number;
  timeOfDeletion: number | undefined;
}

export interface SecretRec {
  id: string;
  compartmentId: string;
  vaultId: string;
  keyId: string;
  secretName: string;
  description: string | undefined;
  freeformTags: Record<string, string>;
  metadata: Record<string, unknown> | undefined;
  state: LifecycleState;
  /** Requests that still see the transitional state before it settles. */
  settleIn: number;
  /** When the transitional state began (it settles once the clock has moved past it, too). */
  transitionAt: number;
  timeCreated: number;
  timeOfDeletion: number | undefined;
  etag: string;
  /** The highest version number given out (numbers are never reused). */
  lastVersion: number;
  versions: VersionRec[];
}

/** An OCI error answer: status, code, message. */
export class OciFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9._-]{1,255}$/;
const DAY = 86_400_000;
const SETTLED: Partial<Record<LifecycleState, LifecycleState>> = {
  CREATING: 'ACTIVE',
  UPDATING: 'ACTIVE',
  SCHEDULING_DELETION: 'PENDING_DELETION',
  CANCELLING_DELETION: 'ACTIVE',
};

export interface ContentDetails {
  content?: string;
  name?: string;
  stage?: string;
}

export class LocalVault {
  readonly secrets = new Map<string, SecretRec>();
  private readonly retryTokens = new Map<string, { at: number; body: string; result: SecretRec }>();

  constructor(
    private readonly clock: { now(): number },
    /** How many requests see a transitional state (CREATING, UPDATING, ...) before it settles. */
    private readonly settleRequests: number,
  ) {}

  private now(): number {
    return this.clock.now();
  }

  /** Applies what time and request counts have done to a secret: settles transitions, runs due deletions. */
  touch(s: SecretRec): void {
    const now = this.now();
    if (s.settleIn > 0 && now <= s.transitionAt) s.settleIn -= 1;
    else if (SETTLED[s.state]) s.state = SETTLED[s.state]!;
    if (s.state === 'PENDING_DELETION' && s.timeOfDeletion !== undefined && now >= s.timeOfDeletion) {
      s.state = 'DELETED';
      s.versions = [];
    }
    s.versions = s.versions.filter((v) => v.timeOfDeletion === undefined || now < v.timeOfDeletion);
  }

  private transition(s: SecretRec, state: LifecycleState): void {
    s.state = state;
    s.transitionAt = this.now();
    s.settleIn = SETTLED[state] ? this.settleRequests : 0;
    if (s.settleIn === 0 && SETTLED[state]) s.state = SETTLED[state]!;
    s.etag = randomBytes(8).toString('hex');
  }

  /** The secret with this OCID; 404 NotAuthorizedOrNotFound when there is none. */
  get(id: string): SecretRec {
    const s = this.secrets.get(id);
    if (!s) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
    this.touch(s);
    return s;
  }

  private assertMutable(s: SecretRec, ifMatch: string | undefined): void {
    if (ifMatch !== undefined && ifMatch !== s.etag) throw new OciFault(412, 'PreconditionFailed', 'The ETag does not match the resource.');
    if (s.state !== 'ACTIVE') throw new OciFault(409, 'IncorrectState', `The secret is in state ${s.state}.`);
  }

  list(filter: { compartmentId: string; vaultId?: string; name?: string; lifecycleState?: string }): SecretRec[] {
    const out: SecretRec[] = [];
    for (const s of this.secrets.values()) {
      this.touch(s);
      if (s.compartmentId !== filter.compartmentId) continue;
      if (filter.vaultId !== undefined && s.vaultId !== filter.vaultId) continue;
      if (filter.name !== undefined && s.secretName !== filter.name) continue;
      if (filter.lifecycleState !== undefined && s.state !== filter.lifecycleState) continue;
      out.push(s);
    }
    return out.sort((a, b) => a.timeCreated - b.timeCreated || a.id.localeCompare(b.id));
  }

  create(d: Record<string, unknown>, retryToken: string | undefined, rawBody: string): SecretRec {
    const now = this.now();
    if (retryToken !== undefined) {
      const seen = this.retryTokens.get(retryToken);
      if (seen && now - seen.at < DAY) {
        if (seen.body !== rawBody) throw new OciFault(409, 'Conflict', 'The retry token was used for a different request.');
        return seen.result;
      }
    }
    const name = str(d.secretName);
    if (!name || !NAME.test(name)) throw new OciFault(400, 'InvalidParameter', 'secretName must be 1 to 255 letters, numbers, hyphens, underscores or periods.');
    for (const k of ['compartmentId', 'vaultId', 'keyId'] as const) if (!str(d[k])) throw new OciFault(400, 'InvalidParameter', `${k} is required.`);
    const content = contentOf(d.secretContent);
    if (!content?.content) throw new OciFault(400, 'InvalidParameter', 'secretContent is required.');
    if (content.stage !== undefined && content.stage !== 'CURRENT') throw new OciFault(400, 'InvalidParameter', 'A new secret takes only the CURRENT stage.');
    for (const s of this.secrets.values()) {
      this.touch(s);
      if (s.vaultId === str(d.vaultId) && s.secretName === name && s.state !== 'DELETED') throw new OciFault(409, 'Conflict', 'A secret with this name already exists in the vault.');
    }
    const s: SecretRec = {
      id: `ocid1.vaultsecret.oc1..${randomBytes(12).toString('hex')}`,
      compartmentId: str(d.compartmentId)!,
      vaultId: str(d.vaultId)!,
      keyId: str(d.keyId)!,
      secretName: name,
      description: str(d.description),
      freeformTags: record(d.freeformTags) as Record<string, string>,
      metadata: d.metadata === undefined ? undefined : record(d.metadata),
      state: 'CREATING',
      settleIn: 0,
      transitionAt: now,
      timeCreated: now,
      timeOfDeletion: undefined,
      etag: '',
      lastVersion: 1,
      versions: [
        { versionNumber: 1, name: checkVersionName(content.name), content: checkContent(content.content), stages: new Set(['CURRENT', 'LATEST']), timeCreated: now, timeOfDeletion: undefined },
      ],
    };
    this.transition(s, 'CREATING');
    this.secrets.set(s.id, s);
    if (retryToken !== undefined) this.retryTokens.set(retryToken, { at: now, body: rawBody, result: s });
    return s;
  }

  update(id: string, d: Record<string, unknown>, ifMatch: string | undefined): SecretRec {
    const s = this.get(id);
    this.assertMutable(s, ifMatch);
    const content = contentOf(d.secretContent);
    const target = d.currentVersionNumber;
    if (content !== undefined && target !== undefined) throw new OciFault(400, 'InvalidParameter', 'secretContent and currentVersionNumber cannot be given together.');
    if (content !== undefined) {
      if (!content.content) throw new OciFault(400, 'InvalidParameter', 'secretContent.content is required.');
      const name = checkVersionName(content.name);
      if (name !== undefined && s.versions.some((v) => v.name === name)) throw new OciFault(409, 'Conflict', 'A version with this name already exists for the secret.');
      const stage = content.stage ?? 'CURRENT';
      if (stage !== 'CURRENT' && stage !== 'PENDING') throw new OciFault(400, 'InvalidParameter', 'The stage must be CURRENT or PENDING.');
      const number = ++s.lastVersion;
      for (const v of s.versions) v.stages.delete('LATEST');
      const added: VersionRec = { versionNumber: number, name, content: checkContent(content.content), stages: new Set(['LATEST']), timeCreated: this.now(), timeOfDeletion: undefined };
      s.versions.push(added);
      if (stage === 'CURRENT') promote(s, added);
      else {
        for (const v of s.versions) v.stages.delete('PENDING');
        added.stages.add('PENDING');
      }
    } else if (target !== undefined) {
      const v = s.versions.find((x) => x.versionNumber === target);
      if (!v || v.timeOfDeletion !== undefined) throw new OciFault(400, 'InvalidParameter', `Version ${String(target)} cannot be made current.`);
      promote(s, v);
    }
    if (d.description !== undefined) s.description = str(d.description);
    if (d.freeformTags !== undefined) s.freeformTags = record(d.freeformTags) as Record<string, string>;
    if (d.metadata !== undefined) s.metadata = record(d.metadata);
    deprecate(s);
    this.transition(s, 'UPDATING');
    return s;
  }

  scheduleDeletion(id: string, timeOfDeletion: unknown, ifMatch: string | undefined): SecretRec {
    const s = this.get(id);
    this.assertMutable(s, ifMatch);
    s.timeOfDeletion = this.deletionTime(timeOfDeletion);
    this.transition(s, 'SCHEDULING_DELETION');
    return s;
  }

  cancelDeletion(id: string, ifMatch: string | undefined): SecretRec {
    const s = this.get(id);
    if (ifMatch !== undefined && ifMatch !== s.etag) throw new OciFault(412, 'PreconditionFailed', 'The ETag does not match the resource.');
    if (s.state !== 'PENDING_DELETION') throw new OciFault(409, 'IncorrectState', `The secret is in state ${s.state}.`);
    s.timeOfDeletion = undefined;
    this.transition(s, 'CANCELLING_DELETION');
    return s;
  }

  scheduleVersionDeletion(id: string, number: number, timeOfDeletion: unknown): void {
    const s = this.get(id);
    this.assertMutable(s, undefined);
    const v = s.versions.find((x) => x.versionNumber === number);
    if (!v) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
    if (!v.stages.has('DEPRECATED')) throw new OciFault(409, 'IncorrectState', 'Only a DEPRECATED secret version can be scheduled for deletion.');
    v.timeOfDeletion = this.deletionTime(timeOfDeletion);
    s.etag = randomBytes(8).toString('hex');
  }

  cancelVersionDeletion(id: string, number: number): void {
    const s = this.get(id);
    const v = s.versions.find((x) => x.versionNumber === number);
    if (!v) throw new OciFault(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
    v.timeOfDeletion = undefined;
  }

  /** OCI takes a deletion time 1 to 30 days ahead (30 days when none is given). */
  private deletionTime(raw: unknown): number {
    const now = this.now();
    if (raw === undefined || raw === null) return now + 30 * DAY;
    const t = Date.parse(String(raw));
    if (!Number.isFinite(t) || t < now + DAY || t > now + 30 * DAY) throw new OciFault(400, 'InvalidParameter', 'timeOfDeletion must be between 1 and 30 days from now.');
    return t;
  }
}

/** Makes `v` CURRENT: the old CURRENT becomes PREVIOUS, the old PREVIOUS loses it. */
function promote(s: SecretRec, v: VersionRec): void {
  const old = s.versions.find((x) => x.stages.has('CURRENT'));
  if (old === v) return;
  for (const x of s.versions) x.stages.delete('PREVIOUS');
  if (old) {
    old.stages.delete('CURRENT');
    old.stages.add('PREVIOUS');
  }
  v.stages.delete('PENDING');
  v.stages.add('CURRENT');
}

/** DEPRECATED: every version that is neither CURRENT, PENDING nor PREVIOUS. */
function deprecate(s: SecretRec): void {
  for (const v of s.versions) {
    if (v.stages.has('CURRENT') || v.stages.has('PENDING') || v.stages.has('PREVIOUS')) v.stages.delete('DEPRECATED');
    else v.stages.add('DEPRECATED');
  }
}

/** OCI's largest secret bundle: 25 KB of content. */
const MAX_BUNDLE_BYTES = 25 * 1024;

function checkContent(content: string): string {
  if (Buffer.from(content, 'base64').length > MAX_BUNDLE_BYTES) throw new OciFault(400, 'InvalidParameter', 'The secret content exceeds the maximum size of 25 KB.');
  return content;
}

function checkVersionName(name: string | undefined): string | undefined {
  if (name !== undefined && !NAME.test(name)) throw new OciFault(400, 'InvalidParameter', 'A version name must be letters, numbers, hyphens, underscores or periods.');
  return name;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

function contentOf(v: unknown): ContentDetails | undefined {
  if (v === undefined || v === null) return undefined;
  const r = record(v);
  if (r.contentType !== 'BASE64') throw new OciFault(400, 'InvalidParameter', 'secretContent.contentType must be BASE64.');
  return { ...(typeof r.content === 'string' ? { content: r.content } : {}), ...(typeof r.name === 'string' ? { name: r.name } : {}), ...(typeof r.stage === 'string' ? { stage: r.stage } : {}) };
}
