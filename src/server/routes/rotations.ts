/**
 * Rotations over HTTP, as `keyturn rotate` and `keyturn runs` do them:
 *
 *   GET  /v1/rotations?prefix=&type=|due=true   rotate on each   what `rotate --all` / `--due` covers
 *   POST /v1/rotations/PATH        rotate            rotate now (or continue the unfinished run); `dryRun` plans only;
 *                                                    `ifDue` only if due; `queue` asks the scheduler instead
 *   GET  /v1/runs?path=P&limit=N   read or rotate    runs, newest first: only those on paths the token may read or rotate
 *   GET  /v1/runs/ID               read or rotate    a run with its steps, consumers and agents (have / missing its version)
 *   POST /v1/runs/ID/resume        rotate            continue a run now
 *   POST /v1/runs/ID/cancel        rotate            cancel an unfinished run
 *
 * A rotation request answers once the attempt ends (with `wait`, once the run is done or failed,
 * retrying with backoff meanwhile): 200 with the run whatever its status, as `rotate --json` prints
 * it; an error only when no attempt could start (KT_RUN_LOCKED, 409, while another worker holds the
 * secret; KT_POLICY_NOT_FOUND, ...). The run carries the request's correlation id and its events
 * the token. Other requests are served meanwhile; a server told to stop (SIGTERM) stops each run
 * at its next step boundary, leaving it `retrying`, so the drain does not wait for whole rotations.
 *
 * @example
 * ```ts
 * mountRoutes(app, rotationRoutes(), deps);
 * // POST /v1/rotations/prod/db/app   {"wait": false}
 * ```
 */
import { z } from 'zod';
import { runAgentsJson, runJson, stepJson, type RunView } from '../../client/wire.js';
import type { Identity } from '../../access/access-repo.js';
import { KeyturnError } from '../../core/errors.js';
import { normalizePrefix } from '../../core/paths.js';
import { SECRET_TYPES } from '../../config/schema.js';
import { allow, may } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const run = z.record(z.string(), z.unknown()).describe('A run as `keyturn runs show ID --json` prints it (without steps)');

const rotateBody = z
  .object({
    wait: z.boolean().optional().describe('Keep retrying with backoff until the run is done or failed'),
    dryRun: z.boolean().optional().describe('Only say what would happen and check that the current credential logs in; change nothing'),
    ifDue: z.boolean().optional().describe('Only if the secret is due now, decided under its lease (KT_NOT_DUE, 409, otherwise): what `rotate --due` sends'),
    queue: z
      .enum(['manual', 'emergency'])
      .optional()
      .describe('Do not rotate here: ask the scheduler to rotate it ahead of scheduled rotations (emergency first); answers { queued, path, priority, dueAt, requestedAt }'),
  })
  .strict()
  .refine((b) => b.queue === undefined || (b.wait === undefined && b.dryRun === undefined && b.ifDue === undefined), { message: 'queue goes without wait, dryRun and ifDue' });

const waitBody = z.object({ wait: z.boolean().optional().describe('Keep retrying with backoff until the run is done or failed') }).strict();

const listQuery = z
  .object({
    path: z.string().min(1).max(1024).optional().describe('Only the runs of this secret'),
    limit: z
      .string()
      .regex(/^\d{1,5}$/, 'must be a whole number')
      .optional()
      .describe('How many of the newest runs to look at, 1 to 10000 (default 50)'),
  })
  .strict();

const RUN_ID = z.object({ id: z.string() });

const rotatableQuery = z
  .object({
    due: z.enum(['true']).optional().describe('The secrets due now: a scheduled rotation, a request or a retry whose time has come (what `rotate --due` rotates)'),
    prefix: z.string().max(1024).optional().describe('Only secrets at or below this path'),
    type: z.enum(SECRET_TYPES).optional().describe('Only secrets of this type'),
  })
  .strict()
  .refine((q) => q.due === undefined || (q.prefix === undefined && q.type === undefined), { message: 'due goes without prefix and type' });

/** Whether the caller may see a run on this path. */
function sees(who: Identity, path: string): boolean {
  return may(who, path, 'read') || may(who, path, 'rotate');
}

export function rotationRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/rotations',
      tag: 'rotations',
      summary: 'What `rotate --all` would rotate (managed secrets by prefix and type) or `rotate --due` rotate (what is due now): only paths the token may rotate',
      query: rotatableQuery,
      response: z.object({ paths: z.array(z.string()) }),
      handler: async ({ request, deps, query: q, who }) => {
        const runs = deps.clientOf(request, who).runs;
        return { paths: await runs.rotatable(q.due ? { due: true } : { prefix: normalizePrefix(q.prefix), ...(q.type ? { type: q.type } : {}) }) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/rotations/*',
      tag: 'rotations',
      summary: 'Rotate a secret now, or continue its unfinished run (dryRun: plan only)',
      body: rotateBody,
      response: run,
      handler: async ({ request, deps, path, body, who }) => {
        allow(who, path, 'rotate');
        const runs = deps.clientOf(request, who).runs;
        if (body?.dryRun) return { dryRun: true, ...(await runs.plan(path)) };
        if (body?.queue) {
          const q = await runs.queue(path, body.queue);
          const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
          return { queued: true, path: q.path, priority: q.priority, dueAt: iso(q.dueAt), requestedAt: iso(q.requestedAt) };
        }
        const { run: r, consumers } = await runs.rotate(path, { wait: !!body?.wait, ifDue: !!body?.ifDue });
        return runJson(r, consumers);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/runs',
      tag: 'rotations',
      summary: 'Runs, newest first (only those on paths the token may read or rotate)',
      query: listQuery,
      response: z.object({ runs: z.array(run) }),
      handler: async ({ request, deps, query: q, who }) => {
        const limit = q.limit === undefined ? 50 : Number(q.limit);
        if (limit < 1 || limit > 10_000) throw new KeyturnError('KT_USAGE', 'the query is not valid: limit: must be 1 to 10000');
        // The newest `limit` runs the token may see: page on until that many, or none are left.
        const runs = deps.clientOf(request, who).runs;
        const shown: RunView[] = [];
        let before: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await runs.list({ ...(q.path ? { path: q.path } : {}), limit, ...(before ? { before } : {}) });
          for (const r of page) if (shown.length < limit && sees(who, r.path)) shown.push(r);
          if (shown.length >= limit || page.length < limit) break;
          before = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
        }
        return { runs: shown.map((r) => runJson(r)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/runs/:id',
      tag: 'rotations',
      summary: "A run with its steps (timings), its consumers, and its secret's subscribed agents with and without its new version",
      response: run,
      handler: async ({ request, deps, who }) => {
        const { id } = RUN_ID.parse(request.params);
        // One read of the run (it changes nothing): the caller's right to see it is checked before it is answered.
        const shown = await deps.clientOf(request, who).runs.show(id);
        if (!sees(who, shown.run.path)) allow(who, shown.run.path, 'read');
        return { ...runJson(shown.run, shown.consumers), steps: shown.steps.map(stepJson), agents: runAgentsJson(shown.agents) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/runs/:id/resume',
      tag: 'rotations',
      summary: 'Continue a run now: an unfinished or failed one from its step; a done one re-delivers to failed consumers',
      body: waitBody,
      response: run,
      handler: async ({ request, deps, body, who }) => {
        const { id } = RUN_ID.parse(request.params);
        const runs = deps.clientOf(request, who).runs;
        allow(who, (await runs.get(id)).path, 'rotate');
        const { run: r, consumers } = await runs.resume(id, { wait: !!body?.wait });
        return runJson(r, consumers);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/runs/:id/cancel',
      tag: 'rotations',
      summary: 'Cancel an unfinished run; its pending version is cleared only when the current credential logs in',
      response: run,
      handler: async ({ request, deps, who }) => {
        const { id } = RUN_ID.parse(request.params);
        const runs = deps.clientOf(request, who).runs;
        allow(who, (await runs.get(id)).path, 'rotate');
        return runJson(await runs.cancel(id));
      },
    }),
  ];
}
