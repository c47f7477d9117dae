/**
 * RabbitMQ access for `alternating-users`: a user's tags, its permissions (configure, write and
 * read regular expressions, one set per virtual host) and its topic permissions (write and read
 * per virtual host and exchange), as the management API lists them, and the requests that make
 * the clone's equal to the primary's. Passwords and password hashes are never part of it.
 *
 * Topic permissions can only be cleared per user and virtual host (all exchanges at once), so a
 * virtual host where the clone's differ is cleared, then filled with the primary's.
 *
 * @example
 * ```ts
 * const primary = { tags: ['monitoring'], permissions: parsePermissions(perms), topicPermissions: parseTopicPermissions(topics) };
 * for (const r of syncRequests(primary, clone, 'app_clone')) await api.send(r.method, r.path, r.body, ...);
 * ```
 */

export interface VhostPermission {
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface TopicPermission {
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

/** What a user may do: what the clone copies from the primary. */
export interface Access {
  readonly tags: readonly string[];
  readonly permissions: readonly VhostPermission[];
  readonly topicPermissions: readonly TopicPermission[];
}

/** A management API answer that is not the list it should be. */
export class AccessParseError extends Error {}

function stringField(row: Record<string, unknown>, key: string): string {
  const value = row[key];
  if (typeof value !== 'string') throw new AccessParseError(`the field ${key} is not a string`);
  return value;
}

function rows(json: unknown): Record<string, unknown>[] {
  if (!Array.isArray(json) || json.some((r) => r === null || typeof r !== 'object')) throw new AccessParseError('the answer is not a list of objects');
  return json as Record<string, unknown>[];
}

/**
 * Reads `GET /api/users/<user>/permissions`.
 *
 * @example
 * ```ts
 * parsePermissions([{ user: 'app', vhost: '/', configure: '^app\\.', write: '.*', read: '.*' }])[0]?.vhost; // '/'
 * ```
 */
export function parsePermissions(json: unknown): VhostPermission[] {
  return rows(json).map((r) => ({ vhost: stringField(r, 'vhost'), configure: stringField(r, 'configure'), write: stringField(r, 'write'), read: stringField(r, 'read') }));
}

/**
 * Reads `GET /api/users/<user>/topic-permissions`.
 *
 * @example
 * ```ts
 * parseTopicPermissions([{ user: 'app', vhost: '/', exchange: 'amq.topic', write: '^app\\.', read: '.*' }])[0]?.exchange; // 'amq.topic'
 * ```
 */
export function parseTopicPermissions(json: unknown): TopicPermission[] {
  return rows(json).map((r) => ({ vhost: stringField(r, 'vhost'), exchange: stringField(r, 'exchange'), write: stringField(r, 'write'), read: stringField(r, 'read') }));
}

/**
 * Reads the tags of `GET /api/users/<user>` (a list; older servers answer a comma-separated string).
 *
 * @example
 * ```ts
 * parseTags({ name: 'app', tags: ['monitoring'] }); // ['monitoring']
 * ```
 */
export function parseTags(user: unknown): string[] {
  const tags = user !== null && typeof user === 'object' ? (user as { tags?: unknown }).tags : undefined;
  if (Array.isArray(tags)) return tags.map(String).filter((t) => t !== '');
  if (typeof tags === 'string') return tags.split(',').filter((t) => t !== '');
  throw new AccessParseError('the user has no tags field');
}

/**
 * A user's access as sorted lines, comparable between two users (no user name in them).
 *
 * @example
 * ```ts
 * accessLines({ tags: ['b', 'a'], permissions: [], topicPermissions: [] }); // ['tags a,b']
 * ```
 */
export function accessLines(access: Access): string[] {
  return [
    `tags ${[...new Set(access.tags)].sort().join(',')}`,
    ...access.permissions.map((p) => `permission ${JSON.stringify([p.vhost, p.configure, p.write, p.read])}`),
    ...access.topicPermissions.map((p) => `topic ${JSON.stringify([p.vhost, p.exchange, p.write, p.read])}`),
  ].sort();
}

/** One management API call of a sync. */
export interface SyncRequest {
  readonly method: 'PUT' | 'DELETE';
  /** Under /api. */
  readonly path: string;
  readonly body: Record<string, string> | null;
}

const enc = encodeURIComponent;

function topicKey(p: TopicPermission): string {
  return JSON.stringify([p.exchange, p.write, p.read]);
}

/**
 * The requests that give `clone` (named `cloneName`) the permissions and topic permissions of
 * `primary`: none when they are equal. Tags are not among them: they are set with the password.
 *
 * @example
 * ```ts
 * syncRequests({ tags: [], permissions: [{ vhost: '/', configure: '', write: '.*', read: '.*' }], topicPermissions: [] }, { tags: [], permissions: [], topicPermissions: [] }, 'app_clone');
 * // [{ method: 'PUT', path: '/permissions/%2F/app_clone', body: { configure: '', write: '.*', read: '.*' } }]
 * ```
 */
export function syncRequests(primary: Access, clone: Access, cloneName: string): SyncRequest[] {
  const out: SyncRequest[] = [];
  const user = enc(cloneName);
  const cloneByVhost = new Map(clone.permissions.map((p) => [p.vhost, p]));
  const primaryVhosts = new Set(primary.permissions.map((p) => p.vhost));
  for (const p of clone.permissions) if (!primaryVhosts.has(p.vhost)) out.push({ method: 'DELETE', path: `/permissions/${enc(p.vhost)}/${user}`, body: null });
  for (const p of primary.permissions) {
    const c = cloneByVhost.get(p.vhost);
    if (c && c.configure === p.configure && c.write === p.write && c.read === p.read) continue;
    out.push({ method: 'PUT', path: `/permissions/${enc(p.vhost)}/${user}`, body: { configure: p.configure, write: p.write, read: p.read } });
  }

  const topicsByVhost = (list: readonly TopicPermission[]) => {
    const m = new Map<string, TopicPermission[]>();
    for (const p of list) m.set(p.vhost, [...(m.get(p.vhost) ?? []), p]);
    return m;
  };
  const want = topicsByVhost(primary.topicPermissions);
  const have = topicsByVhost(clone.topicPermissions);
  for (const vhost of new Set([...want.keys(), ...have.keys()])) {
    const w = want.get(vhost) ?? [];
    const h = have.get(vhost) ?? [];
    const same = w.length === h.length && w.map(topicKey).sort().join('\n') === h.map(topicKey).sort().join('\n');
    if (same) continue;
    if (h.length > 0) out.push({ method: 'DELETE', path: `/topic-permissions/${enc(vhost)}/${user}`, body: null });
    for (const p of w) out.push({ method: 'PUT', path: `/topic-permissions/${enc(vhost)}/${user}`, body: { exchange: p.exchange, write: p.write, read: p.read } });
  }
  return out;
}
