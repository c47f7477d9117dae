/**
 * What one execution of a run needs from the store and the target, read once and kept: the
 * secret's policy and target (the "subject"), its versions by id, and the admin credential.
 * Versions are immutable, so caching them by id is always right; the scope lives only as long
 * as one `execute` call, so an admin credential changed meanwhile is picked up by the next one.
 *
 * @example
 * ```ts
 * const scope = new RunScope(store, subject, log);
 * const { pending, current } = await scope.credentials(run);
 * await subject.target.set(await scope.targetContext(), pending, current);
 * ```
 */
import { isKeyturnError, KeyturnError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SecretValue, Version } from '../core/types.js';
import type { SecretStore } from '../stores/store.js';
import type { Credential, Strategy, Target, TargetContext } from '../targets/target.js';
import type { SecretPolicy } from './applied.js';
import { asCredential, primaryOf } from './next-value.js';
import type { Run } from './runs-repo.js';

/** The secret being rotated, its policy, strategy and target. */
export interface Subject {
  policy: SecretPolicy;
  strategy: Strategy;
  target: Target | null;
  adminPath: string | undefined;
}

export function codeOf(e: unknown): ErrorCode {
  return isKeyturnError(e) ? e.code : 'KT_INTERNAL';
}

export class RunScope {
  private readonly versions = new Map<string, Version>();
  private admin: { credential: Credential | null; value: SecretValue | null } | undefined;

  constructor(
    private readonly store: SecretStore,
    readonly subject: Subject,
    private readonly log: Logger,
    /** Aborts when the run's lease is lost: every target call made through this scope stops too. */
    readonly signal?: AbortSignal,
  ) {}

  get path(): string {
    return this.subject.policy.path;
  }

  /** Keeps a version this execution wrote or read. */
  remember(version: Version): Version {
    this.versions.set(version.id, version);
    return version;
  }

  /** A version by id (cached; versions never change). */
  async version(id: string): Promise<Version> {
    const cached = this.versions.get(id);
    if (cached) return cached;
    const v = await this.store.get(this.path, { versionId: id });
    return this.remember(v!);
  }

  /** The version staged current now (always read: stages move). */
  async current(): Promise<Version> {
    const current = await this.store.get(this.path, { stage: 'current' });
    if (current) return this.remember(current);
    if (!(await this.store.describe(this.path))) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${this.path}; store its first value with keyturn apply (initial) or keyturn secret put`);
    throw new KeyturnError('KT_STAGE_NOT_SET', `${this.path} has no current version`);
  }

  async credentials(run: Run): Promise<{ pending: Credential; current: Credential }> {
    const pending = await this.version(run.pendingVersionId!);
    const current = await this.version(run.fromVersionId!);
    return { pending: asCredential(this.path, pending.value), current: asCredential(this.path, current.value) };
  }

  /** The context for one target call: a fresh timeout, the admin credential, the primary user. */
  async targetContext(run: Run): Promise<TargetContext> {
    const s = this.subject;
    if (this.admin === undefined) {
      this.admin = { credential: null, value: null };
      if (s.adminPath) {
        const v = await this.store.get(s.adminPath, { stage: 'current' });
        if (!v) throw new KeyturnError('KT_SECRET_NOT_FOUND', `the admin secret ${s.adminPath} of target ${s.policy.target} has no current value`);
        // A renew target's admin secret is whatever it needs (a CA's certificate and key); a credential target's must be a login.
        this.admin = { credential: s.strategy === 'renew' ? null : asCredential(s.adminPath, v.value), value: v.value };
      }
    }
    // renew: values are not logins (and a first value has no version before it).
    const from = s.strategy === 'renew' ? null : run.fromVersionId ? await this.version(run.fromVersionId) : await this.current();
    const username = from === null || typeof from.value === 'string' || typeof from.value.username !== 'string' ? '' : from.value.username;
    return {
      strategy: s.strategy,
      admin: this.admin.credential,
      adminValue: this.admin.value,
      primaryUsername: primaryOf(username),
      log: this.log,
      signal: this.signal ? AbortSignal.any([AbortSignal.timeout(s.policy.rotation.timeoutMs), this.signal]) : AbortSignal.timeout(s.policy.rotation.timeoutMs),
    };
  }

  /** True when the credential logs in; false when refused or the target is unreachable. */
  async logsIn(run: Run, cred: Credential): Promise<boolean> {
    return (await this.login(run, cred)) === 'ok';
  }

  /** Whether the credential logs in: `refused` only when the target said so, `unavailable` when it could not tell (unreachable, timed out). */
  async login(run: Run, cred: Credential): Promise<'ok' | 'refused' | 'unavailable'> {
    try {
      await this.subject.target!.test(await this.targetContext(run), cred);
      return 'ok';
    } catch (e) {
      this.log.debug({ path: this.path, username: cred.username, code: codeOf(e) }, 'login check failed');
      return isKeyturnError(e, 'KT_TARGET_AUTH_FAILED') ? 'refused' : 'unavailable';
    }
  }
}
