/**
 * The kubernetes consumer through @kubernetes/client-node against the local API server
 * (test/servers/kubernetes): the shared consumer contract, then the Secret update (created with
 * the owner label, updated keeping what else the Secret holds), the rollout restart of a
 * Deployment and a StatefulSet with waiting, a resourceVersion conflict retried, throttling,
 * refused tokens and config errors.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { createConsumer, parseConsumerConfig } from '../src/consumers/registry.js';
import { ANNOTATIONS, MANAGED_BY, valueFromData } from '../src/consumers/kubernetes/secret-data.js';
import { RESTARTED_AT } from '../src/consumers/kubernetes/rollout.js';
import { caught, contractValues, errorText, recordingContext, runConsumerContract, version } from '../src/contracts/consumer-contract.js';
import type { SecretValue } from '../src/core/types.js';
import { startKubernetesServer, type KubernetesServer } from './servers/kubernetes/index.js';

type Data = Record<string, string>;

/** What a pod mounting the Secret would read, as a Keyturn value (null when there is no Secret). */
function observed(k8s: KubernetesServer, ns: string, name: string): SecretValue | null {
  const s = k8s.cluster.peek('secrets', ns, name);
  if (!s) return null;
  const annotations = (s.metadata as { annotations?: Data }).annotations ?? {};
  return valueFromData(s.data as Data | undefined, annotations[ANNOTATIONS.kind]);
}

async function kubeconfigIn(dir: string, k8s: KubernetesServer, options: { namespace?: string; token?: string } = {}): Promise<string> {
  const path = join(dir, 'kubeconfig');
  await writeFile(path, k8s.kubeconfig(options), { mode: 0o600 });
  return path;
}

runConsumerContract({
  name: 'kubernetes through @kubernetes/client-node against the local API server',
  make: async ({ dir, broken }) => {
    const k8s = await startKubernetesServer({ namespaces: ['apps'] });
    const kubeconfig = await kubeconfigIn(dir, k8s, { namespace: 'apps' });
    // Broken: a Secret that does not exist, and create is off.
    const consumer = createConsumer({ type: 'kubernetes', secret: broken ? 'missing' : 'app-creds', kubeconfig, create: !broken });
    return { consumer, k8s, close: () => k8s.close() };
  },
  observe: async ({ k8s }) => ({ carries: 'value', value: observed(k8s, 'apps', 'app-creds') }),
});

describe('kubernetes consumer', () => {
  let k8s: KubernetesServer;
  let dir: string;
  let kubeconfig: string;

  beforeEach(async () => {
    k8s = await startKubernetesServer({ namespaces: ['apps'] });
    dir = await mkdtemp(join(tmpdir(), 'keyturn-k8s-'));
    kubeconfig = await kubeconfigIn(dir, k8s, { namespace: 'apps' });
    k8s.cluster.create('deployments', 'apps', {
      metadata: { name: 'api' },
      spec: { replicas: 3, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:1' }] } } },
    });
    k8s.cluster.create('statefulsets', 'apps', {
      metadata: { name: 'db' },
      spec: { replicas: 2, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } } },
    });
  });

  afterEach(async () => {
    await k8s.close();
    await rm(dir, { recursive: true, force: true });
  });

  const template = (kind: 'deployments' | 'statefulsets', name: string) =>
    (k8s.cluster.peek(kind, 'apps', name)!.spec as { template: { metadata: { annotations?: Data } } }).template.metadata.annotations ?? {};

  it('updates the Secret and patches the Deployment restart annotation (strategic merge), once per version', async () => {
    k8s.cluster.create('secrets', 'apps', { metadata: { name: 'db-creds', labels: { team: 'x' } }, stringData: { username: 'old', password: 'old' } });
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, restart: ['deployment/api', 'statefulset/db'] });
    const { fields } = contractValues();
    const v = version(fields);
    await consumer.deliver(recordingContext().ctx, v);
    expect(observed(k8s, 'apps', 'db-creds')).toEqual(fields);
    const secret = k8s.cluster.peek('secrets', 'apps', 'db-creds')!;
    expect((secret.metadata as { labels: Data }).labels).toEqual({ team: 'x' });
    expect((secret.metadata as { annotations: Data }).annotations).toMatchObject({ [ANNOTATIONS.versionId]: v.versionId, [ANNOTATIONS.path]: v.path, [ANNOTATIONS.kind]: 'json' });
    const restarted = template('deployments', 'api')[RESTARTED_AT];
    expect(restarted).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(template('statefulsets', 'db')[RESTARTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(k8s.cluster.peek('deployments', 'apps', 'api')!.metadata).toMatchObject({ generation: 2 });
    const patches = k8s.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => [p.path, p.contentType])).toEqual([
      ['/apis/apps/v1/namespaces/apps/deployments/api', 'application/strategic-merge-patch+json'],
      ['/apis/apps/v1/namespaces/apps/statefulsets/db', 'application/strategic-merge-patch+json'],
    ]);
    // The same version again: the Secret is left alone and nothing restarts twice.
    const writesBefore = k8s.requests.filter((r) => r.method !== 'GET').length;
    await consumer.deliver(recordingContext().ctx, v);
    expect(k8s.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
    expect(k8s.cluster.peek('deployments', 'apps', 'api')!.metadata).toMatchObject({ generation: 2 });
  });

  it('retries a resourceVersion conflict: reads again and applies again', async () => {
    k8s.cluster.create('secrets', 'apps', { metadata: { name: 'db-creds' }, stringData: { value: 'old' } });
    k8s.faults.failNext({ status: 409, resource: 'secrets', methods: ['PUT'] });
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, restart: ['deployment/api'] });
    const recorder = recordingContext();
    const { text } = contractValues();
    await consumer.deliver(recorder.ctx, version(text));
    expect(observed(k8s, 'apps', 'db-creds')).toBe(text);
    const secretCalls = k8s.requests.filter((r) => r.path === '/api/v1/namespaces/apps/secrets/db-creds').map((r) => `${r.method} ${r.status}`);
    expect(secretCalls).toEqual(['GET 200', 'PUT 409', 'GET 200', 'PUT 200']);
    expect(recorder.logs()).toContain('resourceVersion conflict');
    expect(template('deployments', 'api')[RESTARTED_AT]).toBeDefined();
  });

  it('a real concurrent writer is not overwritten: the stale replace gets 409 and the retry keeps its change', async () => {
    k8s.cluster.create('secrets', 'apps', { metadata: { name: 'db-creds' }, stringData: { value: 'old' } });
    // Another writer changes the Secret between Keyturn's read and its write (the first PUT is answered only after it).
    let interfered = false;
    const original = k8s.cluster.replace.bind(k8s.cluster);
    k8s.cluster.replace = (resource, ns, name, body) => {
      if (!interfered) {
        interfered = true;
        k8s.cluster.patch('secrets', 'apps', 'db-creds', 'application/merge-patch+json', { metadata: { labels: { other: 'writer' } } });
      }
      return original(resource, ns, name, body);
    };
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig });
    await consumer.deliver(recordingContext().ctx, version('new'));
    expect(observed(k8s, 'apps', 'db-creds')).toBe('new');
    expect((k8s.cluster.peek('secrets', 'apps', 'db-creds')!.metadata as { labels: Data }).labels).toEqual({ other: 'writer' });
    expect(k8s.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([409, 200]);
  });

  it('creates a missing Secret with the owner label when create is true; refuses without it', async () => {
    const without = createConsumer({ type: 'kubernetes', secret: 'fresh', kubeconfig });
    const e = await caught(() => without.deliver(recordingContext().ctx, version('x1')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toContain('set create: true');
    const consumer = createConsumer({ type: 'kubernetes', secret: 'fresh', kubeconfig, create: true });
    await consumer.deliver(recordingContext().ctx, version({ user: 'u', port: 5432 }));
    const s = k8s.cluster.peek('secrets', 'apps', 'fresh')!;
    expect((s.metadata as { labels: Data }).labels).toEqual({ [MANAGED_BY.key]: MANAGED_BY.value });
    expect(s.type).toBe('Opaque');
    expect(observed(k8s, 'apps', 'fresh')).toEqual({ user: 'u', port: '5432' });
  });

  it('waits for the rollouts to finish (observedGeneration and replicas), reading until the controller is done', async () => {
    k8s.cluster.rollout = { mode: 'polls', polls: 3 };
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true, restart: ['deployment/api', 'sts/db'], wait: '2m' });
    const recorder = recordingContext();
    await consumer.deliver(recorder.ctx, version('v'));
    for (const [kind, name] of [
      ['deployments', 'api'],
      ['statefulsets', 'db'],
    ] as const) {
      const o = k8s.cluster.peek(kind, 'apps', name)!;
      const spec = o.spec as { replicas: number };
      expect(o.status).toMatchObject({ observedGeneration: (o.metadata as { generation: number }).generation, updatedReplicas: spec.replicas, readyReplicas: spec.replicas });
    }
    expect(recorder.logs()).toContain('rolled out');
  });

  it('a rollout that never finishes fails the delivery after `wait`, naming the workload and its counts', async () => {
    k8s.cluster.rollout = { mode: 'manual' };
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true, restart: ['deployment/api'], wait: '1s' });
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version('rollout-value-1')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toBe('kubernetes secret db-creds: deployment/api did not finish its rollout within 1s (updated 0/3, ready 3/3, available 3/3)');
    expect(k8s.cluster.completeRollouts()).toBe(1);
  });

  it('a missing workload fails the delivery with the 404, after the Secret was written', async () => {
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true, restart: ['deployment/nope'] });
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version('v')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toContain('404 NotFound: deployments.apps "nope" not found');
    expect((e as { details: Record<string, unknown> }).details).toMatchObject({ workload: 'deployment/nope', httpStatus: 404 });
    expect(observed(k8s, 'apps', 'db-creds')).toBe('v');
  });

  it('an immutable Secret is refused with a reason, and left as it was', async () => {
    k8s.cluster.create('secrets', 'apps', { metadata: { name: 'frozen' }, immutable: true, stringData: { value: 'old' } });
    const consumer = createConsumer({ type: 'kubernetes', secret: 'frozen', kubeconfig });
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version('new-value')));
    expect((e as Error).message).toBe('kubernetes secret frozen: the Secret apps/frozen is immutable; Keyturn cannot update it (delete it, or make it mutable)');
    expect(observed(k8s, 'apps', 'frozen')).toEqual({ value: 'old' });
  });

  it('throttling (429 with Retry-After) is absorbed by retries', async () => {
    k8s.faults.throttle(2, 0);
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true });
    await consumer.deliver(recordingContext().ctx, version('v'));
    expect(observed(k8s, 'apps', 'db-creds')).toBe('v');
    expect(k8s.requests.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('a refused token (401) and a forbidden one (403) fail with the status, never a value', async () => {
    const values = contractValues();
    const bad = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig: await kubeconfigIn(dir, k8s, { namespace: 'apps', token: 'wrong' }), create: true });
    const e401 = await caught(() => bad.deliver(recordingContext().ctx, version(values.fields)));
    expect(isKeyturnError(e401, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e401 as Error).message).toContain('401');
    await k8s.close();
    k8s = await startKubernetesServer({ namespaces: ['apps'], forbiddenTokens: ['limited'] });
    const limited = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig: await kubeconfigIn(dir, k8s, { namespace: 'apps', token: 'limited' }) });
    const e403 = await caught(() => limited.deliver(recordingContext().ctx, version(values.fields)));
    expect((e403 as Error).message).toContain('403 Forbidden: secrets "db-creds" is forbidden');
    for (const v of values.all) {
      expect(errorText(e401)).not.toContain(v);
      expect(errorText(e403)).not.toContain(v);
    }
  });

  it('a server that is down fails with the reason, after retries', async () => {
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true });
    await k8s.close();
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version('v')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message, (e as Error).message).toMatch(/cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    k8s = await startKubernetesServer();
  });

  it('field names that cannot be Secret keys are refused before anything is written', async () => {
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, create: true });
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version({ 'has space': 'x', ok: 'y' })));
    expect((e as Error).message).toContain('field names "has space" cannot be Secret keys');
    expect(k8s.requests).toHaveLength(0);
  });

  it('config: names, workloads, durations and paths are checked; no field takes a token', () => {
    const problems = (input: Record<string, unknown>) => {
      try {
        parseConsumerConfig({ type: 'kubernetes', secret: 'db', ...input });
        return '';
      } catch (e) {
        expect(isKeyturnError(e, 'KT_CONSUMER_CONFIG_INVALID')).toBe(true);
        return (e as Error).message;
      }
    };
    expect(problems({})).toBe('');
    expect(problems({ secret: 'Bad_Name' })).toContain('secret');
    expect(problems({ namespace: 'a.b' })).toContain('namespace');
    expect(problems({ restart: ['pod/x'] })).toContain('deployment/NAME or statefulset/NAME');
    expect(problems({ wait: '2 minutes' })).toContain('duration');
    expect(problems({ kubeconfig: 'relative/kubeconfig' })).toContain('absolute');
    expect(problems({ token: 'abc' })).toContain('token');
    expect(parseConsumerConfig({ type: 'kubernetes', secret: 'db' })).toEqual({ type: 'kubernetes', secret: 'db', create: false, restart: [] });
  });

  // Inside a pod the service account is found instead, so there it cannot run; the name says so.
  const inPod = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  it.skipIf(inPod)(
    'without a kubeconfig, outside a cluster, the delivery says where it looked (skipped only on a machine that is a Kubernetes pod: client-node would find its service account token there)',
    async () => {
      const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
      process.env.HOME = dir;
      delete process.env.KUBECONFIG;
      try {
        const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds' });
        const e = await caught(() => consumer.deliver(recordingContext().ctx, version('v')));
        expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
        expect((e as Error).message).toContain('no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster');
      } finally {
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
      }
    },
  );

  it('an unknown context in the kubeconfig fails the delivery naming it', async () => {
    const consumer = createConsumer({ type: 'kubernetes', secret: 'db-creds', kubeconfig, context: 'prod' });
    const e = await caught(() => consumer.deliver(recordingContext().ctx, version('v')));
    expect((e as Error).message).toContain('the kubeconfig has no context "prod"');
  });
});
