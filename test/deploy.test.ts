/**
 * The files in deploy/ that describe how to run Keyturn: the Kubernetes sidecar's agent.yaml is a
 * valid agent config, and every path it names is mounted in the agent's containers (the rendered
 * files in a volume the app mounts too; the cache on a writable volume of its own); the systemd
 * units run the commands they say.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../src/agent/config.js';

const file = (p: string) => readFileSync(new URL(`../deploy/${p}`, import.meta.url), 'utf8');

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  args?: string[];
  volumeMounts?: Mount[];
}

describe('deploy/kubernetes/agent-sidecar.yaml', () => {
  const docs = parseAllDocuments(file('kubernetes/agent-sidecar.yaml')).map((d) => d.toJS() as { kind: string; data?: Record<string, string>; spec?: unknown });
  const configMap = docs.find((d) => d.kind === 'ConfigMap')!;
  const deployment = docs.find((d) => d.kind === 'Deployment') as { spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } } };
  const config = parseAgentConfig(configMap.data!['agent.yaml']!, '/etc/keyturn');

  it('holds a valid agent.yaml', () => {
    expect(config.templates.map((t) => t.secret)).toEqual(['prod/app/db']);
  });

  it("mounts every path the agent reads or writes in both agent containers, and the rendered files in the app's", () => {
    const { initContainers, containers } = deployment.spec.template.spec;
    const agents = [...initContainers, ...containers].filter((c) => c.args?.includes('agent'));
    expect(agents.map((c) => c.args!.includes('--once'))).toEqual([true, false]);
    const mountOf = (c: Container, path: string) => (c.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
    const under = (c: Container, path: string) => mountOf(c, path) !== undefined;
    const paths = [config.auth.file, ...(config.caCert ? [config.caCert] : []), ...config.templates.map((t) => t.destination), '/etc/keyturn/agent.yaml', config.cacheDir, config.cacheKeyFile];
    for (const c of agents) for (const p of paths) expect([c.name, p, under(c, p)]).toEqual([c.name, p, true]);
    const app = containers.find((c) => c.name === 'app')!;
    for (const t of config.templates) expect(under(app, dirname(t.destination))).toBe(true);
    // The cache is written: not on a read-only mount, and not where the app can read it.
    for (const c of agents) expect([c.name, mountOf(c, config.cacheDir)?.readOnly ?? false]).toEqual([c.name, false]);
    expect(under(app, config.cacheDir)).toBe(false);
  });
});

describe('deploy/systemd', () => {
  it('runs keyturn server and keyturn agent, each with SIGTERM as its stop', () => {
    expect(file('systemd/keyturn.service')).toMatch(/^ExecStart=\/usr\/bin\/env keyturn server /m);
    const agent = file('systemd/keyturn-agent.service');
    expect(agent).toMatch(/^ExecStart=\/usr\/bin\/env keyturn agent -c \/etc\/keyturn\/agent\.yaml$/m);
    for (const unit of [file('systemd/keyturn.service'), agent]) expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
  });
});
