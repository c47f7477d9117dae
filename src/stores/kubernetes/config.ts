/**
 * The kubernetes store's configuration (strict zod schema): the namespace its Secrets live in,
 * and where its credentials come from: a kubeconfig file (`kubeconfig`, `context`) or, without
 * one, the usual chain (`KUBECONFIG`, `~/.kube/config`, then the in-cluster service account).
 * No field takes a token.
 *
 * @example
 * ```ts
 * configSchema.parse({ type: 'kubernetes', namespace: 'keyturn' });
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const configSchema = z.strictObject({
  type: z.literal('kubernetes'),
  namespace: z
    .string({ error: 'must be the namespace of the Secrets' })
    .refine((n) => n.length <= 63 && DNS1123_LABEL.test(n), "must be a namespace name: lower case letters, digits and '-', at most 63")
    .describe('namespace holding the Secrets'),
  kubeconfig: z
    .string({ error: 'must be the absolute path of a kubeconfig file' })
    .refine((p) => isAbsolute(p), 'must be an absolute path, such as /etc/keyturn/kubeconfig')
    .optional()
    .describe('kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account'),
  context: z.string({ error: 'must be a kubeconfig context name' }).min(1, 'must not be empty').optional().describe('kubeconfig context (default: its current-context)'),
});

export type KubernetesStoreConfig = z.output<typeof configSchema>;
