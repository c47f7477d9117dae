/**
 * Path policies: named YAML documents of rules, each a path glob (./path-glob.ts) and the
 * capabilities it grants (./capabilities.ts), or `deny`. Access is denied by default; a request is
 * allowed when a rule of one of the caller's policies matches the path and grants the capability,
 * and no matching rule of any of them says `deny` (an explicit deny wins).
 *
 * The built-in policy `admin` grants every capability on every path; it bootstraps the first
 * admin token and cannot be replaced.
 *
 * A rule may also say `breakGlass: true` (or `breakGlass: { maxTtl: 4h }`): reading a matching
 * path with a token carrying the policy then needs an approved break-glass grant as well as a
 * grant of `read` ({@link breakGlassOf}; src/access/breakglass/). It adds a gate, never access.
 *
 * @example
 * ```ts
 * const app = parsePolicy('app', 'rules:\n  - path: prod/app/*\n    capabilities: [read, list]\n');
 * decide([app], 'prod/app/token', 'read');  // { allowed: true }
 * decide([app], 'prod/db/root', 'read');    // { allowed: false, reason: 'no rule grants read on prod/db/root' }
 * ```
 */
import { parseDuration } from '../core/duration.js';
import { issueLines } from '../core/issues.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeyturnError } from '../core/errors.js';
import { CAPABILITIES, RULE_CAPABILITIES, type Capability } from './capabilities.js';
import { compileGlob, globProblem } from './path-glob.js';

export const ADMIN_POLICY = 'admin';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** How long a break-glass grant lasts by default, and at most when a rule names no `maxTtl`. */
export const BREAKGLASS_DEFAULT_TTL_MS = 3_600_000;
/** The longest `maxTtl` a rule may give. */
const BREAKGLASS_MAX_TTL_MS = 7 * 86_400_000;

const breakGlassSchema = z.union([
  z.literal(true),
  z
    .object({
      maxTtl: z.string().superRefine((text, ctx) => {
        const ms = parseDuration(text);
        if (ms === null || ms > BREAKGLASS_MAX_TTL_MS) ctx.addIssue({ code: 'custom', message: 'maxTtl is a duration such as 30m, 4h or 1d, at most 7d' });
      }),
    })
    .strict(),
]);

const documentSchema = z
  .object({
    description: z.string().max(1024).optional(),
    rules: z
      .array(
        z
          .object({
            path: z.string().superRefine((glob, ctx) => {
              const problem = globProblem(glob);
              if (problem) ctx.addIssue({ code: 'custom', message: `path glob ${problem}` });
            }),
            capabilities: z
              .array(z.enum(RULE_CAPABILITIES))
              .min(1)
              .refine((caps) => !caps.includes('deny') || caps.length === 1, { message: '`deny` stands alone: a rule either denies or grants' }),
            breakGlass: breakGlassSchema.optional().describe('reads of matching paths need an approved break-glass grant'),
          })
          .strict()
          .refine((r) => r.breakGlass === undefined || !r.capabilities.includes('deny'), { message: 'a `deny` rule cannot be break-glass: it already refuses everything' }),
      )
      .min(1)
      .max(1000),
  })
  .strict();

export interface Rule {
  readonly path: string;
  readonly pattern: RegExp;
  readonly deny: boolean;
  readonly grants: ReadonlySet<Capability>;
  /** Set when reads of matching paths need a break-glass grant: the longest window a request may ask for. */
  readonly breakGlass: { readonly maxTtlMs: number } | null;
}

export interface Policy {
  readonly name: string;
  readonly description: string | null;
  readonly rules: readonly Rule[];
}

/** Whether `name` is a valid policy name (lower-case letters, digits, `.`, `_`, `-`; up to 64). */
export function assertPolicyName(name: string): void {
  if (!NAME.test(name)) throw new KeyturnError('KT_ACCESS_POLICY_INVALID', 'a policy name is 1 to 64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
}

/** Parses and checks a policy document (YAML or JSON text); KT_ACCESS_POLICY_INVALID names each problem by dot-path. */
export function parsePolicy(name: string, text: string): Policy {
  assertPolicyName(name);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new KeyturnError('KT_ACCESS_POLICY_INVALID', `policy ${name} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const result = documentSchema.safeParse(raw);
  if (!result.success) {
    const problems = issueLines(result.error.issues, '(document)');
    throw new KeyturnError('KT_ACCESS_POLICY_INVALID', `policy ${name} is not valid: ${problems.join('; ')}`, { details: { problems } });
  }
  return Object.freeze({
    name,
    description: result.data.description ?? null,
    rules: Object.freeze(result.data.rules.map((r) => toRule(r.path, r.capabilities, r.breakGlass))),
  });
}

function toRule(path: string, capabilities: readonly string[], breakGlass?: true | { maxTtl: string }): Rule {
  const deny = capabilities.includes('deny');
  const maxTtlMs = breakGlass === undefined ? null : breakGlass === true ? BREAKGLASS_DEFAULT_TTL_MS : (parseDuration(breakGlass.maxTtl) as number);
  return Object.freeze({
    path,
    pattern: compileGlob(path),
    deny,
    grants: new Set(deny ? [] : (capabilities as Capability[])),
    breakGlass: maxTtlMs === null ? null : Object.freeze({ maxTtlMs }),
  });
}

/** The built-in `admin` policy: every capability on every path. */
export const adminPolicy: Policy = Object.freeze({ name: ADMIN_POLICY, description: 'every capability on every path (built in)', rules: Object.freeze([toRule('**', CAPABILITIES)]) });

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** Whether `policies` allow `capability` on `path`: deny by default, an explicit deny wins. */
export function decide(policies: readonly Policy[], path: string, capability: Capability): Decision {
  let granted = false;
  for (const policy of policies) {
    for (const rule of policy.rules) {
      if (!rule.pattern.test(path)) continue;
      if (rule.deny) return { allowed: false, reason: `policy ${policy.name} denies ${path} (rule ${rule.path})` };
      if (rule.grants.has(capability)) granted = true;
    }
  }
  return granted ? { allowed: true } : { allowed: false, reason: `no rule grants ${capability} on ${path}` };
}

/**
 * Whether reading `path` with `policies` needs a break-glass grant: null when no matching rule of
 * any of them says `breakGlass`; else the longest window a request may ask for (the smallest
 * `maxTtl` of those rules: the strictest wins).
 *
 * @example
 * ```ts
 * breakGlassOf([parsePolicy('db', 'rules:\n  - path: prod/db/root\n    capabilities: [read]\n    breakGlass: true\n')], 'prod/db/root');
 * // { maxTtlMs: 3_600_000 }
 * ```
 */
export function breakGlassOf(policies: readonly Policy[], path: string): { maxTtlMs: number } | null {
  let max: number | null = null;
  for (const policy of policies) {
    for (const rule of policy.rules) {
      if (rule.breakGlass === null || !rule.pattern.test(path)) continue;
      max = max === null ? rule.breakGlass.maxTtlMs : Math.min(max, rule.breakGlass.maxTtlMs);
    }
  }
  return max === null ? null : { maxTtlMs: max };
}
