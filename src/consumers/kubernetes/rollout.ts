/**
 * Restarting workloads the way `kubectl rollout restart` does (a strategic merge patch of the
 * pod template's `kubectl.kubernetes.io/restartedAt` annotation), once per delivered version
 * (the template also gets `keyturn.dev/restarted-for`, so delivering the same version again does
 * not restart twice), and waiting for the rollout as `kubectl rollout status` does:
 * `status.observedGeneration >= metadata.generation` and every replica updated, ready and
 * (for a Deployment) available.
 *
 * @example
 * ```ts
 * const outcome = await restartWorkload(api, ctx.signal, { kind: 'deployment', name: 'api' }, 'prod/db/app:v7', new Date());
 * await waitForRollout(api, ctx.signal, { kind: 'deployment', name: 'api' }, Date.now() + 120_000);
 * ```
 */
import type * as K8s from '@kubernetes/client-node';
import { KubeCallError, pause, type KubeApi } from './api.js';
import type { WorkloadRef } from './config.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const RESTARTED_FOR = 'keyturn.dev/restarted-for';

type Workload = K8s.V1Deployment | K8s.V1StatefulSet;

const label = (w: WorkloadRef) => `${w.kind}/${w.name}`;

function read(api: KubeApi, signal: AbortSignal, w: WorkloadRef): Promise<Workload> {
  const what = `reading ${label(w)}`;
  return w.kind === 'deployment'
    ? api.call(signal, what, () => api.apps.readNamespacedDeployment({ name: w.name, namespace: api.namespace }))
    : api.call(signal, what, () => api.apps.readNamespacedStatefulSet({ name: w.name, namespace: api.namespace }));
}

/** Patches the restart annotation unless this version already restarted the workload. */
export async function restartWorkload(api: KubeApi, signal: AbortSignal, w: WorkloadRef, restartedFor: string, now: Date): Promise<'restarted' | 'already restarted'> {
  const current = await read(api, signal, w);
  if (current.spec?.template?.metadata?.annotations?.[RESTARTED_FOR] === restartedFor) return 'already restarted';
  const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: now.toISOString(), [RESTARTED_FOR]: restartedFor } } } } };
  const options = api.sdk.setHeaderOptions('Content-Type', api.sdk.PatchStrategy.StrategicMergePatch);
  const what = `patching ${label(w)}`;
  if (w.kind === 'deployment') await api.call(signal, what, () => api.apps.patchNamespacedDeployment({ name: w.name, namespace: api.namespace, body }, options));
  else await api.call(signal, what, () => api.apps.patchNamespacedStatefulSet({ name: w.name, namespace: api.namespace, body }, options));
  return 'restarted';
}

/** Why the rollout is not finished yet, or null when it is. */
export function rolloutPending(w: Workload, kind: WorkloadRef['kind']): string | null {
  const want = w.spec?.replicas ?? 1;
  const s = w.status ?? {};
  const generation = w.metadata?.generation ?? 0;
  if ((s.observedGeneration ?? 0) < generation) return `generation ${generation} not yet observed (observed ${s.observedGeneration ?? 0})`;
  const updated = s.updatedReplicas ?? 0;
  const ready = s.readyReplicas ?? 0;
  const available = 'availableReplicas' in s ? (s.availableReplicas ?? 0) : ready;
  const total = s.replicas ?? 0;
  if (updated < want || ready < want || (kind === 'deployment' && (available < want || total > updated)))
    return `updated ${updated}/${want}, ready ${ready}/${want}${kind === 'deployment' ? `, available ${available}/${want}` : ''}`;
  if (kind === 'statefulset') {
    const st = s as K8s.V1StatefulSetStatus;
    if (st.currentRevision && st.updateRevision && st.currentRevision !== st.updateRevision) return `revision ${st.updateRevision} not yet current`;
  }
  return null;
}

/** Polls the workload until its rollout is done; throws KubeCallError when `deadline` (epoch ms) passes first. */
export async function waitForRollout(api: KubeApi, signal: AbortSignal, w: WorkloadRef, deadline: number, waitText: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const pending = rolloutPending(await read(api, signal, w), w.kind);
    if (pending === null) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new KubeCallError(0, `${label(w)} did not finish its rollout within ${waitText} (${pending})`, null);
    await pause(signal, Math.min(100 * 2 ** Math.min(attempt, 5), 2_000, left));
  }
}
