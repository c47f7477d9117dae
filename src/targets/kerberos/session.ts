/**
 * Runs MIT Kerberos's own tools for one target call, in a private temp folder (mode 0700) holding
 * a krb5.conf written for this realm and its servers only and a throwaway credential cache; the
 * folder is removed after. Passwords go to a tool's prompts on stdin, one line each, never in its
 * argv or environment. Each run is bounded by `timeoutMs` and the context's AbortSignal (the
 * tool is killed); its output is read for fixed phrases by ./errors.ts and never passed on.
 *
 * @example
 * ```ts
 * await withKerberos(config, ctx.signal, 'log in', async (ws) => {
 *   await ws.run('kinit', ['--', 'app@EXAMPLE.ORG'], [password], { username: 'app', action: 'log in' }, 'app');
 * });
 * ```
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKeyturnError } from '../../core/errors.js';
import { DEFAULT_PATH } from '../../consumers/exec/env.js';
import { abortable } from '../abortable.js';
import { targetError, type Attempt, type Endpoint } from '../target-error.js';
import { DEFAULT_TIMEOUT_MS, type KerberosTargetConfig } from './config.js';
import { kerberosError, type ToolFailure } from './errors.js';

export function endpointOf(config: KerberosTargetConfig): Endpoint {
  return { kind: 'kerberos', host: config.host, port: config.port };
}

/** What a tool printed (exit code 0, or a kadmin query whose failure kadmin only printed). */
export interface ToolOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** The tools, by name: the target never runs anything else. */
export type Tool = 'kinit' | 'kadmin' | 'kadmin.local' | 'kpasswd' | 'ktutil' | 'klist';

export interface Workspace {
  /** The private folder (files such as extracted keytabs go here). */
  readonly dir: string;
  /**
   * Runs `tool` with `args`, writing `stdin` lines to its prompts. A non-zero exit, or a line
   * kadmin prints for a failed query (`<command>: ... while ...`), throws the mapped KeyturnError
   * about `attempt`; `login` is who authenticated (named on auth and permission failures).
   */
  run(tool: Tool, args: readonly string[], stdin: readonly string[], attempt: Attempt, login: string): Promise<ToolOutput>;
}

/** The krb5.conf of one call: this realm, its KDC, kadmind and kpasswd servers, nothing looked up in DNS. */
export function krb5Conf(config: KerberosTargetConfig): string {
  const admin = config.adminHost ?? config.host;
  const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  return `[libdefaults]
  default_realm = ${config.realm}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  max_retries = 1

[realms]
  ${config.realm} = {
    kdc = ${hostPort(config.host, config.port)}
    admin_server = ${hostPort(admin, config.adminPort)}
    kpasswd_server = ${hostPort(admin, config.kpasswdPort)}
  }
`;
}

/** kadmin prints a failed query's error and still exits 0: `<command>: <message> while <doing>`. */
const KADMIN_QUERY_FAILED = /^[a-z_]+: .+ while /m;

/** Sets up the folder and its krb5.conf, runs `fn`, removes the folder. */
export async function withKerberos<T>(config: KerberosTargetConfig, signal: AbortSignal, action: string, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const at = endpointOf(config);
  const dir = await mkdtemp(join(tmpdir(), 'keyturn-krb5-'));
  try {
    const conf = join(dir, 'krb5.conf');
    await writeFile(conf, krb5Conf(config), { mode: 0o600 });
    const env: NodeJS.ProcessEnv = {
      // The tools from toolsDir first, else the system's folders (Keyturn's own PATH is not used).
      PATH: config.toolsDir === undefined ? DEFAULT_PATH : `${config.toolsDir}:${DEFAULT_PATH}`,
      LANG: 'C',
      LC_ALL: 'C',
      KRB5_CONFIG: conf,
      KRB5CCNAME: `FILE:${join(dir, 'ccache')}`,
      KRB5_KTNAME: `FILE:${join(dir, 'default.keytab')}`,
      KRB5_CLIENT_KTNAME: `FILE:${join(dir, 'client.keytab')}`,
      KRB5_KDC_PROFILE: config.kdcProfile ?? '/etc/krb5kdc/kdc.conf',
    };
    const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ws: Workspace = {
      dir,
      async run(tool, args, stdin, attempt, login) {
        const bound = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
        let kill = (): void => undefined;
        const onAbort = (): Error =>
          targetError('KT_TARGET_UNAVAILABLE', at, { username: login, action: attempt.action }, tool, signal.aborted ? 'aborted (time limit reached)' : `no answer within ${timeoutMs} ms`);
        const out = await abortable(
          bound,
          () => kill(),
          onAbort,
          () =>
            new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }>((resolve) => {
              const child = spawn(tool, args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
              kill = () => child.kill('SIGKILL');
              let stdout = '';
              let stderr = '';
              child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
              child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
              child.stdin.on('error', () => undefined);
              child.once('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, spawnError: e.code ?? 'spawn failed' }));
              child.once('close', (code) => resolve({ code, stdout, stderr }));
              child.stdin.end(stdin.map((line) => `${line}\n`).join(''));
            }),
        );
        const failure: ToolFailure | null =
          out.spawnError !== undefined
            ? { tool, exitCode: null, stderr: '', spawnError: out.spawnError }
            : out.code !== 0
              ? { tool, exitCode: out.code, stderr: out.stderr }
              : (tool === 'kadmin' || tool === 'kadmin.local') && KADMIN_QUERY_FAILED.test(out.stderr)
                ? { tool, exitCode: 0, stderr: out.stderr }
                : null;
        if (failure) throw kerberosError(failure, at, attempt, login);
        return { stdout: out.stdout, stderr: out.stderr };
      },
    };
    return await fn(ws);
  } catch (e) {
    if (isKeyturnError(e)) throw e;
    throw targetError('KT_TARGET_FAILED', at, { username: '-', action }, e instanceof Error ? e.name : undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
