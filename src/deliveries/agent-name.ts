/**
 * What an agent's name may be, for agent.yaml's `name` and `POST /v1/deliveries` alike: it
 * becomes the audit source `agent:NAME` and appears in `runs show`, so it is a short id, never
 * free text. Host names fit (the default name is the host's).
 *
 * @example
 * ```ts
 * agentNameProblem('web-1.example.com'); // null
 * agentNameProblem('web 1');             // 'must be 1 to 128 of ...'
 * ```
 */

export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const AGENT_NAME_HINT = 'must be 1 to 128 of A-Z a-z 0-9 . _ : @ -, starting with a letter or digit';

/** Null when `name` is a valid agent name, else what is wrong with it. */
export function agentNameProblem(name: string): string | null {
  return AGENT_NAME.test(name) ? null : AGENT_NAME_HINT;
}
