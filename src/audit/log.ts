/**
 * The durable audit log over the state database (SQLite or PostgreSQL).
 *
 * Each append runs in one transaction (the caller's, when given, so the event commits or rolls
 * back with the write it records): lock the head row, number/link/hash the events
 * ({@link AuditAppender}), insert the leaves, sign a checkpoint when one is due, write the head.
 * A failure to write any of it is `KT_AUDIT_WRITE_FAILED` and takes the caller's write down with it.
 *
 * Checkpoint policy: a C2SP checkpoint is signed, in the appending transaction, when at least
 * `checkpointEvery` events or `checkpointSeconds` have passed since the last one. {@link tick}
 * (run by a timer or `keyturn audit tick`) appends a heartbeat leaf after `checkpointSeconds` of
 * quiet and signs it, so an idle hour is provably idle. A server checks and signs the checkpoints
 * that fall due in its group commits just after them instead ({@link checkInBackground}: the
 * check runs in a worker thread). Checkpoints are always signed from the
 * head row (what the appender wrote), never from re-reading leaves, so tampered rows never get
 * signed.
 *
 * The unsigned rows are authenticated by the audit MAC key (mac.ts): every leaf row carries a
 * `leaf_mac` and the head row a `head_mac`, written in the same transaction. An append first
 * checks the head's MAC (KT_AUDIT_HEAD_FORGED: nothing is appended), and before a checkpoint is
 * signed the events written since the last one are re-read and checked (each MAC, each leaf hash,
 * and that the tree from the last checkpoint's stored compact range leads to the head); on any
 * mismatch nothing is signed (KT_AUDIT_LEAF_CHANGED, KT_AUDIT_HEAD_FORGED, ...). A row this log
 * wrote itself and that is stored byte for byte as written keeps the leaf hash and MAC computed
 * when it was written (the same result, without hashing it again); any other row is hashed and
 * its MAC checked. A log from before the MAC key gets it on first open, and its uncovered events
 * are signed as they are then (docs/audit.md).
 *
 * @example
 * ```ts
 * const audit = await AuditLog.open(state, ring, { context: cliContext() });
 * await state.db.transaction().execute(async (trx) => {
 *   await writeSomething(trx);
 *   await audit.append({ action: 'secret.put', path: 'prod/db', outcome: 'success' }, trx);
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { systemClock, type Clock } from '../core/clock.js';
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { StateDb } from '../state/db.js';
import { isDatabaseFull } from '../state/disk-full.js';
import type { Schema } from '../state/schema.js';
import { afterCommit, beforeCommit, flushBeforeCommit } from '../state/tx.js';
import { AuditAppender } from './appender.js';
import { BackgroundCheck } from './background-check.js';
import { openCheckpoint, readCheckpointUnverified } from './checkpoint.js';
import { defaultContext, type AuditContext } from './context.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { addHmacKey, addMacKey, createAuditKeys, loadAuditKeys, valueHmac, type AuditKeys } from './keys.js';
import { headMac, headMacValid, leafMacV2, leafMacValid } from './mac.js';
import { CompactRange, bytesEqual, leafHash } from './merkle.js';
import { assertLeadsTo, checkRows, startWalk, type KnownRow } from './uncovered.js';
import { parseVerifierKey, type NoteVerifier } from './note-key.js';
import * as repo from './repo.js';
import type { CheckpointRow, Head, LeafRow } from './repo.js';

/** What a caller records; time, actor, source and correlation id default from the log's clock and context. */
export type AuditInput = Omit<AuditEventInput, 'time' | 'actor' | 'source'> & Partial<Pick<AuditEventInput, 'time' | 'actor' | 'source'>>;

/** A checkpoint due after a group commit, to be checked in the background: the tree to sign, and the last checkpoint's size. */
interface DueCheckpoint {
  readonly from: number;
  readonly size: number;
  readonly prev: string;
  readonly nodes: readonly Buffer[];
}

/** Where a group's transaction leaves a checkpoint it deferred (read once the transaction committed). */
interface DeferSlot {
  due?: DueCheckpoint;
}

/** Where an appended event landed. */
export interface Appended {
  readonly seq: number;
  readonly id: string;
}

export interface AuditLogOptions {
  clock?: Clock;
  /** Who is acting (default: {@link defaultContext}). */
  context?: AuditContext;
  /** Sign a checkpoint after this many events (default 1000). */
  checkpointEvery?: number;
  /** ... or after this many seconds; also the heartbeat interval when idle (default 300). */
  checkpointSeconds?: number;
}

export const DEFAULT_CHECKPOINT_EVERY = 1000;
/** Rows kept in memory for the check before the next checkpoint (beyond that, rows are hashed again). */
const WRITTEN_MAX = 20_000;
export const DEFAULT_CHECKPOINT_SECONDS = 300;

/**
 * The event id: `ev_<seq>_<first 12 hex digits of the leaf hash>`. It names the position (so it
 * is found through the primary key) and the content (so a changed row no longer answers to it).
 *
 * @example
 * ```ts
 * eventIdOf(42, leafHash(leaf)); // 'ev_42_6e340b9cffb3'
 * ```
 */
export function eventIdOf(seq: number, leafHash: Uint8Array): string {
  const first = Buffer.isBuffer(leafHash) ? leafHash.toString('hex', 0, 6) : Buffer.from(leafHash.buffer, leafHash.byteOffset, 6).toString('hex');
  return `ev_${seq}_${first}`;
}

/** The seq an event id names, or null when it is not an event id. */
export function seqOfEventId(id: string): number | null {
  const m = /^ev_(0|[1-9][0-9]{0,15})_[0-9a-f]{12}$/.exec(id);
  return m === null ? null : Number(m[1]);
}

export class AuditLog {
  readonly #state: StateDb;
  readonly #ring: KeyRing;
  readonly #clock: Clock;
  readonly #every: number;
  readonly #seconds: number;
  #keys: AuditKeys;
  readonly origin: string;
  readonly context: AuditContext;

  private constructor(state: StateDb, ring: KeyRing, keys: AuditKeys, origin: string, options: AuditLogOptions) {
    this.#state = state;
    this.#ring = ring;
    this.#keys = keys;
    this.origin = origin;
    this.#clock = options.clock ?? systemClock;
    this.context = options.context ?? defaultContext();
    this.#every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    this.#seconds = options.checkpointSeconds ?? DEFAULT_CHECKPOINT_SECONDS;
    if (!Number.isSafeInteger(this.#every) || this.#every < 1 || !(this.#seconds > 0)) {
      throw new KeyturnError('KT_CONFIG_INVALID', 'the audit checkpoint interval must be at least 1 event and more than 0 seconds');
    }
  }

  /**
   * Opens the log, creating its keys, origin, first event and first checkpoint when the state
   * database has none yet (a fresh home, or one from before the audit log). Safe to race.
   */
  static async open(state: StateDb, ring: KeyRing, options: AuditLogOptions = {}): Promise<AuditLog> {
    let keys = await writeGuard(() => loadAuditKeys(state.db, ring));
    let origin = await writeGuard(() => repo.readOrigin(state.db));
    if (keys === null || origin === null) {
      await AuditLog.initialize(state, ring, options);
      keys = await writeGuard(() => loadAuditKeys(state.db, ring));
      origin = await writeGuard(() => repo.readOrigin(state.db));
    }
    if (keys === null || origin === null) throw new KeyturnError('KT_AUDIT_KEY_MISSING', 'the audit log could not be initialized');
    if (keys.mac === null) {
      const known = origin;
      await writeGuard(() => state.db.transaction().execute((trx) => AuditLog.#addMacKey(trx, state, ring, known, options)));
      keys = await writeGuard(() => loadAuditKeys(state.db, ring));
      if (keys?.mac == null) throw new KeyturnError('KT_AUDIT_KEY_MISSING', 'the audit MAC key could not be created');
    }
    return new AuditLog(state, ring, keys, origin, options);
  }

  /**
   * The upgrade of a log from before the MAC key: creates it and authenticates the head as it is.
   * Events not yet covered by a checkpoint have no MAC; they are signed as they are, once, here
   * (there is nothing they could be checked against). A head that contradicts a checkpoint at its
   * own size (or is behind the latest one) is left without a MAC: appends refuse it, verify names it.
   */
  static async #addMacKey(trx: Transaction<Schema>, state: StateDb, ring: KeyRing, origin: string, options: AuditLogOptions): Promise<void> {
    const head = await repo.readHead(trx, state, true);
    const keys = await loadAuditKeys(trx, ring);
    if (keys === null || keys.mac !== null) return;
    // A log written with the key, whose key row is gone, is not upgraded again (that would sign
    // whatever a database writer left after the last checkpoint): restore the key instead.
    const used = head.mac !== null || (await repo.anyMacWritten(trx));
    if (used) throw new KeyturnError('KT_AUDIT_KEY_MISSING', 'the audit MAC key is gone from the state database, but the log was written with it; restore audit_keys from a backup');
    const now = (options.clock ?? systemClock).now();
    await addMacKey(trx, ring, now);
    const withMac = (await loadAuditKeys(trx, ring)) as AuditKeys;
    const log = new AuditLog(state, ring, withMac, origin, options);
    const latest = await repo.latestCheckpoint(trx);
    if (latest === null || latest.size < head.size || head.checkpointAt === null) {
      await log.#sign(trx, head, now);
      return;
    }
    if (latest.size > head.size) return;
    let signed: Buffer;
    try {
      signed = openCheckpoint(latest.note, log.#verifier(), { origin }).checkpoint.root;
    } catch {
      return;
    }
    if (!bytesEqual(CompactRange.restore(head.size, head.nodes).root(), signed)) return;
    await repo.setCheckpointNodes(trx, head.size, head.nodes);
    await log.#writeHead(trx, { ...head, checkpointSize: head.size });
  }

  /**
   * Creates the audit keys, the origin `keyturn.local/<install id>`, an `audit.init` event and
   * the first signed checkpoint, in one transaction. Does nothing when they exist; refuses
   * (KT_AUDIT_KEY_MISSING) a log that has events but lost its keys.
   */
  static async initialize(state: StateDb, ring: KeyRing, options: AuditLogOptions = {}): Promise<void> {
    const clock = options.clock ?? systemClock;
    const context = options.context ?? defaultContext();
    await writeGuard(() =>
      state.db.transaction().execute(async (trx) => {
        const head = await repo.readHead(trx, state, true);
        let origin = await repo.readOrigin(trx);
        let keys = await loadAuditKeys(trx, ring);
        if (keys !== null && origin !== null) return;
        if (head.size > 0) {
          // Never re-key a log that has events: its checkpoints would stop verifying, silently.
          throw new KeyturnError('KT_AUDIT_KEY_MISSING', `the audit log has ${head.size} events but its ${keys === null ? 'signing key' : 'origin'} is gone from the state database`);
        }
        if (origin === null) {
          origin = `keyturn.local/${randomBytes(8).toString('hex')}`;
          await repo.writeOrigin(trx, origin);
        }
        if (keys !== null) return;
        await createAuditKeys(trx, ring, origin, clock.now());
        keys = (await loadAuditKeys(trx, ring)) as AuditKeys;
        const log = new AuditLog(state, ring, keys, origin, { ...options, clock, context });
        await log.#appendUnder(trx, head, [{ action: 'audit.init', outcome: 'success' }], true, true);
      }),
    );
  }

  /** The checkpoint verifier key (C2SP vkey): publish it; `audit verify` needs only this. */
  get verifierKey(): string {
    return this.#keys.verifierKey;
  }

  /** The active HMAC key id. */
  get hmacKeyId(): string {
    return this.#keys.activeHmac;
  }

  /**
   * Appends one event, inside `trx` when given (it then commits or rolls back with the caller's
   * work). Resolves only once the event is written (in `trx`: once it is part of it).
   */
  async append(input: AuditInput, trx?: Transaction<Schema>): Promise<Appended> {
    // Without a transaction (every read's event), straight to the group commit.
    return (await (trx === undefined ? this.#grouped([input]) : this.appendBatch([input], trx)))[0] as Appended;
  }

  /**
   * Appends events in order in one transaction: the caller's, when given; otherwise a group
   * commit: appends made while another group is being written wait for it, then go together in
   * the next transaction (one head read and write, one commit for all of them). Each caller's
   * promise resolves only once its events are committed.
   */
  async appendBatch(inputs: readonly AuditInput[], trx?: Transaction<Schema>): Promise<Appended[]> {
    if (inputs.length === 0) return [];
    if (trx === undefined) return this.#grouped(inputs);
    // Events queued in this transaction by appendWithin come first: the log keeps the order they were recorded in.
    await flushBeforeCommit(trx, this);
    const appended = await writeGuard(() => this.#appendIn(trx, inputs));
    this.#notifyAfter(trx);
    return appended;
  }

  readonly #listeners = new Set<() => void>();
  readonly #eventListeners = new Set<(events: readonly AuditEvent[]) => void>();
  /** The events of a batch written for {@link onCommittedEvents} listeners, by the batch's result. */
  readonly #eventsOf = new WeakMap<readonly Appended[], readonly AuditEvent[]>();

  /**
   * Calls `listener` with the events of each group commit (`append` and `appendBatch` without a
   * transaction: the requests' reads) once they are committed, in seq order, as this process built
   * them: a follower of the log (the anomaly detectors) then need not read and parse them back.
   * Events appended in a caller's transaction, or by other processes, are not given: read them
   * from the log ({@link onAppended} says when). Returns the way to stop listening.
   *
   * @example
   * ```ts
   * const stop = audit.onCommittedEvents((events) => follower.take(events));
   * ```
   */
  onCommittedEvents(listener: (events: readonly AuditEvent[]) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  #handOff(appended: readonly Appended[]): void {
    const events = this.#eventsOf.get(appended);
    if (events === undefined) return;
    for (const listener of this.#eventListeners) {
      try {
        listener(events);
      } catch {
        // A listener's failure is its own; the append happened.
      }
    }
  }

  /**
   * Calls `listener` (with nothing: it reads what it wants) once events this process appended
   * have committed: at once for its own transactions and those opened by `transact`; for an
   * append in another caller's transaction, on the next turn of the event loop, perhaps before
   * that commit (a listener that finds nothing new must look again later). Events other
   * processes append are not signalled. Returns the way to stop listening.
   *
   * @example
   * ```ts
   * const stop = audit.onAppended(() => wake());
   * ```
   */
  onAppended(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly #notify = (): void => {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the append happened.
      }
    }
  };

  /** Notifies the listeners once `trx` commits (or, when that cannot be known, on the next turn). */
  #notifyAfter(trx: Transaction<Schema>): void {
    if (this.#listeners.size === 0) return;
    if (!afterCommit(trx, this.#listeners, this.#notify)) setImmediate(this.#notify);
  }

  /**
   * The rows this log wrote that no checkpoint covers yet, by seq: each one's text, leaf hash and
   * MAC, under the MAC key it used (see {@link #verifyUncovered}). Emptied when a checkpoint is
   * signed; bounded by {@link WRITTEN_MAX}.
   */
  readonly #written = new Map<number, { readonly text: string; readonly hash: Buffer; readonly hashB64: string; readonly mac: string; readonly key: Buffer }>();

  /** The background check before a checkpoint (null: checked in the appending transaction). */
  #background: BackgroundCheck | null = null;
  /** The background check and signing under way, if any. */
  #checking: Promise<void> | null = null;
  /** The last background check or signing failed: the next due checkpoint is checked in its transaction. */
  #checkFailed = false;
  /** The last checkpoint this log signed: its compact range, where the next check starts without reading it back. */
  #signed: { readonly size: number; readonly nodes: readonly Buffer[] } | null = null;

  /**
   * From now on, the check before a checkpoint that falls due in a group commit (the reads' events)
   * runs in a worker thread on its own connection, and the checkpoint is signed afterwards, in a
   * transaction of its own, at the size that was checked; appends go on meanwhile. For a process
   * that appends all the time (`keyturn server`): the check re-reads and hashes every event since
   * the last checkpoint, which otherwise holds the event loop inside an append every 1,000 events.
   *
   * What is checked, and what a problem does, are unchanged: nothing is signed over a row that
   * fails (the next due append checks in its transaction and fails with the problem, as without
   * this). Falls back to that in-transaction check when the worker fails, when more than twice
   * `checkpointEvery` events are uncovered, and for appends in a caller's transaction. Only for a
   * SQLite state file; returns whether it is on. {@link stopBackgroundCheck} ends it.
   *
   * @example
   * ```ts
   * kt.audit.checkInBackground(); // true on a SQLite home
   * ```
   */
  checkInBackground(): boolean {
    if (this.#background?.usable === true) return true;
    if (this.#state.dialect !== 'sqlite' || this.#state.location === ':memory:') return false;
    this.#background = BackgroundCheck.start(this.#state.location);
    return this.#background !== null;
  }

  /** Ends the background check (waiting for a signing under way); checks run in the appending transaction again. */
  async stopBackgroundCheck(): Promise<void> {
    const bg = this.#background;
    if (bg === null) return;
    this.#background = null;
    await bg.stop();
    await this.#checking;
  }

  /** Resolves once the background check and signing under way, if any, has ended (signed or not). */
  async whenChecked(): Promise<void> {
    await this.#checking;
  }

  #deferrable(head: Head, size: number): boolean {
    return this.#background?.usable === true && !this.#checkFailed && size - head.checkpointSize < 2 * this.#every;
  }

  /** Checks `due` in the background and signs it, unless a check is under way already (the next due group starts another). */
  #startCheck(due: DueCheckpoint): void {
    if (this.#checking !== null) return;
    this.#checking = this.#checkAndSign(due).finally(() => {
      this.#checking = null;
    });
  }

  async #checkAndSign(due: DueCheckpoint): Promise<void> {
    const bg = this.#background;
    if (bg === null) return;
    try {
      const signed = this.#signed;
      const fromNodes = due.from === 0 ? [] : signed?.size === due.from ? signed.nodes : (await this.#rangeAt(this.#state.db, due.from)).nodes();
      await bg.check({ from: due.from, fromNodes, key: this.#macKey(), target: due });
      await writeGuard(() =>
        this.#state.db.transaction().execute(async (trx) => {
          const head = await repo.readHead(trx, this.#state, true);
          // Signed meanwhile at this size or later (tick, audit checkpoint, another process): nothing to do.
          if (head.checkpointSize >= due.size) return;
          this.#assertHead(head);
          if (head.size < due.size)
            throw new KeyturnError('KT_AUDIT_TRUNCATED', `the audit head records ${head.size} events, fewer than the ${due.size} just checked; no checkpoint was signed (run keyturn audit verify)`);
          const now = this.#clock.now();
          await this.#insertSigned(trx, due, now);
          await this.#writeHead(trx, { ...head, checkpointSize: due.size, checkpointAt: now });
        }),
      );
    } catch {
      // Nothing was signed. The next due append checks in its transaction, and fails with the problem if there is one.
      this.#checkFailed = true;
    }
  }

  /** Appends waiting for the next group commit, and whether a group is being written now. */
  #waiting: Array<{ inputs: readonly AuditInput[]; resolve: (a: Appended[]) => void; reject: (e: unknown) => void }> = [];
  #writing = false;

  #grouped(inputs: readonly AuditInput[]): Promise<Appended[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ inputs, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      // Written once the event loop has run the callbacks of this turn: the SQLite driver is
      // synchronous, so a group written at once would never see the appends of requests that
      // arrived together (each would commit alone); after this turn's I/O, they are all waiting.
      setImmediate(() => void this.#writeGroups());
    });
  }

  async #writeGroups(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const group = this.#waiting.splice(0);
        // A checkpoint that falls due in a group is checked in the background, when that is on: after the commit.
        const slot: DeferSlot = {};
        const write = (all: readonly AuditInput[]) => writeGuard(() => this.#state.db.transaction().execute((t) => this.#appendIn(t, all, slot)));
        try {
          const appended = await write(group.flatMap((g) => g.inputs));
          if (slot.due !== undefined) this.#startCheck(slot.due);
          this.#handOff(appended);
          this.#notify();
          let k = 0;
          for (const g of group) {
            g.resolve(appended.slice(k, k + g.inputs.length));
            k += g.inputs.length;
          }
        } catch (e) {
          // One caller's bad event must not fail the others: alone, each gets its own outcome.
          if (group.length === 1) group[0]!.reject(e);
          else for (const g of group) await write(g.inputs).then((a) => (this.#handOff(a), this.#notify(), g.resolve(a)), g.reject);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Per transaction: the events {@link appendWithin} queued, appended as one batch just before it commits. */
  readonly #queued = new WeakMap<Transaction<Schema>, AuditInput[]>();

  /**
   * Records an event as part of `trx`. When `trx` was opened by `transact` (src/state/tx.ts), the
   * event is queued and appended with the transaction's other events in one batch just before it
   * commits (one read and one write of the head per transaction); a failure there rolls the whole
   * transaction back, as an append at once would. In any other transaction it is appended at once.
   */
  async appendWithin(input: AuditInput, trx: Transaction<Schema>): Promise<void> {
    let queue = this.#queued.get(trx);
    if (queue === undefined) {
      const fresh: AuditInput[] = [];
      const flush = async (): Promise<void> => {
        this.#queued.delete(trx);
        await writeGuard(() => this.#appendIn(trx, fresh));
        this.#notifyAfter(trx);
      };
      if (!beforeCommit(trx, this, flush)) {
        await this.append(input, trx);
        return;
      }
      this.#queued.set(trx, fresh);
      queue = fresh;
    }
    queue.push(input);
  }

  /**
   * The periodic duty: after `checkpointSeconds` without an event, append an `audit.heartbeat`
   * leaf and sign it; otherwise sign a checkpoint if one is due. Returns what it did.
   */
  async tick(): Promise<{ heartbeat: Appended | null; checkpoint: number | null }> {
    return writeGuard(() =>
      this.#state.db.transaction().execute(async (trx) => {
        const head = await repo.readHead(trx, this.#state, true);
        const now = this.#clock.now();
        if (head.lastEventAt === null || now - head.lastEventAt >= this.#seconds * 1000) {
          const [beat] = await this.#appendUnder(trx, head, [{ action: 'audit.heartbeat', actor: 'system:audit', outcome: 'success' }], true, false);
          return { heartbeat: beat as Appended, checkpoint: head.size + 1 };
        }
        this.#assertHead(head);
        if (!this.#checkpointDue(head, head.size, now)) return { heartbeat: null, checkpoint: null };
        await this.#checkpointUnder(trx, head, now);
        return { heartbeat: null, checkpoint: head.size };
      }),
    );
  }

  /**
   * The latest signed checkpoint, after signing one at the current size if the log grew since
   * the last (a checkpoint covers every event written so far).
   */
  async checkpoint(): Promise<CheckpointRow> {
    return writeGuard(() =>
      this.#state.db.transaction().execute(async (trx) => {
        const head = await repo.readHead(trx, this.#state, true);
        if (head.size > head.checkpointSize || head.checkpointAt === null) await this.#checkpointUnder(trx, head, this.#clock.now());
        const latest = await repo.latestCheckpoint(trx);
        if (latest === null) throw new KeyturnError('KT_AUDIT_WRITE_FAILED', 'no audit checkpoint could be read back');
        return latest;
      }),
    );
  }

  /**
   * `hmac-sha256:<key id>:<base64>` of a value under the active HMAC key: what events carry in
   * `valueHmac`, and what to search the log (or a SIEM) for.
   *
   * @example
   * ```ts
   * audit.hash('hunter2'); // 'hmac-sha256:hk_1a2b3c4d:…='
   * ```
   */
  hash(value: string | Uint8Array): string {
    return valueHmac(this.#keys.activeHmac, this.#keys.hmac.get(this.#keys.activeHmac) as Buffer, toBytes(value));
  }

  /** The value's HMAC under every HMAC key, active first (events older than a rotation use older keys). */
  hashAll(value: string | Uint8Array): string[] {
    const bytes = toBytes(value);
    const ids = [this.#keys.activeHmac, ...[...this.#keys.hmac.keys()].filter((id) => id !== this.#keys.activeHmac).reverse()];
    return ids.map((id) => valueHmac(id, this.#keys.hmac.get(id) as Buffer, bytes));
  }

  /** Makes a fresh HMAC key the active one (older ones stay for searching); returns its id. */
  async rotateHmacKey(): Promise<string> {
    const id = await writeGuard(() => this.#state.db.transaction().execute((trx) => addHmacKey(trx, this.#ring, this.#clock.now())));
    this.#keys = (await loadAuditKeys(this.#state.db, this.#ring)) as AuditKeys;
    return id;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  /**
   * Checks what no checkpoint covers yet, as a checkpoint would before signing it (the head's MAC,
   * then each event since the last checkpoint: its seq, leaf hash and MAC, and that they lead to
   * the head), without writing anything: the fast check of `keyturn health`. Events a checkpoint
   * covers are not read (`keyturn audit verify` checks the whole log). Throws the problem's code
   * (KT_AUDIT_LEAF_CHANGED, KT_AUDIT_HEAD_FORGED, ...); returns the head it checked.
   *
   * @example
   * ```ts
   * const head = await audit.verifyTail();
   * head.size - head.checkpointSize; // events checked
   * ```
   */
  async verifyTail(): Promise<Head> {
    // No transaction (on SQLite one takes the write lock): appends only add rows past the head
    // read first, and the checkpoint it continues from stays, so the rows read are the head's.
    return readGuard(async () => {
      const head = await repo.readHead(this.#state.db, this.#state, false);
      this.#assertHead(head);
      await this.#verifyUncovered(this.#state.db, head);
      return head;
    });
  }

  /** The head: size, last event time, last checkpoint. */
  async head(): Promise<Head> {
    return readGuard(() => repo.readHead(this.#state.db, this.#state, false));
  }

  /** The last `n` events, oldest first. */
  async tail(n: number): Promise<LeafRow[]> {
    return readGuard(() => repo.lastLeaves(this.#state.db, n));
  }

  /** Events with seq in [from, to), oldest first, at most `limit`. */
  async between(from: number, to?: number, limit?: number): Promise<LeafRow[]> {
    return readGuard(() => repo.leavesBetween(this.#state.db, from, to, limit));
  }

  /** The first seq at or after a time (epoch ms), or null when no event is that recent. */
  async firstSeqSince(ms: number): Promise<number | null> {
    return readGuard(() => repo.firstSeqAtOrAfter(this.#state.db, ms));
  }

  /** One event by id (`ev_<seq>_<hash>`, which must match the row) or seq number. */
  async find(idOrSeq: string): Promise<LeafRow | null> {
    const bySeq = /^(0|[1-9][0-9]{0,15})$/.test(idOrSeq);
    const seq = bySeq ? Number(idOrSeq) : seqOfEventId(idOrSeq);
    if (seq === null) return null;
    const row = await readGuard(() => repo.leafBySeq(this.#state.db, seq));
    return row !== null && (bySeq || row.id === idOrSeq) ? row : null;
  }

  /** Calls `fn` with the events with seq in [from, to), a page at a time, in seq order. */
  async pages(from: number, fn: (rows: LeafRow[]) => void | Promise<void>, to = Number.MAX_SAFE_INTEGER): Promise<void> {
    return readGuard(() => repo.eachLeafPage(this.#state.db, from, to, fn));
  }

  async checkpoints(): Promise<CheckpointRow[]> {
    return readGuard(() => repo.allCheckpoints(this.#state.db));
  }

  /** Checkpoints with size in [from, to], by size. */
  async checkpointsBetween(from: number, to: number): Promise<CheckpointRow[]> {
    return readGuard(() => repo.checkpointsBetween(this.#state.db, from, to));
  }

  async latestCheckpoint(): Promise<CheckpointRow | null> {
    return readGuard(() => repo.latestCheckpoint(this.#state.db));
  }

  /**
   * What the MAC key says about stored rows (for `audit verify`): the rows with seq >= `from`
   * whose MAC is missing or wrong (their positions in `rows`), and whether the head's MAC holds.
   */
  authenticate(rows: readonly LeafRow[], head: Head, from: number): { badLeaves: number[]; headValid: boolean } {
    const key = this.#keys.mac;
    if (key === null) return { badLeaves: [], headValid: false };
    const badLeaves: number[] = [];
    rows.forEach((row, i) => {
      if (row.seq >= from && !leafMacValid(key, leafHash(Buffer.from(row.leaf, 'utf8')), row.leaf_mac)) badLeaves.push(i);
    });
    return { badLeaves, headValid: headMacValid(key, head) };
  }

  // ── internals ──────────────────────────────────────────────────────────

  /**
   * Appends under a locked head; signs a checkpoint when due (or when `forceCheckpoint`). The
   * head's MAC is checked first, except for the empty head `initialize` starts from (`fresh`).
   */
  /** Appends in `trx` under the head it reads (and, on PostgreSQL, locks) there. */
  async #appendIn(trx: Transaction<Schema>, inputs: readonly AuditInput[], slot?: DeferSlot): Promise<Appended[]> {
    return this.#appendUnder(trx, await repo.readHead(trx, this.#state, true), inputs, false, false, slot);
  }

  async #appendUnder(trx: Transaction<Schema>, head: Head, inputs: readonly AuditInput[], forceCheckpoint: boolean, fresh: boolean, slot?: DeferSlot): Promise<Appended[]> {
    const key = this.#macKey();
    if (!fresh) this.#assertHead(head);
    const appender = new AuditAppender({ size: head.size, prev: head.prev, nodes: head.nodes.map((n) => n.toString('hex')) });
    const now = this.#clock.now();
    const time = new Date(now).toISOString();
    const rows: LeafRow[] = new Array<LeafRow>(inputs.length);
    const hashes: Buffer[] = new Array<Buffer>(inputs.length);
    const events: AuditEvent[] | null = this.#eventListeners.size > 0 ? new Array<AuditEvent>(inputs.length) : null;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as AuditInput;
      const { event, text, leafHash } = appender.appendText({
        time: input.time ?? time,
        actor: input.actor ?? this.context.actor,
        source: input.source ?? this.context.source,
        action: input.action,
        outcome: input.outcome,
        path: input.path ?? null,
        versionId: input.versionId ?? null,
        errorCode: input.errorCode ?? null,
        runId: input.runId ?? null,
        correlationId: input.correlationId === undefined ? this.context.correlationId : input.correlationId,
        valueHmac: input.valueHmac ?? null,
        address: input.address === undefined ? (this.context.address ?? null) : input.address,
        userAgent: input.userAgent === undefined ? (this.context.userAgent ?? null) : input.userAgent,
        fingerprint: input.fingerprint ?? null,
        location: input.location ?? null,
      });
      rows[i] = {
        seq: event.seq,
        id: eventIdOf(event.seq, leafHash),
        leaf: text,
        leaf_hash: leafHash.toString('base64'),
        time: input.time === undefined ? now : Date.parse(event.time),
        leaf_mac: leafMacV2(key, leafHash),
      };
      hashes[i] = leafHash;
      if (events !== null) events[i] = event;
    }
    let checkpoint = forceCheckpoint || this.#checkpointDue(head, head.size + inputs.length, now);
    // Due, but checked in the background after this commit and signed then (see checkInBackground).
    const deferred = checkpoint && !forceCheckpoint && slot !== undefined && this.#deferrable(head, head.size + inputs.length);
    if (deferred) checkpoint = false;
    // The events before this transaction that no checkpoint covers yet: checked before signing.
    if (checkpoint && !fresh) await this.#verifyUncovered(trx, head);
    await repo.insertLeaves(trx, this.#state, rows);
    // What the next checkpoint's check may compare against (a rolled-back transaction leaves
    // entries that simply match no stored row, or are replaced by the rows that reuse their seq).
    // The background check hashes every row again on its own thread: nothing to keep for it.
    if (checkpoint || this.#background !== null) this.#written.clear();
    else if (this.#written.size + rows.length <= WRITTEN_MAX) {
      rows.forEach((r, i) => this.#written.set(r.seq, { text: r.leaf, hash: hashes[i] as Buffer, hashB64: r.leaf_hash, mac: r.leaf_mac as string, key }));
    }
    const state = appender.state();
    let next: Head = {
      size: state.size,
      prev: state.prev,
      nodes: state.nodes.map((n) => Buffer.from(n, 'hex')),
      lastEventAt: now,
      checkpointSize: head.checkpointSize,
      checkpointAt: head.checkpointAt,
      mac: null,
    };
    if (checkpoint) {
      const note = appender.checkpoint(this.origin, this.#keys.signer);
      await repo.insertCheckpoint(trx, { size: next.size, root: appender.root().toString('base64'), note, created_at: now, nodes: Buffer.concat(next.nodes).toString('base64') });
      next = { ...next, checkpointSize: next.size, checkpointAt: now };
      this.#signedAt(next.size, next.nodes);
    }
    if (deferred && slot !== undefined) slot.due = { from: head.checkpointSize, size: next.size, prev: next.prev, nodes: next.nodes };
    await this.#writeHead(trx, next);
    const appended = rows.map((r) => ({ seq: r.seq, id: r.id }));
    if (events !== null) this.#eventsOf.set(appended, events);
    return appended;
  }

  /** Signs a checkpoint of the head as it stands, after checking the head and the events since the last checkpoint. */
  async #checkpointUnder(trx: Transaction<Schema>, head: Head, now: number): Promise<void> {
    this.#assertHead(head);
    await this.#verifyUncovered(trx, head);
    await this.#sign(trx, head, now);
  }

  /** Signs a checkpoint of the head (size and compact range, not the leaf rows) and writes the head; checks nothing. */
  async #sign(trx: Transaction<Schema>, head: Head, now: number): Promise<void> {
    await this.#insertSigned(trx, head, now);
    await this.#writeHead(trx, { ...head, checkpointSize: head.size, checkpointAt: now });
  }

  /**
   * Signs a checkpoint of `tree` (size and compact range) and stores it; checks nothing and leaves
   * the head to the caller. The same size again with the same root (e.g. the first checkpoint of
   * an empty log) keeps the one there is; with another root it is KT_AUDIT_CHECKPOINT_FORK.
   */
  async #insertSigned(trx: Transaction<Schema>, tree: { readonly size: number; readonly prev: string; readonly nodes: readonly Buffer[] }, now: number): Promise<void> {
    const appender = new AuditAppender({ size: tree.size, prev: tree.prev, nodes: tree.nodes.map((n) => n.toString('hex')) });
    const existing = await repo.latestCheckpoint(trx);
    if (existing !== null && existing.size === tree.size) {
      if (readCheckpointUnverified(existing.note).root.equals(appender.root())) {
        if (existing.nodes == null) await repo.setCheckpointNodes(trx, tree.size, tree.nodes);
        return;
      }
      throw new KeyturnError('KT_AUDIT_CHECKPOINT_FORK', `a checkpoint at size ${tree.size} with another root is already stored; run keyturn audit verify`);
    }
    const note = appender.checkpoint(this.origin, this.#keys.signer);
    await repo.insertCheckpoint(trx, { size: tree.size, root: appender.root().toString('base64'), note, created_at: now, nodes: Buffer.concat(tree.nodes).toString('base64') });
    this.#signedAt(tree.size, tree.nodes);
  }

  /** A checkpoint this log signed: the next check starts from it, and the rows before it are no longer kept. */
  #signedAt(size: number, nodes: readonly Buffer[]): void {
    this.#written.clear();
    this.#signed = { size, nodes };
    this.#checkFailed = false;
  }

  /** Writes the head with its MAC. */
  async #writeHead(trx: Transaction<Schema>, head: Head): Promise<void> {
    await repo.writeHead(trx, this.#state, { ...head, mac: headMac(this.#macKey(), head) });
  }

  #macKey(): Buffer {
    if (this.#keys.mac === null) throw new KeyturnError('KT_AUDIT_KEY_MISSING', 'the audit MAC key is missing from the state database');
    return this.#keys.mac;
  }

  #verifierCache: NoteVerifier | undefined;
  #verifier(): NoteVerifier {
    return (this.#verifierCache ??= parseVerifierKey(this.#keys.verifierKey));
  }

  /** KT_AUDIT_HEAD_FORGED unless the head row carries its MAC (it was written by this log). */
  #assertHead(head: Head): void {
    if (headMacValid(this.#macKey(), head)) return;
    throw new KeyturnError(
      'KT_AUDIT_HEAD_FORGED',
      `the audit head row (size ${head.size}) does not carry a valid MAC: it was written without the audit key; nothing was appended or signed (run keyturn audit verify)`,
    );
  }

  /**
   * Checks the events from the head's last checkpoint to the head, as stored: each row's seq, leaf
   * hash and MAC, and that the tree from the checkpoint's stored compact range (proven by its
   * signed root) ends in the head's compact range and last hash. Throws naming the first problem.
   */
  async #verifyUncovered(trx: Kysely<Schema> | Transaction<Schema>, head: Head): Promise<void> {
    const from = head.checkpointSize;
    if (from >= head.size) return;
    const walk = startWalk(from, from === 0 ? undefined : await this.#rangeAt(trx, from));
    const key = this.#macKey();
    // A row byte for byte as this log wrote it has the leaf hash and MAC computed then: the same
    // check without hashing its text again. (Plain comparisons: the fast path only ever matches
    // this log's own MAC, which the row shows anyway.)
    const known: KnownRow = (seq, leaf, leafHash, leafMac) => {
      const mine = this.#written.get(seq);
      return mine !== undefined && mine.key === key && mine.text === leaf && mine.hashB64 === leafHash && mine.mac === leafMac ? mine.hash : undefined;
    };
    await repo.eachLeafCheckPage(trx, this.#state, from, head.size, (rows) => checkRows(walk, rows, key, known));
    assertLeadsTo(walk, head);
  }

  /** The compact range at a checkpoint's size, from its stored nodes, proven by its signed root. */
  async #rangeAt(trx: Kysely<Schema> | Transaction<Schema>, size: number): Promise<CompactRange> {
    const row = await repo.checkpointAt(trx, size);
    const mismatch = (why: string): KeyturnError =>
      new KeyturnError('KT_AUDIT_CHECKPOINT_MISMATCH', `the checkpoint at size ${size}, from which the head continues, ${why}; no checkpoint was signed (run keyturn audit verify)`);
    if (row === null) throw mismatch('is missing');
    const nodes = row.nodes == null ? null : repo.splitNodes(row.nodes);
    if (nodes === null) throw mismatch('has no stored compact range');
    let signed;
    try {
      signed = openCheckpoint(row.note, this.#verifier(), { origin: this.origin }).checkpoint;
    } catch (e) {
      throw mismatch(`does not verify (${isKeyturnError(e) ? e.code : 'unreadable'})`);
    }
    let range: CompactRange;
    try {
      range = CompactRange.restore(size, nodes);
    } catch {
      throw mismatch('has a malformed compact range');
    }
    if (signed.size !== size || !bytesEqual(range.root(), signed.root)) throw mismatch('has a compact range that does not match its signed root');
    return range;
  }

  #checkpointDue(head: Head, size: number, now: number): boolean {
    if (size <= head.checkpointSize && head.checkpointAt !== null) return false;
    return head.checkpointAt === null || size - head.checkpointSize >= this.#every || now - head.checkpointAt >= this.#seconds * 1000;
  }
}

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

/** Database errors on the write path are KT_AUDIT_WRITE_FAILED (the write they guard fails closed). */
async function writeGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isKeyturnError(e)) throw e;
    if (isDatabaseFull(e))
      throw new KeyturnError('KT_DATABASE_FULL', 'the audit log could not be written: the database or its disk is full; the write was rolled back and nothing was written', { cause: e });
    throw new KeyturnError('KT_AUDIT_WRITE_FAILED', `the audit log could not be written: ${(e as Error).message}`, { cause: e });
  }
}

async function readGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isKeyturnError(e)) throw e;
    if (isDatabaseFull(e)) throw new KeyturnError('KT_DATABASE_FULL', 'the audit log could not be read: the database or its disk is full', { cause: e });
    throw new KeyturnError('KT_DATABASE_UNAVAILABLE', `the audit log could not be read: ${(e as Error).message}`, { cause: e });
  }
}
