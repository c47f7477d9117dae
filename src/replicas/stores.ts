/**
 * The replica stores named under `stores:` in the applied keyturn.yaml, each opened once, when a
 * copy first needs it, and opened again when `keyturn apply` changed its config. They are not
 * wrapped by the audit wrapper: the sync records one `secret.replicate` event per copy.
 *
 * @example
 * ```ts
 * const stores = new ReplicaStores(state, { state, ring, clock, settings });
 * const aws = await stores.open('aws-eu'); // a SecretStore
 * await stores.close();
 * ```
 */
import { canonicalJson } from '../audit/canonical.js';
import { KeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import type { StoreDeps } from '../stores/deps.js';
import { prepareStore, type PreparedStore } from '../stores/registry.js';
import type { SecretStore } from '../stores/store.js';

export class ReplicaStores {
  private readonly opened = new Map<string, { key: string; prepared: Promise<PreparedStore> }>();

  constructor(
    private readonly state: StateDb,
    private readonly deps: Omit<StoreDeps, 'audit'>,
  ) {}

  /** The store named `name`; KT_CONFIG_INVALID when the applied config has no such store. */
  async open(name: string): Promise<SecretStore> {
    // The config module (zod) loads only when a replica is copied to.
    const { storedStores, storeConfigOf } = await import('./config.js');
    const config = (await storedStores(this.state))[name];
    if (config === undefined) {
      throw new KeyturnError('KT_CONFIG_INVALID', `no store "${name}" under stores: in the applied keyturn.yaml`, { details: { store: name } });
    }
    const key = canonicalJson(config).toString('utf8');
    let entry = this.opened.get(name);
    if (entry?.key !== key) {
      if (entry) void entry.prepared.then((p) => p.close()).catch(() => undefined);
      entry = { key, prepared: prepareStore(storeConfigOf(config), this.deps) };
      this.opened.set(name, entry);
      entry.prepared.catch(() => this.opened.delete(name));
    }
    return (await entry.prepared).forAudit();
  }

  async close(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    await Promise.allSettled(all.map(async (e) => (await e.prepared).close()));
  }
}
