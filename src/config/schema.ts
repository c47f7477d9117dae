/**
 * The shape of `keyturn.yaml`: targets, secrets and their rotation policies, and the webhook
 * channels that hear about rotations (`notifications:`, ../notify/schema.ts).
 *
 * Parsed once with zod (errors carry dot-paths such as `secrets.prod/db/app.target`), then
 * frozen. `schema/keyturn.schema.json` is generated from this schema for editors.
 *
 * @example
 * ```yaml
 * version: 1
 * targets:
 *   main-pg:
 *     type: postgres
 *     host: 127.0.0.1
 *     port: 5432
 *     database: app
 *     admin: admin/main-pg          # a managed secret with fields username, password
 * secrets:
 *   admin/main-pg:
 *     type: database-credential
 *     initial: { username: keyturn_admin, password: "${env:PG_ADMIN_PASSWORD}" }
 *   prod/db/app:
 *     type: database-credential
 *     target: main-pg
 *     strategy: alternating-users
 *     password: { length: 32, symbols: 2 }
 *     consumers:
 *       - type: file
 *         path: /etc/app/db.env
 *         template: "DB_USER={{username}}\nDB_PASSWORD={{password}}\n"
 * ```
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { passwordPolicySchema } from '../core/password.js';
import { consumerConfigSchema } from '../consumers/registry.js';
import { hooksSchema } from '../engine/hooks.js';
import { targetConfigSchema, targetRegistry } from '../targets/registry.js';
import { storeName, storesSchema } from '../replicas/config.js';
import { STRATEGIES } from '../targets/target.js';
import { scheduleSchema } from '../schedule/schema.js';
import { ANOMALY_TYPES } from '../detect/detector.js';
import { detectionSchema } from '../detect/config.js';
import { backupsSchema } from '../backup/schedule-config.js';
import { resolveSchedule } from '../schedule/resolve.js';
import { notificationsSchema } from '../notify/schema.js';
import { TAG_KEY } from '../core/metadata.js';

const secretPath = z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a secret path: segments of [A-Za-z0-9._-] joined by "/"');

/** Retry behaviour of a run: full-jitter exponential backoff. */
export const rotationSchema = z
  .strictObject({
    attempts: z.number().int().min(1).max(100).default(5).describe('attempts before the run is failed'),
    backoffBaseMs: z.number().int().min(0).max(3_600_000).default(10_000).describe('first retry delay cap; doubles each attempt'),
    backoffCapMs: z.number().int().min(0).max(86_400_000).default(300_000).describe('largest retry delay'),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000).describe('limit on each call to the target or a consumer'),
  })
  .default({ attempts: 5, backoffBaseMs: 10_000, backoffCapMs: 300_000, timeoutMs: 30_000 });

/** The longest `waitForAgentsTimeout`: a rotation (and a `rotate` request) waits at most this long for agents. */
export const MAX_WAIT_FOR_AGENTS_MS = 3_600_000;

const waitForAgents = z
  .union([z.literal('all'), z.number().int().min(1).max(100_000)], { error: 'must be all or a whole number of agents from 1' })
  .describe('propagate counts the run as propagated only once all (or N) subscribed agents report the new version (docs/agent.md)');

const waitForAgentsTimeout = z
  .string({ error: 'must be a duration such as 30s, 2m or 1h' })
  .refine((t) => {
    const ms = parseDuration(t);
    return ms !== null && ms <= MAX_WAIT_FOR_AGENTS_MS;
  }, 'must be a duration such as 30s, 2m or 1h, at most 1h')
  .describe('how long propagate waits for waitForAgents (default 2m); then its step fails naming the missing agents, and the rotation stands');

const initialValue = z.union([z.string(), z.record(z.string(), z.unknown())]).describe('bootstrap value stored when the secret does not exist yet; ${env:VAR} is expanded');

/** The kinds of secret a policy manages. */
export const SECRET_TYPES = ['database-credential', 'app-secret', 'certificate', 'signing-key'] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

/** Types whose values their target makes (the `renew` strategy, its default). */
export const ISSUED_TYPES: ReadonlySet<string> = new Set<SecretType>(['certificate', 'signing-key']);

export const secretPolicySchema = z
  .strictObject({
    type: z.enum(SECRET_TYPES).describe('database-credential: {username, password, ...}; app-secret: a generated value; certificate and signing-key: made by their target (strategy renew)'),
    description: z.string().max(1024).optional(),
    owner: z.string().max(1024).optional(),
    tags: z.record(z.string(), z.string().max(256)).optional(),
    target: z.string().min(1).optional().describe('name of a target under targets:'),
    strategy: z.enum(STRATEGIES).optional().describe('default: single-user with a target, simple without'),
    password: passwordPolicySchema.optional().describe('how new values are generated'),
    field: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional()
      .describe('app-secret only: keep the value a JSON object and regenerate this field'),
    consumers: z.array(consumerConfigSchema).default([]),
    replicas: z.array(storeName).min(1).optional().describe('stores under stores: that get each new current value too, each with its own status, retries and lag (docs/replicas.md)'),
    hooks: hooksSchema.optional(),
    rotation: rotationSchema,
    waitForAgents: waitForAgents.optional(),
    waitForAgentsTimeout: waitForAgentsTimeout.optional(),
    initial: initialValue.optional(),
    schedule: scheduleSchema.optional().describe('when it rotates by itself: every, rate, cron or manual, a window, jitter, maxAge, ... (docs/schedule.md)'),
    rotateOnAnomaly: z
      .union([z.literal(true), z.array(z.enum(ANOMALY_TYPES)).min(1)], { error: `must be true (every type) or a list of anomaly types: ${ANOMALY_TYPES.join(', ')}` })
      .optional()
      .describe('rotate this secret at once when keyturn server finds an access anomaly of these types on it (true: any type; docs/anomalies.md)'),
  })
  .superRefine((s, ctx) => {
    // The store's own rule for tag keys (embedded-store normalizeMetadata), so a dry run finds what apply would refuse.
    for (const key of Object.keys(s.tags ?? {})) {
      if (!TAG_KEY.test(key)) ctx.addIssue({ code: 'custom', path: ['tags', key], message: 'a tag key is 1 to 128 characters of [A-Za-z0-9._/-]' });
    }
    if (ISSUED_TYPES.has(s.type) && s.target === undefined) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: `a ${s.type} is made by its target: name a target (internal-ca, acme, signing-key, hsm-key)` });
    }
    if (ISSUED_TYPES.has(s.type) && s.strategy !== undefined && s.strategy !== 'renew') {
      ctx.addIssue({ code: 'custom', path: ['strategy'], message: `a ${s.type} rotates with the renew strategy` });
    }
    // A database-credential may renew when its target makes the key (http-api-key with create.response.key; check-strategies.ts checks the target).
    if (!ISSUED_TYPES.has(s.type) && s.strategy === 'renew' && (s.type !== 'database-credential' || s.target === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['strategy'],
        message: 'renew is for a certificate, a signing-key, or a database-credential whose target makes the key (an http-api-key target with create.response.key)',
      });
    }
    if (ISSUED_TYPES.has(s.type) && s.initial !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['initial'], message: `a ${s.type} gets its first value from its target (keyturn rotate PATH): remove initial` });
    }
    if (s.type === 'database-credential' && s.strategy === 'simple') {
      ctx.addIssue({ code: 'custom', path: ['strategy'], message: 'a database-credential rotates with single-user, alternating-users or dual-key' });
    }
    if (s.type === 'app-secret' && s.strategy !== undefined && s.strategy !== 'simple') {
      ctx.addIssue({ code: 'custom', path: ['strategy'], message: 'an app-secret rotates with the simple strategy' });
    }
    if (s.type === 'database-credential' && s.field !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: 'field is for app-secret; a database-credential always regenerates password' });
    }
    if (s.waitForAgentsTimeout !== undefined && s.waitForAgents === undefined) {
      ctx.addIssue({ code: 'custom', path: ['waitForAgentsTimeout'], message: 'is the timeout of waitForAgents: add waitForAgents or remove it' });
    }
    if (s.initial !== undefined && s.type === 'database-credential') {
      const v = s.initial;
      if (typeof v === 'string' || typeof v.username !== 'string' || typeof v.password !== 'string') {
        ctx.addIssue({ code: 'custom', path: ['initial'], message: 'a database-credential needs initial fields username and password' });
      }
    }
  });

/** `schedules:`: rotation schedule defaults for every secret, by type and by path prefix (docs/schedule.md). */
export const schedulesSchema = z
  .strictObject({
    all: scheduleSchema.optional().describe('defaults for every secret'),
    types: z
      .strictObject({ 'database-credential': scheduleSchema.optional(), 'app-secret': scheduleSchema.optional(), certificate: scheduleSchema.optional(), 'signing-key': scheduleSchema.optional() })
      .optional()
      .describe('defaults by secret type (over all)'),
    paths: z.record(secretPath, scheduleSchema).optional().describe('defaults by path prefix (prod matches prod and prod/...); the most specific prefix wins, over types'),
  })
  .describe("rotation schedule defaults; a secret's own schedule: keys win over them, key by key");

export const configSchema = z
  .strictObject({
    version: z.literal(1).describe('format version of this file'),
    targets: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names are [A-Za-z0-9_-]'), targetConfigSchema.and(z.object({ admin: secretPath.optional() }))).default({}),
    stores: storesSchema.optional(),
    schedules: schedulesSchema.optional(),
    secrets: z.record(secretPath, secretPolicySchema).default({}),
    notifications: notificationsSchema.optional(),
    detection: detectionSchema.optional(),
    backups: backupsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    // Each secret's schedule as combined with the defaults: what only the combination can get wrong
    // (checked only once the blocks involved are valid on their own).
    const invalid = ctx.issues.map((i) => i.path ?? []);
    const defaultsInvalid = invalid.some((p) => p[0] === 'schedules');
    for (const [path, s] of Object.entries(c.secrets)) {
      if (defaultsInvalid || invalid.some((p) => p[0] === 'secrets' && p[1] === path && p[2] === 'schedule')) continue;
      const { issues } = resolveSchedule({ path, type: s.type, rotatable: isRotatable(s), own: s.schedule, defaults: c.schedules });
      for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
    for (const [path, s] of Object.entries(c.secrets)) {
      if (s.target !== undefined && !(s.target in c.targets)) {
        ctx.addIssue({ code: 'custom', path: ['secrets', path, 'target'], message: `unknown target "${s.target}"; declared targets: ${Object.keys(c.targets).join(', ') || 'none'}` });
      }
    }
    for (const [path, s] of Object.entries(c.secrets)) {
      const unknown = (s.replicas ?? []).filter((name) => !(name in (c.stores ?? {})));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['secrets', path, 'replicas'],
          message: `unknown store ${unknown.map((n) => `"${n}"`).join(', ')}; declared stores: ${Object.keys(c.stores ?? {}).join(', ') || 'none'}`,
        });
      }
      if (new Set(s.replicas).size !== (s.replicas?.length ?? 0)) ctx.addIssue({ code: 'custom', path: ['secrets', path, 'replicas'], message: 'a store is named twice' });
    }
    for (const [name, t] of Object.entries(c.targets)) {
      const admin = (t as { admin?: string }).admin;
      // A renew target's admin is a CA, an account key or a PIN stored by `keyturn ca init` or `secret put`, not a login Keyturn manages.
      const renewOnly = targetRegistry.find(t.type)?.strategies.every((st) => st === 'renew') ?? false;
      if (admin !== undefined && !(admin in c.secrets) && !renewOnly) {
        ctx.addIssue({ code: 'custom', path: ['targets', name, 'admin'], message: `admin secret "${admin}" is not declared under secrets:` });
      }
    }
  });

/** Whether Keyturn rotates the secret at all: it has a target, or it is an app-secret. */
export function isRotatable(s: { type: string; target?: string | undefined }): boolean {
  return s.target !== undefined || s.type === 'app-secret';
}

export type KeyturnConfig = z.infer<typeof configSchema>;
export type SecretPolicyConfig = z.infer<typeof secretPolicySchema>;
export type RotationConfig = z.infer<typeof rotationSchema>;
