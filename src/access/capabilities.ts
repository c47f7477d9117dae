/**
 * What a path policy can grant. `deny` on a matching rule refuses everything there, whatever any
 * other rule grants. `admin` is the capability to manage tokens, policies and approvals (not a
 * shorthand for the others).
 *
 * @example
 * ```ts
 * CAPABILITIES.includes('read'); // true
 * ```
 */
export const CAPABILITIES = ['read', 'list', 'write', 'rotate', 'delete', 'admin', 'audit'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** A rule's capabilities: the grants, or `deny`. */
export const RULE_CAPABILITIES = [...CAPABILITIES, 'deny'] as const;
export type RuleCapability = (typeof RULE_CAPABILITIES)[number];
