/**
 * The local Kubernetes API server (test/servers/kubernetes) through @kubernetes/client-node: the
 * behaviour the store and the consumer rely on, checked on its own: resourceVersion conflicts,
 * the three patch types, label selectors with continue tokens, delete preconditions, validation,
 * bearer tokens and the rollout controller.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8sClient from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubernetesServer, type KubernetesServer } from './servers/kubernetes/index.js';

async function failure(p: Promise<unknown>): Promise<{ code: number; body: { reason?: string; message?: string } }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: number; body: unknown };
    return { code: err.code, body: (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { reason?: string } };
  }
  throw new Error('expected the call to fail');
}

describe('local Kubernetes API server', () => {
  let k8s: KubernetesServer;
  let dir: string;
  let core: k8sClient.CoreV1Api;
  let apps: k8sClient.AppsV1Api;

  const client = async (token?: string) => {
    const path = join(dir, `kc-${token ?? 'ok'}`);
    await writeFile(path, k8s.kubeconfig({ namespace: 'ns', ...(token ? { token } : {}) }));
    const kc = new k8sClient.KubeConfig();
    kc.loadFromFile(path);
    return kc;
  };

  beforeEach(async () => {
    k8s = await startKubernetesServer({ namespaces: ['ns'] });
    dir = await mkdtemp(join(tmpdir(), 'keyturn-k8s-server-'));
    const kc = await client();
    core = kc.makeApiClient(k8sClient.CoreV1Api);
    apps = kc.makeApiClient(k8sClient.AppsV1Api);
  });

  afterEach(async () => {
    await k8s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replace with a stale resourceVersion is a 409 Conflict Status and changes nothing; a no-op keeps the resourceVersion', async () => {
    const created = await core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 's' }, stringData: { a: '1' } } });
    expect(created.data).toEqual({ a: Buffer.from('1').toString('base64') });
    const rv = created.metadata!.resourceVersion!;
    const updated = await core.replaceNamespacedSecret({ name: 's', namespace: 'ns', body: { ...created, data: { a: Buffer.from('2').toString('base64') } } });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(rv));
    const stale = await failure(core.replaceNamespacedSecret({ name: 's', namespace: 'ns', body: { ...created, data: { a: Buffer.from('3').toString('base64') } } }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on secrets "s": the object has been modified; please apply your changes to the latest version and try again',
    });
    const same = await core.replaceNamespacedSecret({ name: 's', namespace: 'ns', body: updated });
    expect(same.metadata!.resourceVersion).toBe(updated.metadata!.resourceVersion);
    expect((await failure(core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 's' } } }))).body.reason).toBe('AlreadyExists');
  });

  it('applies merge, strategic merge and JSON patches as the client sends them', async () => {
    await core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 's', labels: { a: '1', b: '2' } } } });
    const merge = k8sClient.setHeaderOptions('Content-Type', k8sClient.PatchStrategy.MergePatch);
    let s = await core.patchNamespacedSecret({ name: 's', namespace: 'ns', body: { metadata: { labels: { a: null, c: '3' } } } }, merge);
    expect(s.metadata!.labels).toEqual({ b: '2', c: '3' });
    const json = k8sClient.setHeaderOptions('Content-Type', k8sClient.PatchStrategy.JsonPatch);
    s = await core.patchNamespacedSecret(
      {
        name: 's',
        namespace: 'ns',
        body: [
          { op: 'test', path: '/metadata/labels/b', value: '2' },
          { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } },
        ],
      },
      json,
    );
    expect(s.metadata!.annotations).toEqual({ 'x/y': 'z' });
    const stale = await failure(core.patchNamespacedSecret({ name: 's', namespace: 'ns', body: { metadata: { resourceVersion: '1', labels: { d: '4' } } } }, merge));
    expect(stale.code).toBe(409);
    await apps.createNamespacedDeployment({
      namespace: 'ns',
      body: { metadata: { name: 'api' }, spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } } } } },
    });
    const strategic = k8sClient.setHeaderOptions('Content-Type', k8sClient.PatchStrategy.StrategicMergePatch);
    const d = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'ns', body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } } },
      strategic,
    );
    expect(d.metadata!.generation).toBe(2);
    expect(d.spec!.template.metadata!.labels).toEqual({ app: 'api' });
    expect(d.status).toMatchObject({ observedGeneration: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
  });

  it('lists by label selector a page at a time with continue tokens', async () => {
    for (const [name, team] of [
      ['a', 'x'],
      ['b', 'y'],
      ['c', 'x'],
      ['d', 'x'],
      ['e', 'x'],
    ])
      await core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name, labels: { team: team! } } } });
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedSecret({ namespace: 'ns', labelSelector: 'team=x,!gone', limit: 2, _continue: cont });
      names.push(...page.items.map((i) => i.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont);
    expect(names).toEqual(['a', 'c', 'd', 'e']);
    expect(pages).toBe(2);
    expect((await core.listNamespacedSecret({ namespace: 'ns', labelSelector: 'team in (y)' })).items.map((i) => i.metadata!.name)).toEqual(['b']);
  });

  it('delete honours resourceVersion preconditions', async () => {
    const s = await core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 's' } } });
    expect((await failure(core.deleteNamespacedSecret({ name: 's', namespace: 'ns', body: { preconditions: { resourceVersion: '999' } } }))).code).toBe(409);
    await core.deleteNamespacedSecret({ name: 's', namespace: 'ns', body: { preconditions: { resourceVersion: s.metadata!.resourceVersion } } });
    expect((await failure(core.readNamespacedSecret({ name: 's', namespace: 'ns' }))).body).toMatchObject({ reason: 'NotFound', message: 'secrets "s" not found' });
  });

  it('validates names, keys and size; refuses a missing namespace', async () => {
    expect((await failure(core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'Bad_Name' } } }))).code).toBe(422);
    expect((await failure(core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'k' }, stringData: { 'bad key': 'x' } } }))).code).toBe(422);
    expect((await failure(core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'big' }, stringData: { v: 'x'.repeat(1024 * 1024 + 1) } } }))).code).toBe(422);
    expect((await failure(core.createNamespacedSecret({ namespace: 'other', body: { metadata: { name: 'k' } } }))).body.message).toBe('namespaces "other" not found');
  });

  it('refuses a wrong bearer token with a 401 Status', async () => {
    const bad = (await client('wrong')).makeApiClient(k8sClient.CoreV1Api);
    expect((await failure(bad.listNamespacedSecret({ namespace: 'ns' }))).code).toBe(401);
    expect(k8s.requests.at(-1)).toMatchObject({ status: 401 });
  });

  it('manual rollouts finish only when told', async () => {
    k8s.cluster.rollout = { mode: 'manual' };
    await apps.createNamespacedStatefulSet({
      namespace: 'ns',
      body: { metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } } } } },
    });
    const pending = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'ns' });
    expect(pending.status).toMatchObject({ observedGeneration: 1, updatedReplicas: 0, readyReplicas: 2 });
    expect(k8s.cluster.completeRollouts({ resource: 'statefulsets' })).toBe(1);
    const done = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'ns' });
    expect(done.status).toMatchObject({ observedGeneration: 1, updatedReplicas: 2, readyReplicas: 2, currentRevision: 'db-1', updateRevision: 'db-1' });
  });
});
