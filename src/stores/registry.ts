/**
 * The store registry: one entry per secret store, and `prepareStore`, the only way the runtime
 * makes its store. Adding a store adds a folder and one entry here.
 *
 * Two shapes of entry:
 * - the embedded store (`storeRegistry`, through the shared registry helper): configured by
 *   KEYTURN_* settings, it records its own audit events in its write transactions;
 * - an outside store (Vault, AWS, Azure, GCP, OCI, Kubernetes; `OUTSIDE_STORES`): configured by the
 *   YAML file KEYTURN_STORE_FILE names (or a replica's entry in keyturn.yaml), its module (its SDK,
 *   its zod schema) loaded only when it is used, so that no command pays for an SDK it does not
 *   use; it gets its audit events from the audit wrapper (./audited-store.ts).
 *
 * @example
 * ```ts
 * const prepared = await prepareStore({ type: 'embedded' }, { state, ring, clock, settings });
 * const store = prepared.forAudit(storeAuditHook(audit, context));
 * await store.put('app/session-key', 'v1');
 * ```
 */
import { issueLines } from '../core/issues.js';
import { defineRegistry, type ConfigOf, type KindSchema, type Registry } from '../core/registry.js';
import { KeyturnError } from '../core/errors.js';
import type { StoreAuditHook } from './audit-hook.js';
import { auditedStore } from './audited-store.js';
import { indexedStore } from './heads.js';
import type { Logger } from '../core/logger.js';
import type { StoreDeps } from './deps.js';
import { awsStoreEntry } from './aws/entry.js';
import { azureStoreEntry } from './azure/entry.js';
import { embeddedStoreEntry } from './embedded/entry.js';
import { gcpStoreEntry } from './gcp/entry.js';
import { kubernetesStoreEntry } from './kubernetes/entry.js';
import { ociStoreEntry } from './oci/entry.js';
import { vaultStoreEntry } from './vault/entry.js';
import type { SecretStore } from './store.js';

/** The embedded store, the default (configured by settings). */
export const storeRegistry = defineRegistry({ noun: 'store', invalid: 'KT_STORE_CONFIG_INVALID' }, [embeddedStoreEntry]);

/** The embedded store's config: its type only. */
export type StoreConfig = typeof storeRegistry extends Registry<infer E> ? ConfigOf<E> : never;

/** What an outside store's module gives once loaded: its config schema (strict, `type` a literal) and its factory. */
export interface OutsideStoreModule {
  readonly configSchema: KindSchema;
  /** Makes the store from its parsed config; opens no connection until first used. */
  readonly create: (config: { type: string }, deps: StoreDeps) => SecretStore;
}

/** An outside store's entry: its kind and how to load its module. */
export interface OutsideStoreEntry {
  readonly kind: string;
  readonly load: () => Promise<OutsideStoreModule>;
}

/** Every outside store, in the order they are documented (docs/stores/README.md). */
export const OUTSIDE_STORES: readonly OutsideStoreEntry[] = [vaultStoreEntry, awsStoreEntry, azureStoreEntry, gcpStoreEntry, ociStoreEntry, kubernetesStoreEntry];

/** Every store kind: the embedded one first. */
export function storeKinds(): string[] {
  return [...storeRegistry.kinds, ...OUTSIDE_STORES.map((e) => e.kind)];
}

function invalid(problems: string[]): KeyturnError {
  return new KeyturnError('KT_STORE_CONFIG_INVALID', `the store configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
}

/** The store, ready to be made for each audit context; `close` ends its connections. */
export interface PreparedStore {
  readonly kind: string;
  /** The store recording its events with `audit` (none: not audited), with the `wrap` it was prepared with. */
  forAudit(audit?: StoreAuditHook): SecretStore;
  /** The store itself: not audited, not wrapped (the replica sync's own reads of the primary). */
  bare(): SecretStore;
  close(): Promise<void>;
}

export interface PrepareOptions {
  /** The store keeps the store-neutral index (`store_heads`, ./heads.ts) after each write. */
  readonly primary?: boolean;
  readonly log?: Pick<Logger, 'warn'>;
  /** A layer around the store, inside the audit wrapper (so what it serves is audited): the read-only fallback replicas. */
  readonly wrap?: (store: SecretStore) => SecretStore;
}

/**
 * Parses a store config (raw input is fine) and returns what makes the store for an audit
 * context: the embedded store is made per context (it audits itself, in its transactions); an
 * outside store is made once and wrapped per context. Throws KT_STORE_CONFIG_INVALID listing each
 * problem at its key, or naming the kinds there are for an unknown type.
 *
 * @example
 * ```ts
 * const prepared = await prepareStore({ type: 'vault', address: 'https://vault:8200', mount: 'secret' }, deps);
 * prepared.forAudit(storeAuditHook(audit, ctx)).kind; // 'vault'
 * ```
 */
export async function prepareStore(input: unknown, deps: Omit<StoreDeps, 'audit'>, options: PrepareOptions = {}): Promise<PreparedStore> {
  const checked = await checkStoreConfig(input);
  const wrap = options.wrap ?? ((s: SecretStore) => s);
  if (checked.module === null) {
    const config = storeRegistry.parse(checked.config);
    const make = (audit?: StoreAuditHook) => storeRegistry.create(config, audit === undefined ? deps : { ...deps, audit });
    return { kind: 'embedded', forAudit: (audit) => wrap(make(audit)), bare: () => make(), close: async () => {} };
  }
  const made = checked.module.create(checked.config, deps);
  // The primary store keeps the store-neutral index the scheduler reads (./heads.ts); a replica does not.
  const store = options.primary ? indexedStore(made, deps.state, options.log ?? { warn: () => undefined }, () => deps.clock.now()) : made;
  const wrapped = wrap(store);
  return { kind: store.kind, forAudit: (audit) => (audit === undefined ? wrapped : auditedStore(wrapped, audit)), bare: () => store, close: async () => store.close?.() };
}

/**
 * Checks a store config without making the store: its type, and its keys by its store's schema
 * (which loads that store's module). Throws KT_STORE_CONFIG_INVALID as `prepareStore` does.
 *
 * @example
 * ```ts
 * await checkStoreConfig({ type: 'aws', region: 'eu-west-1' }); // { config, module }
 * ```
 */
export async function checkStoreConfig(input: unknown): Promise<{ config: { type: string }; module: OutsideStoreModule | null }> {
  const kinds = storeKinds().join(', ');
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid([`a store must be an object with a type (${kinds})`]);
  const type: unknown = (input as { type?: unknown }).type;
  if (type === 'embedded') return { config: storeRegistry.parse(input), module: null };
  const entry = OUTSIDE_STORES.find((e) => e.kind === type);
  if (!entry) throw invalid([`type: type must be one of: ${kinds}`]);
  const module = await entry.load();
  const parsed = module.configSchema.safeParse(input);
  if (!parsed.success) throw invalid(issueLines(parsed.error.issues));
  return { config: parsed.data as { type: string }, module };
}
