/**
 * An nginx of a test's own (Debian's package; .ci/run installs it): a config, pid file, temp
 * folders and logs in a folder of the test, one TLS server on a loopback port serving the given
 * certificate and key files, started in daemon mode (it listens before its first process exits)
 * and stopped by `stop()`. `pidFile` is what a signal consumer reloads it through (SIGHUP).
 *
 * @example
 * ```ts
 * const nginx = await startNginx({ dir, port, serverName: 'web.test', certFile: pem, keyFile: pem });
 * await nginx.stop();
 * ```
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when nginx is installed on this machine. */
export const hasNginx = spawnSync('sh', ['-c', 'command -v nginx']).status === 0;

export interface Nginx {
  readonly pidFile: string;
  stop(): Promise<void>;
}

export async function startNginx(o: { dir: string; port: number; serverName: string; certFile: string; keyFile: string }): Promise<Nginx> {
  const { dir } = o;
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  const pidFile = join(dir, 'nginx.pid');
  writeFileSync(
    conf,
    `pid ${pidFile};
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${o.port} ssl;
    server_name ${o.serverName};
    ssl_certificate ${o.certFile};
    ssl_certificate_key ${o.keyFile};
    location / { return 204; }
  }
}
`,
  );
  const args = ['-c', conf, '-p', dir, '-e', join(dir, 'error.log')];
  await run('nginx', args);
  return {
    pidFile,
    stop: () =>
      run('nginx', [...args, '-s', 'stop']).then(
        () => undefined,
        () => undefined,
      ),
  };
}
