/**
 * The target registry: each target type's strict config schema and factory, the discriminated
 * union the keyturn.yaml loader uses (`targetConfigSchema`), and `createTarget`, the only way
 * the engine makes a target. Adding a target adds a folder and one entry here; the engine does
 * not change.
 *
 * @example
 * ```ts
 * const target = createTarget({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * target.strategies; // ['single-user', 'alternating-users']
 * ```
 */
import { z } from 'zod';
import { KeyturnError } from '../core/errors.js';
import { genericConfigSchema, type GenericTargetConfig } from './generic/config.js';
import { GenericTarget } from './generic/generic-target.js';
import { mysqlConfigSchema, type MysqlTargetConfig } from './mysql/config.js';
import { MysqlTarget } from './mysql/mysql-target.js';
import { postgresConfigSchema, type PostgresTargetConfig } from './postgres/config.js';
import { PostgresTarget } from './postgres/postgres-target.js';
import { redisConfigSchema, type RedisTargetConfig } from './redis/config.js';
import { RedisTarget } from './redis/redis-target.js';
import type { Target } from './target.js';

/** Each target type: its config schema and its factory. */
export const targetTypes = {
  postgres: { configSchema: postgresConfigSchema, create: (c: PostgresTargetConfig): Target => new PostgresTarget(c) },
  mysql: { configSchema: mysqlConfigSchema, create: (c: MysqlTargetConfig): Target => new MysqlTarget(c) },
  redis: { configSchema: redisConfigSchema, create: (c: RedisTargetConfig): Target => new RedisTarget(c) },
  generic: { configSchema: genericConfigSchema, create: (_c: GenericTargetConfig): Target => new GenericTarget() },
} as const;

export type TargetType = keyof typeof targetTypes;

/** The target types, in the order they are documented. */
export const TARGET_TYPES = Object.keys(targetTypes) as readonly TargetType[];

const TYPES = TARGET_TYPES.join(', ');

/**
 * A target's config, chosen by `type` (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * targetConfigSchema.parse({ type: 'mysql', host: 'db', port: 3306 }); // { type: 'mysql', host: 'db', port: 3306, userHost: '%' }
 * ```
 */
export const targetConfigSchema = z.discriminatedUnion('type', [postgresConfigSchema, mysqlConfigSchema, redisConfigSchema, genericConfigSchema], {
  error: (issue) => {
    if (issue.code === 'invalid_union') return `type must be one of: ${TYPES}`;
    if (issue.code === 'invalid_type') return `a target must be an object with a type (${TYPES})`;
    return undefined;
  },
});

export type TargetConfig = z.output<typeof targetConfigSchema>;
export type TargetConfigInput = z.input<typeof targetConfigSchema>;

/**
 * Parses a target config, or throws KT_TARGET_CONFIG_INVALID listing each problem by key.
 *
 * @example
 * ```ts
 * parseTargetConfig({ type: 'postgres', host: 'db', port: 99999 }); // throws: port: must be a whole number from 1 to 65535; database: ...
 * ```
 */
export function parseTargetConfig(input: unknown): TargetConfig {
  const result = targetConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the target configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
}

/**
 * Makes a target from its config (parsed here, so raw input is fine).
 *
 * @example
 * ```ts
 * createTarget({ type: 'redis', host: '127.0.0.1', port: 6379 }).kind; // 'redis'
 * ```
 */
export function createTarget(config: TargetConfigInput | TargetConfig): Target {
  const parsed = parseTargetConfig(config);
  switch (parsed.type) {
    case 'postgres':
      return targetTypes.postgres.create(parsed);
    case 'mysql':
      return targetTypes.mysql.create(parsed);
    case 'redis':
      return targetTypes.redis.create(parsed);
    case 'generic':
      return targetTypes.generic.create(parsed);
  }
}
