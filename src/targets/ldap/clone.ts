/**
 * `alternating-users` for LDAP: what makes `<user>_clone` a faithful copy of the primary entry.
 *
 * - The entry: every user attribute of the primary (objectClass included) except the naming
 *   attribute (the clone's is its own name) and the password attributes (each user has its own),
 *   copied byte for byte; attributes the clone has and the primary lacks are removed. One modify
 *   (or one add for a new clone), so the server checks the schema once on the result.
 * - The groups: under `groupsBaseDn`, every group whose `member` or `uniqueMember` holds the
 *   primary's DN gets the clone's, and the clone's DN leaves the groups that do not hold the
 *   primary's. The server matches the DNs (the searches use equality filters), so a DN written
 *   in another case or spacing still matches.
 *
 * @example
 * ```ts
 * const changes = entryChanges(primaryEntry, cloneEntry, { naming: 'uid', cloneName: 'app_clone' });
 * const plan = groupPlan(await memberOf(primaryDn), await memberOf(cloneDn));
 * ```
 */
import type { Entry } from 'ldapts';

/** Attributes never copied from the primary: each user keeps its own secrets. */
export const OWN_ATTRIBUTES = new Set(['userpassword', 'authpassword']);

/** The attributes that hold group members, in the groups a clone joins. */
export const MEMBER_ATTRIBUTES = ['member', 'uniqueMember'] as const;
export type MemberAttribute = (typeof MEMBER_ATTRIBUTES)[number];

/** An entry's attributes, lower-cased name → [name as the server spells it, values as bytes]. */
export type Attributes = Map<string, { name: string; values: Buffer[] }>;

/**
 * The attributes of a search entry, values as bytes: the `dn` and the empty lists ldapts fills in
 * for requested names the entry lacks (`*` itself) left out.
 */
export function attributesOf(entry: Entry): Attributes {
  const out: Attributes = new Map();
  for (const [name, raw] of Object.entries(entry)) {
    const list = Array.isArray(raw) ? raw : [raw];
    if (name === 'dn' || list.length === 0) continue;
    out.set(name.toLowerCase(), { name, values: list.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'))) });
  }
  return out;
}

function sameValues(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  const key = (v: readonly Buffer[]) =>
    v
      .map((x) => x.toString('base64'))
      .sort()
      .join(' ');
  return key(a) === key(b);
}

/** A change to the clone's entry: set an attribute to these values, or remove it. */
export interface EntryChange {
  readonly operation: 'replace' | 'delete';
  readonly name: string;
  readonly values: Buffer[];
}

/**
 * The clone's attributes as the primary's: for a new clone, the whole entry to add.
 *
 * @example
 * ```ts
 * cloneAttributes(attributesOf(primary), 'uid', 'app_clone'); // objectClass, cn, sn, ..., uid: app_clone
 * ```
 */
export function cloneAttributes(primary: Attributes, naming: string, cloneName: string): Attributes {
  const out: Attributes = new Map();
  for (const [key, attr] of primary) if (!OWN_ATTRIBUTES.has(key) && key !== naming.toLowerCase()) out.set(key, attr);
  out.set(naming.toLowerCase(), { name: naming, values: [Buffer.from(cloneName, 'utf8')] });
  return out;
}

/**
 * The changes that make an existing clone's entry the primary's (nothing when it is already).
 *
 * @example
 * ```ts
 * entryChanges(attributesOf(primary), attributesOf(clone), 'uid', 'app_clone'); // [{ operation: 'replace', name: 'title', values: [...] }]
 * ```
 */
export function entryChanges(primary: Attributes, clone: Attributes, naming: string, cloneName: string): EntryChange[] {
  const want = cloneAttributes(primary, naming, cloneName);
  const changes: EntryChange[] = [];
  for (const [key, attr] of want) {
    if (key === naming.toLowerCase()) continue; // the RDN value stays; extra naming values are left alone
    const have = clone.get(key);
    if (!have || !sameValues(have.values, attr.values)) changes.push({ operation: 'replace', name: attr.name, values: attr.values });
  }
  for (const [key, attr] of clone) {
    if (!want.has(key) && !OWN_ATTRIBUTES.has(key)) changes.push({ operation: 'delete', name: attr.name, values: [] });
  }
  return changes;
}

/** Group DNs by member attribute, as the server listed them. */
export type Memberships = Record<MemberAttribute, string[]>;

/** The group changes for the clone: join where the primary is and the clone is not, leave where the primary is not. */
export function groupPlan(primary: Memberships, clone: Memberships): { join: Array<[MemberAttribute, string]>; leave: Array<[MemberAttribute, string]> } {
  const join: Array<[MemberAttribute, string]> = [];
  const leave: Array<[MemberAttribute, string]> = [];
  for (const attribute of MEMBER_ATTRIBUTES) {
    const p = new Set(primary[attribute].map((d) => d.toLowerCase()));
    const c = new Set(clone[attribute].map((d) => d.toLowerCase()));
    for (const group of primary[attribute]) if (!c.has(group.toLowerCase())) join.push([attribute, group]);
    for (const group of clone[attribute]) if (!p.has(group.toLowerCase())) leave.push([attribute, group]);
  }
  return { join, leave };
}
