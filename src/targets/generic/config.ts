/**
 * The generic target's configuration: nothing but its type (strict zod schema).
 *
 * @example
 * ```ts
 * genericConfigSchema.parse({ type: 'generic' });
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';

export const genericConfigSchema = z.strictObject({
  type: z.literal('generic'),
});

export type GenericTargetConfig = z.output<typeof genericConfigSchema>;

/** The strategies the generic target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const genericStrategies: readonly Strategy[] = ['simple'];
