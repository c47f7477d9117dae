/**
 * Wiring: from settings to an open Keyturn (state database, key ring, the store from the store
 * registry, audited), plus the two operations that manage the home itself, `init` and root-key
 * rotation.
 *
 * @example
 * ```ts
 * const settings = loadSettings(process.env);
 * await initHome(settings);
 * const kt = await openKeyturn(settings);
 * await kt.store.put('app/session-key', 'v1');
 * await kt.close();
 * ```
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { KeyRing } from '../crypto/keyring.js';
import {
  generateRootKey,
  loadRootKeyCandidates,
  NEXT_ROOT_KEY_FILE,
  OLD_ROOT_KEY_FILE,
  parseRootKey,
  readRootKeyFile,
  ROOT_KEY_FILE,
  settleRootKeyFiles,
  writeRootKeyFile,
  type RootKey,
} from '../crypto/root-key.js';
import type { Settings } from '../config/settings.js';
import { openState, type StateDb } from '../state/db.js';
import { assertHomeSafe } from './home-safety.js';
import { prepareStore, type PreparedStore } from '../stores/registry.js';
import type { SecretStore } from '../stores/store.js';
import { AppliedConfig } from '../engine/applied.js';
import type { Engine, BoundaryHook } from '../engine/engine.js';
import type { RunObserver } from '../engine/observer.js';
import type { AuditLog } from '../audit/log.js';
import { defaultContext, type AuditContext } from '../audit/context.js';
import { engineAuditPort, replicaAuditPort, storeAuditHook } from '../audit/hooks.js';
import type { ReplicaSync } from '../replicas/sync.js';
import { ReplicaStores } from '../replicas/stores.js';
import { ReplicaFallback } from '../replicas/fallback.js';
import { withReplicaFallback } from '../replicas/fallback-store.js';
import { deliverConfiguredSinks, openAudit } from '../audit/runtime.js';
import type { SinkReport } from '../audit/sinks/deliver.js';
import { indexedValues } from '../scan/link/value-index.js';

export interface Keyturn {
  readonly settings: Settings;
  readonly state: StateDb;
  readonly ring: KeyRing;
  readonly store: SecretStore;
  readonly log: Logger;
  readonly clock: Clock;
  /** The applied configuration (policies, targets); target connections close with `close()`. */
  readonly applied: AppliedConfig;
  /** The rotation engine, created (and its code loaded) on first use. */
  engine(): Promise<Engine>;
  /** The audit log; the store and the engine record into it with this process's context. */
  readonly audit: AuditLog;
  /** The store, recording its audit events with another context (a server request's token, source and correlation id). */
  storeFor(context: AuditContext): SecretStore;
  /** Tells `observer` about every run the engine of this Keyturn executes (metrics); returns the function that stops it. */
  observeRuns(observer: RunObserver): () => void;
  /**
   * A rotation engine acting for another context (a server request): its runs' events name that
   * actor, and the store it writes through records that context. `stopped` is asked at every step
   * boundary, as `requestStop` would (a server shutting down).
   */
  engineFor(context: AuditContext, options?: { stopped?: () => boolean }): Promise<Engine>;
  /** Copies secrets' current values to their replicas (`replicas:`); the engine's propagate step and the catch-up pass use it. */
  replicasFor(context: AuditContext): Promise<ReplicaSync>;
  /** Feeds the configured audit sinks what they are behind by (each delivery bounded; `close` does up to 20 batches per sink). */
  deliverAudit(maxBatches?: number): Promise<SinkReport[]>;
  close(): Promise<void>;
}

/**
 * The boundary hook that makes this process SIGKILL itself where KEYTURN_CRASH_AT says (crash
 * tests), or, with `STEP:WHEN:stop`, SIGSTOP itself there once (the fencing test resumes it later).
 */
function crashHook(crashAt: string | undefined): BoundaryHook | undefined {
  if (!crashAt) return undefined;
  const [step, when, how] = crashAt.split(':');
  let stopped = false;
  return (s, w) => {
    if (s !== step || w !== when) return;
    if (how !== 'stop') process.kill(process.pid, 'SIGKILL');
    else if (!stopped) {
      stopped = true;
      process.kill(process.pid, 'SIGSTOP');
    }
  };
}

/** Sink batches per sink fed when Keyturn closes: a sink far behind catches up over several commands (or `audit deliver`). */
const CLOSE_SINK_BATCHES = 20;

export interface OpenOptions {
  clock?: Clock;
  log?: Logger;
  /** Who is acting, for the audit log (default: a library caller). */
  audit?: AuditContext;
}

async function openStateFor(settings: Settings, mustExist: boolean): Promise<StateDb> {
  if (settings.databaseUrl) return openState({ url: settings.databaseUrl });
  if (mustExist && !existsSync(settings.sqliteFile)) {
    throw new KeyturnError('KT_NOT_INITIALIZED', `no state database at ${settings.sqliteFile}`);
  }
  return openState({ sqliteFile: settings.sqliteFile });
}

/** Whether the home's state database exists and has its keys (without creating anything). */
export async function isHomeInitialized(settings: Settings): Promise<boolean> {
  if (!settings.databaseUrl && !existsSync(settings.sqliteFile)) return false;
  const state = await openStateFor(settings, true);
  try {
    return await KeyRing.isInitialized(state);
  } finally {
    await state.close();
  }
}

/** Opens an initialized home: throws KT_HOME_UNSAFE, KT_NOT_INITIALIZED, KT_ROOT_KEY_* errors as they apply. */
export async function openKeyturn(settings: Settings, options: OpenOptions = {}): Promise<Keyturn> {
  const log = options.log ?? createLogger(settings.logLevel);
  const clock = options.clock ?? systemClock;
  assertHomeSafe(settings.home, { rootKeyFiles: !settings.rootKeyFromEnv });
  const state = await openStateFor(settings, true);
  try {
    const candidates = loadRootKeyCandidates(settings.home, settings.rootKeyFromEnv);
    const ring = await KeyRing.open(state, candidates, clock);
    if (!settings.rootKeyFromEnv) settleRootKeyFiles(settings.home, ring.rootKey);
    const context = options.audit ?? defaultContext();
    const audit = await openAudit(state, ring, settings.audit, { clock, context });
    const replicaStores = new ReplicaStores(state, { state, ring, clock, settings });
    // Read-only fallback replicas: the sync behind it reads the primary itself, never through the fallback.
    const fallback = new ReplicaFallback({ state, log, open: (name) => replicaStores.open(name), sync: () => replicasFor(context, prepared.bare()) });
    const prepared: PreparedStore = await prepareStore(
      settings.storeFile === undefined ? { type: 'embedded' } : (await import('../stores/store-file.js')).readStoreFile(settings.storeFile),
      { state, ring, clock, settings },
      { primary: true, log, wrap: (s) => withReplicaFallback(s, fallback) },
    );
    // The value index (`value_hmacs`) is kept with each put's event, so `keyturn scan` can link a found value.
    const storeFor = (ctx: AuditContext): SecretStore => prepared.forAudit(indexedValues(storeAuditHook(audit, ctx), state, audit));
    const store = storeFor(context);
    log.debug({ state: state.location, dialect: state.dialect, rootKeyId: ring.rootKey.id }, 'keyturn opened');
    const applied = new AppliedConfig(state);
    let engine: Promise<Engine> | undefined;
    const deliverAudit = async (maxBatches?: number): Promise<SinkReport[]> => {
      const reports = await deliverConfiguredSinks(audit, state, settings.audit, { clock, ...(maxBatches === undefined ? {} : { maxBatches }) });
      for (const r of reports) if (r.error !== null) log.warn({ sink: r.name, behind: r.behind, error: r.error }, 'audit sink is behind');
      return reports;
    };
    const onBoundary = crashHook(settings.crashAt);
    const observers = new Set<RunObserver>();
    // One observer for the engine, made when it is: it tells whoever observes at the time.
    const observer: RunObserver = {
      started: (e) => {
        for (const o of observers) o.started(e);
      },
      ended: (e) => {
        for (const o of observers) o.ended(e);
      },
    };
    const replicasFor = async (ctx: AuditContext, s: SecretStore = storeFor(ctx)): Promise<ReplicaSync> => {
      const { ReplicaSync } = await import('../replicas/sync.js');
      return new ReplicaSync({ state, primary: s.withoutReadAudit?.() ?? s, applied, clock, log, open: (name) => replicaStores.open(name), audit: replicaAuditPort(audit, ctx) });
    };
    const makeEngine = async (ctx: AuditContext, s: SecretStore, stopped?: () => boolean): Promise<Engine> => {
      const [{ Engine }, replicas] = await Promise.all([import('../engine/engine.js'), replicasFor(ctx, s)]);
      return new Engine({
        state,
        store: s.withoutReadAudit?.() ?? s,
        applied,
        clock,
        log,
        audit: engineAuditPort(audit, ctx),
        replicas,
        fallback,
        observer,
        agentStaleAfterMs: settings.agentStaleAfterMs,
        leaseTtlMs: settings.leaseMs,
        ...(onBoundary ? { onBoundary } : {}),
        ...(stopped ? { stopped } : {}),
      });
    };
    return {
      settings,
      state,
      ring,
      store,
      log,
      clock,
      applied,
      engine: () => (engine ??= makeEngine(context, store)),
      audit,
      storeFor,
      engineFor: (ctx, opts = {}) => makeEngine(ctx, storeFor(ctx), opts.stopped),
      observeRuns: (o) => {
        observers.add(o);
        return () => observers.delete(o);
      },
      deliverAudit,
      replicasFor: (ctx) => replicasFor(ctx),
      close: async () => {
        // Sinks catch up now, each delivery bounded; one that is down or hangs only stays behind.
        await deliverAudit(CLOSE_SINK_BATCHES).catch((e: unknown) => log.warn({ code: (e as { code?: string }).code }, 'audit sinks not fed'));
        await audit.stopBackgroundCheck();
        await applied.close();
        await replicaStores.close();
        await prepared.close();
        await state.close();
      },
    };
  } catch (e) {
    await state.close();
    throw e;
  }
}

export interface InitResult {
  home: string;
  state: string;
  dialect: string;
  rootKeyId: string;
  rootKeySource: string;
  /** The audit log's name (checkpoint origin). */
  auditOrigin: string;
  /** The audit verifier key (C2SP vkey): publish it; `keyturn audit verify` needs only this. */
  auditKey: string;
}

/**
 * Creates the home folder (mode 0700), the root key file (unless KEYTURN_ROOT_KEY is set) and the
 * state database with its first data key, and the audit log's keys, first event and checkpoint. Safe to run again after a crash half-way; refuses a
 * home that is already initialized.
 */
export async function initHome(settings: Settings, options: { audit?: AuditContext } = {}): Promise<InitResult> {
  assertHomeSafe(settings.home, { rootKeyFiles: !settings.rootKeyFromEnv });
  mkdirSync(settings.home, { recursive: true, mode: 0o700 });
  let root: RootKey;
  const keyFile = join(settings.home, ROOT_KEY_FILE);
  if (settings.rootKeyFromEnv) root = parseRootKey(settings.rootKeyFromEnv, 'KEYTURN_ROOT_KEY');
  else if (existsSync(keyFile)) root = readRootKeyFile(keyFile);
  else {
    root = generateRootKey(keyFile);
    writeRootKeyFile(keyFile, root);
  }
  const state = await openStateFor(settings, false);
  try {
    // The file holds only sealed values, but paths and metadata are nobody else's business.
    if (state.dialect === 'sqlite') chmodSync(settings.sqliteFile, 0o600);
    const ring = await KeyRing.initialize(state, root);
    const audit = await openAudit(state, ring, settings.audit, { context: options.audit ?? defaultContext() });
    return {
      home: settings.home,
      state: state.location,
      dialect: state.dialect,
      rootKeyId: root.id,
      rootKeySource: settings.rootKeyFromEnv ? 'KEYTURN_ROOT_KEY' : keyFile,
      auditOrigin: audit.origin,
      auditKey: audit.verifierKey,
    };
  } finally {
    await state.close();
  }
}

export interface RotateRootResult {
  previousRootKeyId: string;
  rootKeyId: string;
  dataKeysRewrapped: number;
  /** Where the new key was written. */
  keyFile: string;
  /** Where the replaced key is kept (`root.key.old`, mode 0600) until the operator removes it; null when it came from KEYTURN_ROOT_KEY. */
  oldKeyFile: string | null;
}

/** What a root rotation is about to do, for a confirmation before anything changes. */
export interface RotateRootPlan {
  rootKeyId: string;
  dataKeys: number;
  /** Where the new key will be. */
  keyFile: string;
  /** Where the replaced key will be kept, or null (KEYTURN_ROOT_KEY). */
  oldKeyFile: string | null;
}

export interface RotateRootOptions {
  /** Where the new key goes; required (and only used) when the key comes from KEYTURN_ROOT_KEY. */
  outputFile?: string;
  /** Called after every check and before the first change; a throw leaves everything as it was. */
  confirm?: (plan: RotateRootPlan) => Promise<void>;
}

/**
 * Re-wraps every data key under a fresh root key; values are not re-encrypted and the old root
 * key stops opening anything. With the key in `root.key`, the new key is written to
 * `root.key.next` first and, after the database commit, the replaced key is copied to
 * `root.key.old` (mode 0600) and `root.key.next` renamed over `root.key`, so a crash at any point
 * leaves a key that opens the state. `root.key.old` stays until the operator removes it; while it
 * is there a new rotation is refused (KT_ROOT_KEY_OLD_EXISTS) before anything changes. With
 * KEYTURN_ROOT_KEY, `outputFile` receives the new key (mode 0600) and the environment must be
 * updated by the operator.
 */
export async function rotateRootKey(settings: Settings, options: RotateRootOptions = {}): Promise<RotateRootResult> {
  if (settings.rootKeyFromEnv && !options.outputFile) {
    throw new KeyturnError('KT_USAGE', 'the root key comes from KEYTURN_ROOT_KEY, so the new key needs a place: pass --output FILE');
  }
  if (!settings.rootKeyFromEnv && options.outputFile) {
    throw new KeyturnError(
      'KT_USAGE',
      `the root key is in ${join(settings.home, ROOT_KEY_FILE)}, where the new key goes too (the old one to ${OLD_ROOT_KEY_FILE}): leave out --output, which is for a key from KEYTURN_ROOT_KEY`,
    );
  }
  const kt = await openKeyturn(settings);
  try {
    const previous = kt.ring.rootKey;
    const fromFile = !settings.rootKeyFromEnv;
    const target = fromFile ? join(settings.home, NEXT_ROOT_KEY_FILE) : options.outputFile!;
    const oldKeyFile = fromFile ? join(settings.home, OLD_ROOT_KEY_FILE) : null;
    const keyFile = fromFile ? join(settings.home, ROOT_KEY_FILE) : target;
    if (oldKeyFile !== null && existsSync(oldKeyFile)) {
      throw new KeyturnError('KT_ROOT_KEY_OLD_EXISTS', `${oldKeyFile} is still there from an earlier rotation; nothing was changed`);
    }
    if (existsSync(target)) throw new KeyturnError('KT_USAGE', `${target} already exists; move it away first`);
    await options.confirm?.({ rootKeyId: previous.id, dataKeys: kt.ring.dataKeyCount, keyFile, oldKeyFile });
    const next = generateRootKey(target);
    writeRootKeyFile(target, next);
    const n = await kt.ring.rotateRoot(next);
    if (fromFile) settleRootKeyFiles(settings.home, next);
    kt.log.info({ previousRootKeyId: previous.id, rootKeyId: next.id, dataKeys: n }, 'root key rotated');
    return { previousRootKeyId: previous.id, rootKeyId: next.id, dataKeysRewrapped: n, keyFile, oldKeyFile };
  } finally {
    await kt.close();
  }
}

/** The mode bits of a file, for status output. */
export function fileMode(file: string): string | null {
  return existsSync(file) ? (statSync(file).mode & 0o777).toString(8).padStart(3, '0') : null;
}
