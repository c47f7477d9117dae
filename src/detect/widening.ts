/**
 * Which policy changes widen access, for the privilege-escalation detector: the runner keeps the
 * policies as they were (read at start, then kept up to date from the `access.policy.put` and
 * `access.policy.delete` events it sees) and, on a `put`, compares the new rules with the old ones.
 * What the new document allows and the old one did not is "newly allowed" to every token bound to
 * the policy. A policy is judged on its own rules (a grant another of the token's policies already
 * gave still counts as new here; a deny in another policy is not consulted): the detector then
 * only flags a use that this change alone made possible, which is what an operator asks about.
 *
 * A new token is not a widening (it is new access, and `access.token.create` records it); a
 * policy created from nothing widens from nothing.
 *
 * @example
 * ```ts
 * const watch = await PolicyWatch.load(access, state);
 * const widening = await watch.onEvent(event); // on access.policy.put: a Widening, or undefined
 * ```
 */
import type { AccessRepo } from '../access/access-repo.js';
import type { Capability } from '../access/capabilities.js';
import { decide, type Policy } from '../access/policy.js';
import type { AuditEvent } from '../audit/event.js';
import type { StateDb } from '../state/db.js';
import type { Widening } from './detector.js';

/** Policies kept: beyond this many, the least recently changed is forgotten (its next put widens from nothing). */
const MAX_POLICIES = 10_000;

export class PolicyWatch {
  readonly #policies = new Map<string, Policy>();

  private constructor(
    private readonly access: AccessRepo,
    private readonly state: StateDb,
  ) {}

  /** Reads every stored policy now (the "before" of the next change). */
  static async load(access: AccessRepo, state: StateDb): Promise<PolicyWatch> {
    const watch = new PolicyWatch(access, state);
    for (const p of await access.policies()) {
      if (p.builtIn) continue;
      watch.#policies.set(p.name, await access.policy(p.name));
    }
    return watch;
  }

  /** For an `access.policy.put` that widens: what it widened; the watch then knows the new rules. Undefined for any other event. */
  async onEvent(e: AuditEvent): Promise<Widening | undefined> {
    if (e.outcome !== 'success' || e.path === null) return undefined;
    if (e.action === 'access.policy.delete') {
      this.#policies.delete(e.path);
      return undefined;
    }
    if (e.action !== 'access.policy.put') return undefined;
    const name = e.path;
    let next: Policy;
    try {
      next = await this.access.policy(name);
    } catch {
      return undefined; // deleted since: nothing to compare
    }
    const before = this.#policies.get(name);
    this.#policies.delete(name);
    this.#policies.set(name, next);
    if (this.#policies.size > MAX_POLICIES) this.#policies.delete(this.#policies.keys().next().value as string);
    if (before !== undefined && sameRules(before, next)) return undefined;
    const actors = await this.#boundTokens(name);
    if (actors.length === 0) return undefined;
    return {
      actors,
      what: `policy ${name}`,
      newlyAllowed: (path: string, capability: Capability) => decide([next], path, capability).allowed && (before === undefined || !decide([before], path, capability).allowed),
    };
  }

  async #boundTokens(policy: string): Promise<string[]> {
    const rows = await this.state.db.selectFrom('tokens').select(['id', 'policies']).where('revoked_at', 'is', null).execute();
    return rows.filter((r) => (JSON.parse(r.policies) as string[]).includes(policy)).map((r) => `token:${r.id}`);
  }
}

function sameRules(a: Policy, b: Policy): boolean {
  if (a.rules.length !== b.rules.length) return false;
  return a.rules.every((r, i) => {
    const o = b.rules[i]!;
    return r.path === o.path && r.deny === o.deny && [...r.grants].sort().join() === [...o.grants].sort().join();
  });
}
