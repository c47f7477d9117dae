/**
 * The local API server's objects: namespaces, Secrets, Deployments and StatefulSets, each with a
 * uid, a creation time from the server's clock and a `resourceVersion` drawn from one counter
 * (as etcd's revision). Writes follow the API server's rules: create refuses an existing name
 * (409 AlreadyExists), replace and patch refuse a stale `metadata.resourceVersion` (409
 * Conflict), a write that changes nothing keeps the resourceVersion, a workload's
 * `metadata.generation` counts spec changes, and delete takes `preconditions`.
 *
 * Workloads get a simulated rollout controller ({@link RolloutMode}): `instant` (a spec change
 * is rolled out at once), `manual` (the controller observes the new generation but no pod is
 * updated until `completeRollouts()`), or `polls` (rolled out after that many reads).
 *
 * @example
 * ```ts
 * const cluster = new Cluster({ now: () => Date.now() }, { mode: 'instant' });
 * cluster.create('secrets', 'default', { metadata: { name: 'db' }, stringData: { password: 'x' } });
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { applyPatch, type Json } from './patch.js';
import { parseSelector } from './selector.js';
import { ApiFailure, alreadyExists, badRequest, conflict, failure, notFound } from './status.js';
import { normalizeSecret, validateMeta } from './validate.js';

export type JsonObject = { [key: string]: Json };

/** The namespaced resources the server serves. */
export const RESOURCES = {
  secrets: { apiVersion: 'v1', kind: 'Secret', listKind: 'SecretList' },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment', listKind: 'DeploymentList' },
  statefulsets: { apiVersion: 'apps/v1', kind: 'StatefulSet', listKind: 'StatefulSetList' },
} as const;
export type Resource = keyof typeof RESOURCES;

/** How the simulated controller rolls out a workload whose spec changed. */
export type RolloutMode = { mode: 'instant' } | { mode: 'manual' } | { mode: 'polls'; polls: number };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The objects of one simulated cluster. */
export class Cluster {
  private revision = 0;
  private readonly namespaces = new Map<string, JsonObject>();
  private readonly objects = new Map<string, JsonObject>();
  /** Reads left before a `polls` rollout finishes, by object key. */
  private readonly pendingPolls = new Map<string, number>();

  constructor(
    private readonly clock: { now(): number },
    public rollout: RolloutMode,
  ) {}

  private nextRevision(): string {
    this.revision += 1;
    return String(this.revision);
  }

  /** The newest resourceVersion handed out (a list's resourceVersion). */
  currentRevision(): string {
    return String(this.revision);
  }

  addNamespace(name: string): JsonObject {
    const existing = this.namespaces.get(name);
    if (existing) return existing;
    const ns: JsonObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, uid: randomUUID(), resourceVersion: this.nextRevision(), creationTimestamp: rfc3339(this.clock.now()) },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    this.namespaces.set(name, ns);
    return ns;
  }

  namespace(name: string): JsonObject {
    const ns = this.namespaces.get(name);
    if (!ns) throw new ApiFailure(notFound('namespaces', name));
    return structuredClone(ns);
  }

  namespaceList(): JsonObject[] {
    return [...this.namespaces.values()].map((n) => structuredClone(n));
  }

  private key(resource: Resource, ns: string, name: string): string {
    return `${resource}/${ns}/${name}`;
  }

  /** The stored object (a copy), or undefined. Does not count as a read for `polls` rollouts. */
  peek(resource: Resource, ns: string, name: string): JsonObject | undefined {
    const o = this.objects.get(this.key(resource, ns, name));
    return o ? structuredClone(o) : undefined;
  }

  get(resource: Resource, ns: string, name: string): JsonObject {
    const key = this.key(resource, ns, name);
    const left = this.pendingPolls.get(key);
    if (left !== undefined) {
      if (left <= 1) {
        this.pendingPolls.delete(key);
        this.finishRollout(key);
      } else this.pendingPolls.set(key, left - 1);
    }
    const o = this.objects.get(key);
    if (!o) throw new ApiFailure(notFound(resource, name));
    return structuredClone(o);
  }

  /** Objects of `resource` in `ns` (all namespaces when null) matching the selector, by name, a page at a time. */
  list(
    resource: Resource,
    ns: string | null,
    selector: string | null,
    limit: number,
    cont: string | null,
  ): { items: JsonObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } {
    const matches = parseSelector(selector);
    let after = '';
    let listRevision = this.currentRevision();
    if (cont) {
      try {
        const token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
        if (typeof token.rv !== 'string' || typeof token.start !== 'string') throw new Error('shape');
        after = token.start;
        listRevision = token.rv;
      } catch {
        throw new ApiFailure(badRequest('continue key is not valid: illegal base64 data at input byte 0'));
      }
    }
    const all = [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${resource}/${ns === null ? '' : `${ns}/`}`))
      .map(([k, o]) => ({ k, o }))
      .filter(({ o }) => matches(Object.fromEntries(Object.entries(obj(obj(o.metadata).labels)).map(([lk, lv]) => [lk, String(lv)]))))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .filter(({ k }) => k > after);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const rest = all.length - page.length;
    const items = page.map(({ o }) => {
      const copy = structuredClone(o);
      delete copy.apiVersion;
      delete copy.kind;
      return copy;
    });
    if (rest > 0) {
      const token = Buffer.from(JSON.stringify({ rv: listRevision, start: page[page.length - 1]!.k }), 'utf8').toString('base64url');
      return { items, resourceVersion: listRevision, continue: token, remainingItemCount: rest };
    }
    return { items, resourceVersion: listRevision };
  }

  private checkBody(resource: Resource, ns: string, body: Json): JsonObject {
    if (!isObject(body)) throw new ApiFailure(badRequest(`the body of the request is not a ${RESOURCES[resource].kind} object`));
    const { apiVersion, kind } = RESOURCES[resource];
    if (body.kind !== undefined && body.kind !== kind)
      throw new ApiFailure(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`));
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion)
      throw new ApiFailure(badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`));
    const meta = obj(body.metadata);
    if (meta.namespace !== undefined && meta.namespace !== ns) throw new ApiFailure(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
    return structuredClone(body);
  }

  create(resource: Resource, ns: string, input: Json): JsonObject {
    const body = this.checkBody(resource, ns, input);
    if (!this.namespaces.has(ns)) throw new ApiFailure(notFound('namespaces', ns));
    const meta = obj(body.metadata);
    if (typeof meta.name !== 'string' && typeof meta.generateName === 'string') meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (name === '') throw new ApiFailure(failure(422, 'Invalid', `${RESOURCES[resource].kind} "" is invalid: metadata.name: Required value: name or generateName is required`));
    const key = this.key(resource, ns, name);
    if (this.objects.has(key)) throw new ApiFailure(alreadyExists(resource, name));
    const stored: JsonObject = { ...body, apiVersion: RESOURCES[resource].apiVersion, kind: RESOURCES[resource].kind };
    const m: JsonObject = { ...meta, name, namespace: ns, uid: randomUUID(), creationTimestamp: rfc3339(this.clock.now()) };
    delete m.resourceVersion;
    stored.metadata = m;
    validateMeta(RESOURCES[resource].kind, m);
    if (resource === 'secrets') normalizeSecret(stored, null);
    else this.initWorkload(stored);
    m.resourceVersion = this.nextRevision();
    this.objects.set(key, stored);
    if (resource !== 'secrets') this.startRollout(key);
    return structuredClone(stored);
  }

  replace(resource: Resource, ns: string, name: string, input: Json): JsonObject {
    const body = this.checkBody(resource, ns, input);
    const meta = obj(body.metadata);
    if (meta.name !== undefined && meta.name !== name) throw new ApiFailure(badRequest('the name of the object (' + String(meta.name) + ') does not match the name on the URL (' + name + ')'));
    return this.write(resource, ns, name, body);
  }

  patch(resource: Resource, ns: string, name: string, contentType: string, patch: Json): JsonObject {
    const key = this.key(resource, ns, name);
    const existing = this.objects.get(key);
    if (!existing) throw new ApiFailure(notFound(resource, name));
    const patched = applyPatch(existing, contentType, patch);
    const body = this.checkBody(resource, ns, patched);
    if (obj(body.metadata).name !== name) throw new ApiFailure(badRequest('the patch may not change the name of the object'));
    return this.write(resource, ns, name, body);
  }

  /** The common end of replace and patch: preconditions, validation, no-op detection, generation. */
  private write(resource: Resource, ns: string, name: string, body: JsonObject): JsonObject {
    const key = this.key(resource, ns, name);
    const existing = this.objects.get(key);
    if (!existing) throw new ApiFailure(notFound(resource, name));
    const oldMeta = obj(existing.metadata);
    const meta = obj(body.metadata);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== oldMeta.resourceVersion) throw new ApiFailure(conflict(resource, name));
    if (meta.uid !== undefined && meta.uid !== oldMeta.uid)
      throw new ApiFailure(conflict(resource, name, `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${String(oldMeta.uid)}`));
    const stored: JsonObject = { ...body, apiVersion: RESOURCES[resource].apiVersion, kind: RESOURCES[resource].kind };
    const m: JsonObject = { ...meta, name, namespace: ns, uid: oldMeta.uid ?? null, creationTimestamp: oldMeta.creationTimestamp ?? null };
    delete m.resourceVersion;
    stored.metadata = m;
    validateMeta(RESOURCES[resource].kind, m);
    if (resource === 'secrets') normalizeSecret(stored, existing);
    else {
      // Status is the controller's: a write to the main resource keeps it; a spec change bumps the generation.
      stored.status = structuredClone(existing.status ?? {});
      m.generation = oldMeta.generation ?? 1;
      const specChanged = JSON.stringify(stored.spec ?? null) !== JSON.stringify(existing.spec ?? null);
      if (specChanged) m.generation = Number(oldMeta.generation ?? 1) + 1;
      this.initWorkload(stored);
    }
    m.resourceVersion = oldMeta.resourceVersion ?? null;
    if (JSON.stringify(stored) === JSON.stringify(existing)) return structuredClone(existing);
    m.resourceVersion = this.nextRevision();
    this.objects.set(key, stored);
    if (resource !== 'secrets' && m.generation !== oldMeta.generation) this.startRollout(key);
    return structuredClone(stored);
  }

  remove(resource: Resource, ns: string, name: string, options: Json): JsonObject {
    const key = this.key(resource, ns, name);
    const existing = this.objects.get(key);
    if (!existing) throw new ApiFailure(notFound(resource, name));
    const pre = obj(obj(options).preconditions);
    const meta = obj(existing.metadata);
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion)
      throw new ApiFailure(
        conflict(resource, name, `Precondition failed: ResourceVersion in precondition: ${String(pre.resourceVersion)}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`),
      );
    if (pre.uid !== undefined && pre.uid !== meta.uid)
      throw new ApiFailure(conflict(resource, name, `Precondition failed: UID in precondition: ${String(pre.uid)}, UID in object meta: ${String(meta.uid)}`));
    this.objects.delete(key);
    this.pendingPolls.delete(key);
    this.nextRevision();
    return existing;
  }

  private initWorkload(o: JsonObject): void {
    const meta = obj(o.metadata);
    if (meta.generation === undefined) meta.generation = 1;
    const spec = obj(o.spec);
    if (spec.replicas === undefined) spec.replicas = 1;
    o.spec = spec;
    if (!isObject(o.status)) o.status = {};
  }

  /** The controller sees a new generation: done at once, on demand, or after some reads. */
  private startRollout(key: string): void {
    const o = this.objects.get(key)!;
    const meta = obj(o.metadata);
    const replicas = Number(obj(o.spec).replicas ?? 1);
    const generation = Number(meta.generation ?? 1);
    const status = obj(o.status);
    if (this.rollout.mode === 'instant') {
      this.finishRollout(key, false);
      return;
    }
    // Observed, but no pod updated yet: the old pods keep serving.
    o.status = { ...status, observedGeneration: generation, replicas, updatedReplicas: 0, readyReplicas: replicas, availableReplicas: replicas };
    if (o.kind === 'StatefulSet') (o.status as JsonObject).updateRevision = `${String(meta.name)}-${generation}`;
    if (this.rollout.mode === 'polls') this.pendingPolls.set(key, this.rollout.polls);
  }

  /** Marks the workload rolled out: every replica updated, ready and available. */
  private finishRollout(key: string, bump = true): void {
    const o = this.objects.get(key);
    if (!o) return;
    const meta = obj(o.metadata);
    const replicas = Number(obj(o.spec).replicas ?? 1);
    const generation = Number(meta.generation ?? 1);
    const revision = `${String(meta.name)}-${generation}`;
    o.status = {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      ...(o.kind === 'StatefulSet' ? { currentReplicas: replicas, currentRevision: revision, updateRevision: revision } : {}),
    };
    if (bump) meta.resourceVersion = this.nextRevision();
  }

  /** Finishes every pending rollout (or those of one workload); returns how many finished. */
  completeRollouts(filter?: { resource?: Resource; namespace?: string; name?: string }): number {
    let n = 0;
    for (const [key, o] of this.objects) {
      if (key.startsWith('secrets/')) continue;
      const [resource, ns, name] = key.split('/');
      if (filter?.resource && filter.resource !== resource) continue;
      if (filter?.namespace && filter.namespace !== ns) continue;
      if (filter?.name && filter.name !== name) continue;
      const status = obj(o.status);
      const replicas = Number(obj(o.spec).replicas ?? 1);
      if (status.observedGeneration === obj(o.metadata).generation && status.updatedReplicas === replicas) continue;
      this.pendingPolls.delete(key);
      this.finishRollout(key);
      n++;
    }
    return n;
  }
}
