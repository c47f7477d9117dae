/**
 * `keyturn breakglass request PATH --reason TEXT [--ttl 1h]`, `breakglass approve ID`,
 * `breakglass deny ID`, `breakglass ls`: break-glass through the server. Approvals need
 * authenticated identities, which a local command does not have, so these commands call the
 * server at KEYTURN_ADDR with KEYTURN_TOKEN (and KEYTURN_CACERT), through the same connection as
 * every client command (src/client/http.ts), and refuse without KEYTURN_ADDR
 * (KT_BREAKGLASS_SERVER_REQUIRED). docs/access.md#break-glass.
 *
 * @example
 * ```sh
 * KEYTURN_ADDR=http://127.0.0.1:8787 KEYTURN_TOKEN=kt_... keyturn breakglass request prod/db/root --reason "INC-42"
 * ```
 */
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, table } from '../io.js';
import { durationOption } from '../options.js';

interface RequestView {
  id: string;
  path: string;
  reason: string;
  requester: string;
  status: string;
  ttlSeconds: number;
  createdAt: string;
  approvedAt: string | null;
  endsAt: string | null;
  approvals: Array<{ subject: string; at: string }>;
  rotation: { state: string | null; runId: string | null; error: string | null; at: string | null };
}

/**
 * Calls the server at KEYTURN_ADDR as KEYTURN_TOKEN through the CLI's one connection
 * (src/client/http.ts: KEYTURN_CACERT, KT_SERVER_UNREACHABLE, a KT_ error body becomes the same
 * KeyturnError here); KT_BREAKGLASS_SERVER_REQUIRED without KEYTURN_ADDR.
 */
async function call<T>(app: CliApp, opts: CommonOptions, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<T> {
  const { remote } = await app.settings(opts);
  if (remote === undefined) throw new KeyturnError('KT_BREAKGLASS_SERVER_REQUIRED', 'break-glass needs the server: set KEYTURN_ADDR');
  const [{ connectServer }, { correlationId }] = await Promise.all([import('../../client/http.js'), app.auditContext()]);
  const server = connectServer(remote, correlationId === null ? {} : { correlationId });
  try {
    return (await server.call(method, path, body)) as T;
  } finally {
    await server.close();
  }
}

function requestText(r: RequestView): string {
  const window = r.status === 'approved' ? `, readable until ${r.endsAt}` : r.endsAt ? `, window ended ${r.endsAt}` : '';
  const rotation = r.rotation.state ? `; rotation ${r.rotation.state}${r.rotation.error ? ` (${r.rotation.error})` : ''}${r.rotation.runId ? ` run ${r.rotation.runId}` : ''}` : '';
  return `Request ${r.id} for ${r.path}: ${r.status}, ${r.approvals.length} of 2 approvals${r.approvals.length ? ` (${r.approvals.map((a) => a.subject).join(', ')})` : ''}${window}${rotation}.`;
}

export function registerBreakglass(program: Command, app: CliApp): void {
  const bg = program
    .command('breakglass')
    .description('Request, approve and list break-glass reads (through the server: KEYTURN_ADDR, KEYTURN_TOKEN)')
    .addHelpText(
      'after',
      `
A policy rule with breakGlass: true gates reads of its paths: a read needs a request approved by
two subjects other than the requester, and lasts a window (default 1h). When the window closes the
server rotates the secret. These commands call the server at KEYTURN_ADDR as KEYTURN_TOKEN:
approvals need authenticated identities. See docs/access.md.

Examples:
  export KEYTURN_ADDR=http://127.0.0.1:8787 KEYTURN_TOKEN=kt_...
  keyturn breakglass request prod/db/root --reason "INC-42: replica down"
  keyturn breakglass approve bg_1f2e3d4c5b6a7980
  keyturn breakglass ls`,
    );

  common(bg.command('request <path>'))
    .description('Ask for a time-limited read of a break-glass path')
    .requiredOption('--reason <text>', 'why (an incident id, what is broken): shown to approvers, never a secret')
    .option('--ttl <duration>', 'how long the read window lasts once approved: 30m, 1h (default 1h; at most the policy allows)', durationOption('--ttl'))
    .addHelpText(
      'after',
      `
Examples:
  keyturn breakglass request prod/db/root --reason "INC-42: replica down"
  keyturn breakglass request prod/db/root --reason INC-43 --ttl 30m --json | jq -r .id`,
    )
    .action(async (path: string, opts: CommonOptions & { reason: string; ttl?: number }) => {
      const ttl = opts.ttl === undefined ? undefined : `${Math.ceil(opts.ttl / 1000)}s`;
      const r = await call<RequestView>(app, opts, 'POST', '/v1/breakglass', { path, reason: opts.reason, ...(ttl === undefined ? {} : { ttl }) });
      emit(app.io, !!opts.json, r, () => `${requestText(r)}\nTwo other people approve it with: keyturn breakglass approve ${r.id}`);
    });

  common(bg.command('approve <id>'))
    .description('Approve a pending request (needs approve on its path; never your own)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn breakglass approve bg_1f2e3d4c5b6a7980`,
    )
    .action(async (id: string, opts: CommonOptions) => {
      const r = await call<RequestView>(app, opts, 'POST', `/v1/breakglass/${encodeURIComponent(id)}/approve`);
      emit(app.io, !!opts.json, r, () => requestText(r));
    });

  common(bg.command('deny <id>'))
    .description('Deny a pending request (an approver), or withdraw your own')
    .addHelpText(
      'after',
      `
Examples:
  keyturn breakglass deny bg_1f2e3d4c5b6a7980`,
    )
    .action(async (id: string, opts: CommonOptions) => {
      const r = await call<RequestView>(app, opts, 'POST', `/v1/breakglass/${encodeURIComponent(id)}/deny`);
      emit(app.io, !!opts.json, r, () => requestText(r));
    });

  common(bg.command('ls'))
    .description('List requests and their state (yours, and those on paths you may approve or audit)')
    .addHelpText(
      'after',
      `
States: pending, approved (window open), expired (window over, rotation not started yet),
rotating, rotated, rotation-failed, rotation-unconfigured (rotate it by hand), denied, lapsed.

Examples:
  keyturn breakglass ls
  keyturn breakglass ls --json | jq '.[] | select(.status == "pending")'`,
    )
    .action(async (opts: CommonOptions) => {
      const { requests } = await call<{ requests: RequestView[] }>(app, opts, 'GET', '/v1/breakglass');
      emit(app.io, !!opts.json, requests, () =>
        requests.length === 0
          ? 'No break-glass requests.'
          : table(
              ['ID', 'PATH', 'REQUESTER', 'STATE', 'APPROVALS', 'WINDOW ENDS', 'ROTATION', 'REASON'],
              requests.map((r) => [
                r.id,
                r.path,
                r.requester,
                r.status,
                r.approvals.map((a) => a.subject).join(',') || '-',
                r.endsAt === null ? null : isoTime(Date.parse(r.endsAt)),
                r.rotation.state === null ? null : `${r.rotation.state}${r.rotation.error ? ` ${r.rotation.error}` : ''}`,
                r.reason,
              ]),
            ),
      );
    });
}
