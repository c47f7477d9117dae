/**
 * The kubernetes consumer's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * Credentials are never in the config: they come from the kubeconfig named by `kubeconfig` (and
 * `context`), or else from the usual chain (`KUBECONFIG`, `~/.kube/config`, then the in-cluster
 * service account). `restart` names workloads as `deployment/NAME` or `statefulset/NAME`;
 * `wait` (a duration such as `2m`) waits for their rollouts to finish.
 *
 * @example
 * ```ts
 * kubernetesConfigSchema.parse({ type: 'kubernetes', secret: 'db-creds', namespace: 'apps', restart: ['deployment/api'], wait: '2m' });
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True for a DNS-1123 subdomain: the names of Secrets, Deployments and StatefulSets. */
export function isDnsSubdomain(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((part) => DNS1123_LABEL.test(part));
}

/** A workload to restart: its kind and name. */
export interface WorkloadRef {
  readonly kind: 'deployment' | 'statefulset';
  readonly name: string;
}

/** Parses `deployment/api` or `statefulset/db` (null when malformed). */
export function parseWorkload(text: string): WorkloadRef | null {
  const m = /^(deployment|deployments|deploy|statefulset|statefulsets|sts)\/(.+)$/.exec(text);
  if (!m || !isDnsSubdomain(m[2]!)) return null;
  return { kind: m[1]!.startsWith('d') ? 'deployment' : 'statefulset', name: m[2]! };
}

export const kubernetesConfigSchema = z.strictObject({
  type: z.literal('kubernetes'),
  secret: z
    .string({ error: 'must be the name of the Secret to write' })
    .refine(isDnsSubdomain, "must be a Kubernetes object name: lower case letters, digits, '-' and '.', at most 253")
    .describe('name of the Secret to update'),
  namespace: z
    .string({ error: 'must be a namespace name' })
    .refine((n) => n.length <= 63 && DNS1123_LABEL.test(n), "must be a namespace name: lower case letters, digits and '-', at most 63")
    .optional()
    .describe("namespace of the Secret and the workloads; default: the kubeconfig context's namespace, or the pod's own in a cluster"),
  kubeconfig: z
    .string({ error: 'must be the absolute path of a kubeconfig file' })
    .refine((p) => isAbsolute(p), 'must be an absolute path, such as /etc/keyturn/kubeconfig')
    .optional()
    .describe('kubeconfig file to use; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account'),
  context: z.string({ error: 'must be a kubeconfig context name' }).min(1, 'must not be empty').optional().describe('kubeconfig context (default: its current-context)'),
  create: z.boolean({ error: 'must be true or false' }).default(false).describe('create the Secret when it does not exist (labelled app.kubernetes.io/managed-by: keyturn)'),
  restart: z
    .array(
      z.string({ error: 'must be deployment/NAME or statefulset/NAME' }).refine((t) => parseWorkload(t) !== null, 'must be deployment/NAME or statefulset/NAME (NAME a Kubernetes object name)'),
      { error: 'must be a list such as [deployment/api, statefulset/db]' },
    )
    .default([])
    .describe('workloads to restart (kubectl rollout restart) after the Secret changes'),
  wait: z
    .string({ error: 'must be a duration such as "2m"' })
    .refine((t) => parseDuration(t) !== null, 'must be a duration such as "90s", "2m" or "1h"')
    .optional()
    .describe('wait this long for the restarted workloads to finish rolling out; default: do not wait'),
});

export type KubernetesConsumerConfig = z.output<typeof kubernetesConfigSchema>;
export type KubernetesConsumerConfigInput = z.input<typeof kubernetesConfigSchema>;
