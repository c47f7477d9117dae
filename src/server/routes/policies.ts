/**
 * `/v1/policies`: list, show, store (`PUT`, the YAML document as a string, checked before it is
 * stored) and delete path policies. Every route needs `admin` on `**` (managing access is
 * managing all of it); each change is audited with the request's token and correlation id.
 *
 * @example
 * ```ts
 * mountRoutes(app, policyRoutes(), deps);
 * // PUT /v1/policies/app-read {"document": "rules:\n  - path: prod/app/*\n    capabilities: [read]\n"}
 * ```
 */
import { z } from 'zod';
import type { Policy } from '../../access/policy.js';
import { KeyturnError } from '../../core/errors.js';
import { allowEverywhere } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

/** Larger than any sensible policy (as `keyturn policy put`). */
const MAX_DOCUMENT_BYTES = 256 * 1024;

const putBody = z.object({ document: z.string().min(1).describe('The policy document: YAML (or JSON) text, as `keyturn policy put` takes it') }).strict();

const ruleView = z.object({ path: z.string(), capabilities: z.array(z.string()), breakGlass: z.object({ maxTtlSeconds: z.number() }).nullable() });
const policyView = z.object({ name: z.string(), description: z.string().nullable(), builtIn: z.boolean(), rules: z.array(ruleView), document: z.string().nullable() });

function nameOf(params: unknown): string {
  const r = z.object({ name: z.string().max(64) }).safeParse(params);
  if (!r.success) throw new KeyturnError('KT_USAGE', 'the policy name is not valid');
  return r.data.name;
}

/** A policy as the API shows it. */
export function policyJson(p: Policy, document: string | null): z.infer<typeof policyView> {
  return {
    name: p.name,
    description: p.description,
    builtIn: document === null,
    rules: p.rules.map((r) => ({ path: r.path, capabilities: r.deny ? ['deny'] : [...r.grants], breakGlass: r.breakGlass === null ? null : { maxTtlSeconds: r.breakGlass.maxTtlMs / 1000 } })),
    document,
  };
}

export function policyRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/policies',
      tag: 'policies',
      summary: 'List path policies: name, description, rule count (admin on **)',
      response: z.object({ policies: z.array(z.object({ name: z.string(), description: z.string().nullable(), rules: z.number(), builtIn: z.boolean() })) }),
      handler: async ({ deps, who }) => {
        allowEverywhere(who, 'admin');
        return { policies: await deps.access.policies() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/policies/:name',
      tag: 'policies',
      summary: 'Show a policy: its rules and the document as stored (admin on **)',
      response: policyView,
      handler: async ({ request, deps, who }) => {
        allowEverywhere(who, 'admin');
        const p = await deps.access.policy(nameOf(request.params));
        return policyJson(p, p.document);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/policies/:name',
      tag: 'policies',
      summary: 'Store or replace a policy (checked first: nothing is stored if it is not valid; admin on **)',
      body: putBody,
      response: policyView,
      handler: async ({ request, deps, body, who }) => {
        allowEverywhere(who, 'admin');
        const name = nameOf(request.params);
        if (Buffer.byteLength(body.document, 'utf8') > MAX_DOCUMENT_BYTES) throw new KeyturnError('KT_ACCESS_POLICY_INVALID', `the policy document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
        const stored = await deps.accessOf(request, who).putPolicy(name, body.document);
        return policyJson(stored, body.document);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/policies/:name',
      tag: 'policies',
      summary: 'Delete a policy; tokens keep its name, which then grants nothing (admin on **)',
      response: z.object({ name: z.string(), deleted: z.literal(true) }),
      handler: async ({ request, deps, who }) => {
        allowEverywhere(who, 'admin');
        const name = nameOf(request.params);
        await deps.accessOf(request, who).deletePolicy(name);
        return { name, deleted: true };
      },
    }),
  ];
}
