/**
 * The files in deploy/ that describe how to run Keyturn: the Kubernetes sidecar's agent.yaml is a
 * valid agent config, and every path it names is mounted in the agent's containers (the rendered
 * files in a volume the app mounts too; the cache on a writable volume of its own); the systemd
 * units run the commands they say; the GitHub Actions workflow runs one scheduler pass on a
 * schedule, one at a time, with the state database and root key from secrets, and its command
 * runs (against a fresh home here).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Cron } from 'croner';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../src/agent/config.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

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

describe('deploy/github/rotate.yml', () => {
  interface Step {
    uses?: string;
    run?: string;
    env?: Record<string, string>;
  }
  const workflow = parse(file('github/rotate.yml')) as {
    on: { schedule: Array<{ cron: string }>; workflow_dispatch?: unknown };
    concurrency: { group: string; 'cancel-in-progress': boolean };
    permissions: Record<string, string>;
    jobs: { rotate: { 'runs-on': string[]; steps: Step[] } };
  };
  const steps = workflow.jobs.rotate.steps;
  const pass = steps.find((s) => s.run?.startsWith('keyturn rotate'))!;

  it('runs keyturn rotate --due on a schedule, one pass at a time, with the state database and root key from secrets', () => {
    expect(workflow.on.schedule).toHaveLength(1);
    // A valid five-field cron that fires (croner parses it as GitHub does).
    expect(workflow.on.schedule[0]!.cron.split(' ')).toHaveLength(5);
    expect(new Cron(workflow.on.schedule[0]!.cron, { timezone: 'UTC', paused: true }).nextRun()).toBeInstanceOf(Date);
    expect(workflow.concurrency['cancel-in-progress']).toBe(false);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(pass.run).toMatch(/^keyturn rotate --due( |$)/);
    expect(pass.env).toMatchObject({ KEYTURN_DATABASE_URL: '${{ secrets.KEYTURN_DATABASE_URL }}', KEYTURN_ROOT_KEY: '${{ secrets.KEYTURN_ROOT_KEY }}' });
    // Keyturn is installed before it runs.
    expect(steps.findIndex((s) => s.run?.startsWith('npm install --global keyturn'))).toBeLessThan(steps.indexOf(pass));
  });

  it('its command line runs: on a fresh home it finds nothing due and exits 0 with the summary line', async () => {
    const tmp = tempDir();
    try {
      const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
      expect((await runCli(['init'], { env })).code).toBe(0);
      const r = await runCli(pass.run!.split(' ').slice(1), { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim())).toEqual({ summary: { total: 0, done: 0, skipped: 0, failed: 0, dryRun: false } });
    } finally {
      tmp.remove();
    }
  });
});
