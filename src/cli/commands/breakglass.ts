/**
 * `keyturn breakglass request PATH --reason TEXT [--ttl 1h]`, `breakglass approve ID`,
 * `breakglass deny ID`, `breakglass ls`: break-glass through the server. Approvals need
 * authenticated identities, which a local command does not have, so these commands call the
 * server at KEYTURN_ADDR with KEYTURN_TOKEN (a small fetch of their own) and refuse without them
 * (KT_BREAKGLASS_SERVER_REQUIRED). docs/access.md#break-glass.
 *
 * @example
 * ```sh
 * KEYTURN_ADDR=http://127.0.0.1:8787 KEYTURN_TOKEN=kt_... keyturn breakglass request prod/db/root --reason "INC-42"
 * ```
 */
import type { Command } from 'commander';
import { ERRORS, KeyturnError, type ErrorCode } from '../../core/errors.js';
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

/** How long a call to the server may take. */
const TIMEOUT_MS = 30_000;

/** Calls the server as KEYTURN_TOKEN; a KT_ error body becomes the same KeyturnError here. */
async function call<T>(app: CliApp, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const addr = app.io.env.KEYTURN_ADDR?.trim();
  const token = app.io.env.KEYTURN_TOKEN?.trim();
  if (!addr || !token) throw new KeyturnError('KT_BREAKGLASS_SERVER_REQUIRED', `break-glass needs the server: set ${!addr ? 'KEYTURN_ADDR' : 'KEYTURN_TOKEN'}`);
  let url: URL;
  try {
    url = new URL(path, addr.endsWith('/') ? addr : `${addr}/`);
  } catch {
    throw new KeyturnError('KT_USAGE', 'KEYTURN_ADDR is not a URL such as http://127.0.0.1:8787');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new KeyturnError('KT_USAGE', 'KEYTURN_ADDR must be an http:// or https:// URL');
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new KeyturnError('KT_BREAKGLASS_SERVER_UNREACHABLE', `no answer from ${url.origin}: ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name}`);
  }
  const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (res.ok && data !== null) return data as T;
  const code = data?.error?.code;
  if (typeof code === 'string' && Object.hasOwn(ERRORS, code)) throw new KeyturnError(code as ErrorCode, data?.error?.message ?? undefined);
  throw new KeyturnError('KT_BREAKGLASS_SERVER_UNREACHABLE', `${url.origin} answered ${res.status} without a Keyturn error: is KEYTURN_ADDR a Keyturn server?`);
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
      const r = await call<RequestView>(app, 'POST', 'v1/breakglass', { path, reason: opts.reason, ...(ttl === undefined ? {} : { ttl }) });
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
      const r = await call<RequestView>(app, 'POST', `v1/breakglass/${encodeURIComponent(id)}/approve`);
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
      const r = await call<RequestView>(app, 'POST', `v1/breakglass/${encodeURIComponent(id)}/deny`);
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
      const { requests } = await call<{ requests: RequestView[] }>(app, 'GET', 'v1/breakglass');
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
