/**
 * The local Secret Manager's data and rules: secrets with labels, annotations, version aliases and
 * etags; versions numbered from 1 per secret, ENABLED / DISABLED / DESTROYED. Each method follows
 * the field semantics and errors of google/cloud/secretmanager/v1 (service.proto, resources.proto)
 * and AIP-154 for etags (a stale etag is ABORTED). Times come from the injected clock.
 *
 * @example
 * ```ts
 * const model = new SecretModel({ now: () => Date.now() });
 * model.createSecret({ parent: 'projects/p', secretId: 's', secret: {} });
 * ```
 */
import { status } from '@grpc/grpc-js';
import { crc32c } from '../../../src/stores/gcp/crc32c.js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** A Secret as the wire carries it (proto-loader's camelCase view). */
export interface SecretMsg {
  name?: string;
  createTime?: Timestamp;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  versionAliases?: Record<string, number>;
  etag?: string;
  replication?: unknown;
}

export interface VersionMsg {
  name: string;
  createTime: Timestamp;
  destroyTime?: Timestamp;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  etag: string;
  clientSpecifiedPayloadChecksum: boolean;
  replicationStatus: { automatic: Record<string, never> };
}

interface StoredVersion {
  number: number;
  createdAt: number;
  destroyedAt?: number;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  data?: Buffer;
  checksum: boolean;
  etag: number;
}

interface StoredSecret {
  name: string;
  seq: number;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  aliases: Record<string, number>;
  etag: number;
  versions: StoredVersion[];
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const ANNOTATION_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const PARENT = /^projects\/([^/]+)(?:\/locations\/([^/]+))?$/;
const SECRET_NAME = /^(projects\/[^/]+(?:\/locations\/[^/]+)?)\/secrets\/([^/]+)$/;
const VERSION_NAME = /^(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+)\/versions\/([^/]+)$/;
const MAX_PAYLOAD = 64 * 1024;
const UPDATABLE = new Set(['labels', 'annotations', 'version_aliases']);

function ts(ms: number): Timestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function etagText(n: number): string {
  return `"${n.toString(16).padStart(14, '0')}"`;
}

function invalid(message: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, message);
}

function checkLabels(labels: Record<string, string>): void {
  const keys = Object.keys(labels);
  if (keys.length > 64) throw invalid('No more than 64 labels can be assigned to a given resource.');
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || Buffer.byteLength(k) > 128) throw invalid(`Label key "${k}" is not valid.`);
    if (!LABEL_VALUE.test(v) || Buffer.byteLength(v) > 128) throw invalid(`Label value for key "${k}" is not valid.`);
  }
}

function checkAnnotations(annotations: Record<string, string>): void {
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    if (!ANNOTATION_KEY.test(k) || Buffer.byteLength(k) > 128) throw invalid(`Annotation key "${k}" is not valid.`);
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size >= 16 * 1024) throw invalid('The total size of annotation keys and values must be less than 16KiB.');
}

/** Filter terms of the documented list filter syntax this server understands: `labels.K:V`, `labels.K=V`, `labels.K:*`, `name:TEXT`, `state:S`, joined by spaces or AND. */
function parseFilter(filter: string | undefined): Array<(s: { id: string; labels: Record<string, string>; state?: string }) => boolean> {
  const text = (filter ?? '').trim();
  if (text === '') return [];
  const terms = text.split(/\s+(?:AND\s+)?/).filter((t) => t !== 'AND');
  return terms.map((term) => {
    const label = /^labels\.([^:=]+)([:=])(.*)$/.exec(term);
    if (label) {
      const [, key, , value] = label as unknown as [string, string, string, string];
      const v = value.replace(/^"(.*)"$/, '$1');
      return (s) => (v === '*' ? key in s.labels : s.labels[key] === v);
    }
    const name = /^name:(.+)$/.exec(term);
    if (name) {
      const v = name[1]!.replace(/^"(.*)"$/, '$1');
      return (s) => s.id.includes(v);
    }
    const state = /^state:(ENABLED|DISABLED|DESTROYED)$/.exec(term);
    if (state) return (s) => s.state === state[1];
    throw invalid(`Invalid filter: ${term}`);
  });
}

function page<T>(items: T[], pageSize: number | undefined, pageToken: string | undefined): { items: T[]; next: string } {
  const size = Math.min(pageSize && pageSize > 0 ? pageSize : 25000, 25000);
  let start = 0;
  if (pageToken) {
    const decoded = Number(
      Buffer.from(pageToken, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0) throw invalid('Invalid page token.');
    start = decoded;
  }
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(`offset:${start + size}`).toString('base64url') : '';
  return { items: slice, next };
}

export class SecretModel {
  private readonly secrets = new Map<string, StoredSecret>();
  private seq = 0;
  private etags = 0;

  constructor(private readonly clock: { now(): number }) {}

  /** How many secrets and live (not destroyed) versions there are. */
  counts(): { secrets: number; versions: number } {
    let versions = 0;
    for (const s of this.secrets.values()) versions += s.versions.filter((v) => v.state !== 'DESTROYED').length;
    return { secrets: this.secrets.size, versions };
  }

  private nextEtag(): number {
    return ++this.etags;
  }

  private secretMsg(s: StoredSecret): SecretMsg {
    return {
      name: s.name,
      createTime: ts(s.createdAt),
      labels: { ...s.labels },
      annotations: { ...s.annotations },
      versionAliases: { ...s.aliases },
      etag: etagText(s.etag),
      replication: { automatic: {} },
    };
  }

  private versionMsg(s: StoredSecret, v: StoredVersion): VersionMsg {
    return {
      name: `${s.name}/versions/${v.number}`,
      createTime: ts(v.createdAt),
      ...(v.destroyedAt !== undefined ? { destroyTime: ts(v.destroyedAt) } : {}),
      state: v.state,
      etag: etagText(v.etag),
      clientSpecifiedPayloadChecksum: v.checksum,
      replicationStatus: { automatic: {} },
    };
  }

  private secret(name: string | undefined): StoredSecret {
    if (!name || !SECRET_NAME.test(name)) throw invalid(`Invalid resource field value in the request: name "${name ?? ''}".`);
    const s = this.secrets.get(name);
    if (!s) throw new RpcError(status.NOT_FOUND, `Secret [${name}] not found or has no versions.`);
    return s;
  }

  /** The version a name points at: a number, `latest` (the newest version), or an alias. */
  private version(name: string | undefined): { s: StoredSecret; v: StoredVersion } {
    const m = VERSION_NAME.exec(name ?? '');
    if (!m) throw invalid(`Invalid resource field value in the request: name "${name ?? ''}".`);
    const s = this.secret(m[1]);
    const which = m[2]!;
    let number: number | undefined;
    if (/^[1-9][0-9]*$/.test(which)) number = Number(which);
    else if (which === 'latest') number = s.versions.at(-1)?.number;
    else if (ALIAS.test(which)) {
      number = s.aliases[which];
      if (number === undefined) throw new RpcError(status.NOT_FOUND, `Secret Version alias [${which}] not found for [${s.name}].`);
    } else throw invalid(`Invalid version "${which}".`);
    const v = s.versions.find((x) => x.number === number);
    if (!v) throw new RpcError(status.NOT_FOUND, `Secret Version [${s.name}/versions/${which}] not found.`);
    return { s, v };
  }

  private checkEtag(given: string | undefined, current: number, what: string): void {
    if (given !== undefined && given !== '' && given !== etagText(current)) {
      throw new RpcError(status.ABORTED, `The etag provided in the request does not match the current etag of the ${what}.`);
    }
  }

  createSecret(req: { parent?: string; secretId?: string; secret?: SecretMsg }): SecretMsg {
    const parent = PARENT.exec(req.parent ?? '');
    if (!parent) throw invalid(`Invalid resource field value in the request: parent "${req.parent ?? ''}".`);
    if (!req.secretId || !SECRET_ID.test(req.secretId)) throw invalid('Secret ID must be 1 to 255 characters of letters, numerals, hyphens and underscores.');
    if (!req.secret) throw invalid('secret is required.');
    // A global secret needs a replication policy; a regional one (under a location) takes none.
    const regional = parent[2] !== undefined;
    const replication = req.secret.replication as { automatic?: unknown; userManaged?: unknown } | null | undefined;
    const hasReplication = Boolean(replication?.automatic ?? replication?.userManaged);
    if (!regional && !hasReplication) throw invalid('Secret.replication is required.');
    if (regional && hasReplication) throw invalid('Regional secrets do not take a replication policy.');
    const name = `${req.parent}/secrets/${req.secretId}`;
    if (this.secrets.has(name)) throw new RpcError(status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
    const labels = { ...(req.secret.labels ?? {}) };
    const annotations = { ...(req.secret.annotations ?? {}) };
    checkLabels(labels);
    checkAnnotations(annotations);
    if (req.secret.versionAliases && Object.keys(req.secret.versionAliases).length > 0) throw invalid('A new secret has no versions to alias.');
    const s: StoredSecret = { name, seq: ++this.seq, createdAt: this.clock.now(), labels, annotations, aliases: {}, etag: this.nextEtag(), versions: [] };
    this.secrets.set(name, s);
    return this.secretMsg(s);
  }

  getSecret(req: { name?: string }): SecretMsg {
    return this.secretMsg(this.secret(req.name));
  }

  updateSecret(req: { secret?: SecretMsg; updateMask?: { paths?: string[] } }): SecretMsg {
    if (!req.secret) throw invalid('secret is required.');
    const s = this.secret(req.secret.name);
    const paths = req.updateMask?.paths ?? [];
    if (paths.length === 0) throw invalid('update_mask is required.');
    for (const p of paths) if (!UPDATABLE.has(p)) throw invalid(`Unsupported update_mask path: ${p}.`);
    this.checkEtag(req.secret.etag, s.etag, 'secret');
    const labels = paths.includes('labels') ? { ...(req.secret.labels ?? {}) } : s.labels;
    const annotations = paths.includes('annotations') ? { ...(req.secret.annotations ?? {}) } : s.annotations;
    const aliases = paths.includes('version_aliases') ? { ...(req.secret.versionAliases ?? {}) } : s.aliases;
    checkLabels(labels);
    checkAnnotations(annotations);
    if (Object.keys(aliases).length > 50) throw invalid('No more than 50 aliases can be assigned to a given secret.');
    for (const [alias, n] of Object.entries(aliases)) {
      if (!ALIAS.test(alias) || alias === 'latest' || alias === 'NEW') throw invalid(`Invalid version alias "${alias}".`);
      const v = s.versions.find((x) => x.number === Number(n));
      if (!v) throw invalid(`Version alias "${alias}" points to version ${n}, which does not exist.`);
    }
    s.labels = labels;
    s.annotations = annotations;
    s.aliases = Object.fromEntries(Object.entries(aliases).map(([k, v]) => [k, Number(v)]));
    s.etag = this.nextEtag();
    return this.secretMsg(s);
  }

  deleteSecret(req: { name?: string; etag?: string }): Record<string, never> {
    const s = this.secret(req.name);
    this.checkEtag(req.etag, s.etag, 'secret');
    this.secrets.delete(s.name);
    return {};
  }

  listSecrets(req: { parent?: string; pageSize?: number; pageToken?: string; filter?: string }): { secrets: SecretMsg[]; nextPageToken: string; totalSize: number } {
    if (!PARENT.test(req.parent ?? '')) throw invalid(`Invalid resource field value in the request: parent "${req.parent ?? ''}".`);
    const filters = parseFilter(req.filter);
    const all = [...this.secrets.values()]
      .filter((s) => s.name.startsWith(`${req.parent}/secrets/`))
      .filter((s) => filters.every((f) => f({ id: s.name.slice(s.name.lastIndexOf('/') + 1), labels: s.labels })))
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
    const { items, next } = page(all, req.pageSize, req.pageToken);
    return { secrets: items.map((s) => this.secretMsg(s)), nextPageToken: next, totalSize: req.filter ? 0 : all.length };
  }

  addSecretVersion(req: { parent?: string; payload?: { data?: Buffer; dataCrc32c?: number | null } }): VersionMsg {
    const s = this.secret(req.parent);
    const data = req.payload?.data ?? Buffer.alloc(0);
    if (data.length > MAX_PAYLOAD) throw invalid(`Secret payload data must be at most ${MAX_PAYLOAD} bytes.`);
    const sent = req.payload?.dataCrc32c;
    const checksum = sent !== undefined && sent !== null;
    if (checksum && Number(sent) !== crc32c(data)) throw invalid('Checksum mismatch: the data_crc32c does not match the payload data.');
    const number = (s.versions.at(-1)?.number ?? 0) + 1;
    const v: StoredVersion = { number, createdAt: this.clock.now(), state: 'ENABLED', data: Buffer.from(data), checksum, etag: this.nextEtag() };
    s.versions.push(v);
    return this.versionMsg(s, v);
  }

  accessSecretVersion(req: { name?: string }): { name: string; payload: { data: Buffer; dataCrc32c: number } } {
    const { s, v } = this.version(req.name);
    if (v.state !== 'ENABLED') throw new RpcError(status.FAILED_PRECONDITION, `Secret Version [${s.name}/versions/${v.number}] is in ${v.state} state.`);
    return { name: `${s.name}/versions/${v.number}`, payload: { data: v.data!, dataCrc32c: crc32c(v.data!) } };
  }

  getSecretVersion(req: { name?: string }): VersionMsg {
    const { s, v } = this.version(req.name);
    return this.versionMsg(s, v);
  }

  listSecretVersions(req: { parent?: string; pageSize?: number; pageToken?: string; filter?: string }): { versions: VersionMsg[]; nextPageToken: string; totalSize: number } {
    const s = this.secret(req.parent);
    const filters = parseFilter(req.filter);
    const all = [...s.versions].filter((v) => filters.every((f) => f({ id: String(v.number), labels: {}, state: v.state }))).sort((a, b) => b.createdAt - a.createdAt || b.number - a.number);
    const { items, next } = page(all, req.pageSize, req.pageToken);
    return { versions: items.map((v) => this.versionMsg(s, v)), nextPageToken: next, totalSize: req.filter ? 0 : all.length };
  }

  setVersionState(req: { name?: string; etag?: string }, to: 'ENABLED' | 'DISABLED' | 'DESTROYED'): VersionMsg {
    const { s, v } = this.version(req.name);
    this.checkEtag(req.etag, v.etag, 'secret version');
    if (v.state === 'DESTROYED') throw new RpcError(status.FAILED_PRECONDITION, `Secret Version [${s.name}/versions/${v.number}] is in DESTROYED state.`);
    v.state = to;
    if (to === 'DESTROYED') {
      v.data = undefined;
      v.destroyedAt = this.clock.now();
    }
    v.etag = this.nextEtag();
    return this.versionMsg(s, v);
  }
}
