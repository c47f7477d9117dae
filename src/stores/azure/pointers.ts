/**
 * Where the Azure store keeps what Key Vault cannot: each secret's stage pointers, its version
 * counter, its version-id claims and its Keyturn metadata, as one row of Keyturn's state
 * database, changed only by compare-and-set on the row's whole text (`UPDATE ... WHERE value = ?`,
 * `INSERT ... ON CONFLICT DO NOTHING`, `DELETE ... WHERE value = ?`; the affected-row count
 * decides). Every Keyturn process that shares the state database (SQLite or PostgreSQL) therefore
 * serializes on it: of two racing stage moves or expecting puts exactly one wins.
 *
 * The rows live in `kt_settings` under `store.azure:<vault origin>/<secret name>` until a
 * table of their own exists (see docs/stores/azure.md, "What Key Vault lacks").
 *
 * @example
 * ```ts
 * const pointers = new StagePointers(state, 'https://kv.vault.azure.net');
 * const { raw, record } = await pointers.read('prod--db');
 * const won = await pointers.swap('prod--db', raw, { ...record, next: record.next + 1 });
 * ```
 */
import type { Stage } from '../../core/types.js';
import { databaseError, type StateDb } from '../../state/db.js';

/** A version a stage sits on: its Keyturn id and number. */
export interface StagedVersion {
  readonly id: string;
  readonly n: number;
}

/** Keyturn's metadata of a secret (Key Vault tags are per version, and limited to 15). */
export interface PointerMetadata {
  type: string | null;
  description: string | null;
  owner: string | null;
  tags: Record<string, string>;
}

/** A put's claim: its number, and the stage holders it replaced. */
export interface Claim {
  readonly n: number;
  readonly prior: Partial<Record<Stage, StagedVersion>>;
}

/** One secret's row. */
export interface PointerRecord {
  /** The number the next version gets (1 for a new secret). */
  next: number;
  stages: Partial<Record<Stage, StagedVersion>>;
  /**
   * Version ids given a number whose Key Vault write may not have happened yet (a crashed put's
   * retry finishes it), with the stages as they were before the claim: until the write is done,
   * readers see those.
   */
  claims: Record<string, Claim>;
  meta: PointerMetadata;
}

/**
 * The record of a secret Keyturn has not written yet.
 *
 * @example
 * ```ts
 * freshRecord().next; // 1
 * ```
 */
export function freshRecord(): PointerRecord {
  return { next: 1, stages: {}, claims: {}, meta: { type: null, description: null, owner: null, tags: {} } };
}

/**
 * One row per secret in the state database, read whole and replaced by compare-and-set.
 *
 * @example
 * ```ts
 * await pointers.update('prod--db', (r) => ({ ...r, meta: { ...r.meta, owner: 'team-a' } }));
 * ```
 */
export class StagePointers {
  constructor(
    private readonly state: StateDb,
    private readonly vault: string,
  ) {}

  private rowName(name: string): string {
    // Key Vault names are case-insensitive: so is the row's.
    return `store.azure:${this.vault}/${name.toLowerCase()}`;
  }

  /** The row's text (null: none) and its record (a fresh one when there is none). */
  async read(name: string): Promise<{ raw: string | null; record: PointerRecord }> {
    const row = await this.guard(() => this.state.db.selectFrom('kt_settings').select('value').where('name', '=', this.rowName(name)).executeTakeFirst());
    if (!row) return { raw: null, record: freshRecord() };
    return { raw: row.value, record: { ...freshRecord(), ...(JSON.parse(row.value) as Partial<PointerRecord>) } };
  }

  /** Replaces the row if its text is still `raw` (null: there is no row); `next` null deletes it. True when this call won. */
  async swap(name: string, raw: string | null, next: PointerRecord | null): Promise<boolean> {
    const rowName = this.rowName(name);
    return this.guard(async () => {
      if (raw === null && next === null) return (await this.read(name)).raw === null;
      if (raw === null) {
        const res = await this.state.db
          .insertInto('kt_settings')
          .values({ name: rowName, value: JSON.stringify(next) })
          .onConflict((oc) => oc.column('name').doNothing())
          .executeTakeFirst();
        return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
      }
      if (next === null) {
        const res = await this.state.db.deleteFrom('kt_settings').where('name', '=', rowName).where('value', '=', raw).executeTakeFirst();
        return Number(res.numDeletedRows) === 1;
      }
      const res = await this.state.db
        .updateTable('kt_settings')
        .set({ value: JSON.stringify(next) })
        .where('name', '=', rowName)
        .where('value', '=', raw)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    });
  }

  /**
   * Applies `change` to the row until a compare-and-set of it wins (change may throw to give up,
   * or return null to leave the row as it is). Returns the record written (or read, when unchanged).
   */
  async update(name: string, change: (record: PointerRecord, exists: boolean) => PointerRecord | null): Promise<PointerRecord> {
    for (;;) {
      const { raw, record } = await this.read(name);
      const next = change(structuredClone(record), raw !== null);
      if (next === null) return record;
      if (await this.swap(name, raw, next)) return next;
    }
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw databaseError(e, this.state);
    }
  }
}
