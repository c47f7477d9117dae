/**
 * The generic target's configuration: nothing but its type (strict zod schema).
 *
 * @example
 * ```ts
 * genericConfigSchema.parse({ type: 'generic' });
 * ```
 */
import { z } from 'zod';

export const genericConfigSchema = z.strictObject({
  type: z.literal('generic'),
});

export type GenericTargetConfig = z.output<typeof genericConfigSchema>;
