/**
 * The message of the KT_TARGET_CONFIG_INVALID a target config gets (the problems by key), for the
 * targets' config tests; any other outcome fails the test.
 *
 * @example
 * ```ts
 * expect(configProblems({ type: 'postgres', port: 70000 })).toContain('port: must be a whole number from 1 to 65535');
 * ```
 */
import { isKeyturnError } from '../../src/core/errors.js';
import { parseTargetConfig } from '../../src/targets/registry.js';

export function configProblems(input: unknown): string {
  try {
    parseTargetConfig(input);
  } catch (e) {
    if (isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID')) return e.message;
    throw e;
  }
  throw new Error('expected KT_TARGET_CONFIG_INVALID');
}
