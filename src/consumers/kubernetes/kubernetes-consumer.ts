/**
 * The kubernetes consumer: writes the value into a Secret (one key per field, or `value` for a
 * string; see ./secret-data.ts), creating it when `create: true`, replacing it with the
 * `resourceVersion` it read so a concurrent writer is never overwritten (a 409 Conflict is
 * retried: read again, apply again), then restarts the named Deployments and StatefulSets like
 * `kubectl rollout restart` and, with `wait`, waits for their rollouts. A Secret that already
 * holds exactly this version is left alone. `check` confirms the Secret exists.
 *
 * @example
 * ```ts
 * const c = createKubernetesConsumer(kubernetesConfigSchema.parse({ type: 'kubernetes', secret: 'db-creds', restart: ['deployment/api'] }));
 * await c.deliver(ctx, { path: 'prod/db/app', versionId, number: 7, value: { username: 'app', password } });
 * ```
 */
import type * as K8s from '@kubernetes/client-node';
import { parseDuration } from '../../core/duration.js';
import type { Consumer, ConsumerContext, DeliveredSecret } from '../consumer.js';
import { secretForms } from '../exec/scrub.js';
import { consumerFailed, throwIfAborted } from '../failure.js';
import { connect, describeFailure, KubeCallError, type KubeApi } from './api.js';
import { parseWorkload, type KubernetesConsumerConfig, type WorkloadRef } from './config.js';
import { restartWorkload, waitForRollout } from './rollout.js';
import { ANNOTATIONS, MANAGED_BY, badKeys, sameData, secretData, valueKind } from './secret-data.js';

/** How many times a write that met a resourceVersion conflict (or a racing create) is tried again. */
export const CONFLICT_RETRIES = 5;

/** Creates a kubernetes consumer from a parsed config (see `kubernetesConfigSchema`). */
export function createKubernetesConsumer(config: KubernetesConsumerConfig): Consumer {
  const describe = `kubernetes secret ${config.namespace ? `${config.namespace}/` : ''}${config.secret}`;
  const workloads: WorkloadRef[] = config.restart.map((t) => parseWorkload(t)!);
  const waitMs = config.wait === undefined ? null : parseDuration(config.wait);
  let api: Promise<KubeApi> | null = null;
  const client = () => (api ??= connect(config).catch((e: unknown) => ((api = null), Promise.reject(e))));

  /** A KT_CONSUMER_FAILED for a failed call, with every spelling of the value taken out of what the server said. */
  const failed = (e: unknown, server: string, value?: DeliveredSecret['value'], details: Record<string, unknown> = {}) => {
    const forms = value === undefined ? [] : secretForms(value);
    const f = describeFailure(e, server, (text) => forms.reduce((t, form) => t.split(form).join('[redacted]'), text));
    return consumerFailed(describe, f.reason, { ...(f.code > 0 ? { httpStatus: f.code } : {}), ...(f.statusReason ? { reason: f.statusReason } : {}), ...details });
  };

  async function writeSecret(ctx: ConsumerContext, k: KubeApi, secret: DeliveredSecret): Promise<'created' | 'updated' | 'unchanged'> {
    const data = secretData(secret.value);
    const annotations = { [ANNOTATIONS.path]: secret.path, [ANNOTATIONS.version]: String(secret.number), [ANNOTATIONS.versionId]: secret.versionId, [ANNOTATIONS.kind]: valueKind(secret.value) };
    const where = `${k.namespace}/${config.secret}`;
    for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
      let existing: K8s.V1Secret | null;
      try {
        existing = await k.call(ctx.signal, `reading Secret ${where}`, () => k.core.readNamespacedSecret({ name: config.secret, namespace: k.namespace }));
      } catch (e) {
        if (describeFailure(e, k.server).code !== 404) throw e;
        existing = null;
      }
      if (existing === null) {
        if (!config.create) throw new KubeCallError(404, `the Secret ${where} does not exist (set create: true to let Keyturn create it)`, 'NotFound');
        const body: K8s.V1Secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: config.secret, namespace: k.namespace, labels: { [MANAGED_BY.key]: MANAGED_BY.value }, annotations },
          type: 'Opaque',
          data,
        };
        try {
          await k.call(ctx.signal, `creating Secret ${where}`, () => k.core.createNamespacedSecret({ namespace: k.namespace, body }));
          return 'created';
        } catch (e) {
          if (describeFailure(e, k.server).code !== 409) throw e;
          ctx.log.debug({ consumer: describe, attempt }, 'kubernetes consumer: the Secret was created meanwhile; reading it again');
          continue;
        }
      }
      const held = existing.metadata?.annotations ?? {};
      if (sameData(existing.data, data) && held[ANNOTATIONS.versionId] === secret.versionId) return 'unchanged';
      if (existing.immutable === true) throw new KubeCallError(422, `the Secret ${where} is immutable; Keyturn cannot update it (delete it, or make it mutable)`, 'Invalid');
      const body: K8s.V1Secret = { ...existing, metadata: { ...existing.metadata, annotations: { ...held, ...annotations } }, data };
      delete body.stringData;
      try {
        await k.call(ctx.signal, `updating Secret ${where}`, () => k.core.replaceNamespacedSecret({ name: config.secret, namespace: k.namespace, body }));
        return 'updated';
      } catch (e) {
        const f = describeFailure(e, k.server);
        if (f.code !== 409) throw e;
        ctx.log.debug({ consumer: describe, attempt, reason: f.statusReason }, 'kubernetes consumer: the Secret changed since it was read (resourceVersion conflict); reading it again');
      }
    }
    throw new KubeCallError(409, `the Secret ${where} kept changing under Keyturn (${CONFLICT_RETRIES + 1} resourceVersion conflicts in a row)`, 'Conflict');
  }

  return {
    kind: 'kubernetes',
    describe,
    async deliver(ctx, secret) {
      throwIfAborted(ctx, describe);
      const bad = badKeys(secret.value);
      if (bad.length > 0) throw consumerFailed(describe, `field names ${bad.map((b) => JSON.stringify(b)).join(', ')} cannot be Secret keys (letters, digits, '-', '_' and '.')`, { fields: bad });
      let k: KubeApi;
      try {
        k = await client();
      } catch (e) {
        throw failed(e, '(unknown)');
      }
      throwIfAborted(ctx, describe);
      let outcome: string;
      try {
        outcome = await writeSecret(ctx, k, secret);
      } catch (e) {
        throw failed(e, k.server, secret.value);
      }
      ctx.log.debug({ consumer: describe, namespace: k.namespace, path: secret.path, versionId: secret.versionId, outcome }, 'kubernetes consumer wrote the Secret');
      const restartedFor = `${secret.path}:${secret.versionId}`;
      for (const w of workloads) {
        try {
          const result = await restartWorkload(k, ctx.signal, w, restartedFor, new Date());
          ctx.log.info({ consumer: describe, workload: `${w.kind}/${w.name}`, outcome: result }, 'kubernetes consumer restarted a workload');
        } catch (e) {
          throw failed(e, k.server, secret.value, { workload: `${w.kind}/${w.name}` });
        }
      }
      if (waitMs !== null) {
        const deadline = Date.now() + waitMs;
        for (const w of workloads) {
          try {
            await waitForRollout(k, ctx.signal, w, deadline, config.wait!);
          } catch (e) {
            throw failed(e, k.server, secret.value, { workload: `${w.kind}/${w.name}` });
          }
          ctx.log.info({ consumer: describe, workload: `${w.kind}/${w.name}`, outcome: 'rolled out' }, 'kubernetes consumer: rollout finished');
        }
      }
    },
    async check(ctx) {
      throwIfAborted(ctx, describe);
      let k: KubeApi;
      try {
        k = await client();
      } catch (e) {
        throw failed(e, '(unknown)');
      }
      try {
        await k.call(ctx.signal, 'reading the Secret', () => k.core.readNamespacedSecret({ name: config.secret, namespace: k.namespace }));
      } catch (e) {
        const f = describeFailure(e, k.server);
        if (f.code === 404) throw consumerFailed(describe, `the Secret ${k.namespace}/${config.secret} does not exist`, { httpStatus: 404 });
        throw failed(e, k.server);
      }
    },
  };
}
