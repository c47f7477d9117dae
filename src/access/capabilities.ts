/**
 * What a path policy can grant. `deny` on a matching rule refuses everything there, whatever any
 * other rule grants. `admin` is the capability to manage tokens and policies (not a shorthand
 * for the others); `approve` lets a token approve break-glass requests on a path.
 *
 * @example
 * ```ts
 * CAPABILITIES.includes('read'); // true
 * ```
 */
export const CAPABILITIES = ['read', 'list', 'write', 'rotate', 'delete', 'admin', 'audit', 'approve'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** A rule's capabilities: the grants, or `deny`. */
export const RULE_CAPABILITIES = [...CAPABILITIES, 'deny'] as const;
export type RuleCapability = (typeof RULE_CAPABILITIES)[number];
