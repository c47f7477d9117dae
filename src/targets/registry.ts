/**
 * The target registry: one entry per target type (its strict config schema, the strategies it
 * rotates with, its factory), through the shared registry helper (src/core/registry.ts). From it
 * come the discriminated union the keyturn.yaml schema uses (`targetConfigSchema`), the strategy
 * check `keyturn apply` makes, and `createTarget`, the only way the engine makes a target. Adding
 * a target adds a folder and one entry here; nothing else lists the targets.
 *
 * @example
 * ```ts
 * const target = createTarget({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * target.strategies; // ['single-user', 'alternating-users']
 * targetRegistry.find('generic')?.strategies; // ['simple']
 * ```
 */
import { z } from 'zod';
import { defineRegistry, registryEntry, type KindSchema } from '../core/registry.js';
import { acmeConfigSchema, acmeStrategies } from './acme/config.js';
import { AcmeTarget } from './acme/acme-target.js';
import { activeDirectoryConfigSchema, activeDirectoryStrategies } from './active-directory/config.js';
import { ActiveDirectoryTarget } from './active-directory/active-directory-target.js';
import { genericConfigSchema, genericStrategies } from './generic/config.js';
import { GenericTarget } from './generic/generic-target.js';
import { internalCaConfigSchema, internalCaStrategies } from './internal-ca/config.js';
import { InternalCaTarget } from './internal-ca/internal-ca-target.js';
import { httpApiKeyConfigSchema, httpApiKeyStrategies } from './http-api-key/config.js';
import { HttpApiKeyTarget } from './http-api-key/http-api-key-target.js';
import { hsmKeyConfigSchema } from './hsm-key/config.js';
import { HsmKeyTarget } from './hsm-key/hsm-key-target.js';
import { kerberosConfigSchema, kerberosStrategies } from './kerberos/config.js';
import { KerberosTarget } from './kerberos/kerberos-target.js';
import { ldapConfigSchema, ldapStrategies } from './ldap/config.js';
import { LdapTarget } from './ldap/ldap-target.js';
import { mysqlConfigSchema, mysqlStrategies } from './mysql/config.js';
import { MysqlTarget } from './mysql/mysql-target.js';
import { postgresConfigSchema, postgresStrategies } from './postgres/config.js';
import { PostgresTarget } from './postgres/postgres-target.js';
import { rabbitmqConfigSchema, rabbitmqStrategies } from './rabbitmq/config.js';
import { RabbitmqTarget } from './rabbitmq/rabbitmq-target.js';
import { redisConfigSchema, redisStrategies } from './redis/config.js';
import { RedisTarget } from './redis/redis-target.js';
import { renewStrategies } from './renew-target.js';
import { sshConfigSchema, sshStrategies } from './ssh/config.js';
import { SshTarget } from './ssh/ssh-target.js';
import { scriptConfigSchema, scriptStrategies } from './script/config.js';
import { signingKeyConfigSchema, signingKeyStrategies } from './signing-key/config.js';
import { SigningKeyTarget } from './signing-key/signing-key-target.js';
import { ScriptTarget } from './script/script-target.js';
import type { Strategy, Target } from './target.js';

/** A target's entry: kind, config schema, factory, and the strategies it rotates with (required). */
function targetEntry<S extends KindSchema>(entry: Parameters<typeof registryEntry<S, Target, undefined, { readonly strategies: readonly Strategy[] }>>[0]) {
  return registryEntry(entry);
}

/** Every target type, in the order they are documented. */
export const targetRegistry = defineRegistry({ noun: 'target', invalid: 'KT_TARGET_CONFIG_INVALID', zod: z }, [
  targetEntry({ kind: 'postgres', configSchema: postgresConfigSchema, strategies: postgresStrategies, create: (c) => new PostgresTarget(c) }),
  targetEntry({ kind: 'mysql', configSchema: mysqlConfigSchema, strategies: mysqlStrategies, create: (c) => new MysqlTarget(c) }),
  targetEntry({ kind: 'redis', configSchema: redisConfigSchema, strategies: redisStrategies, create: (c) => new RedisTarget(c) }),
  targetEntry({ kind: 'ldap', configSchema: ldapConfigSchema, strategies: ldapStrategies, create: (c) => new LdapTarget(c) }),
  targetEntry({ kind: 'active-directory', configSchema: activeDirectoryConfigSchema, strategies: activeDirectoryStrategies, create: (c) => new ActiveDirectoryTarget(c) }),
  targetEntry({ kind: 'rabbitmq', configSchema: rabbitmqConfigSchema, strategies: rabbitmqStrategies, create: (c) => new RabbitmqTarget(c) }),
  targetEntry({ kind: 'kerberos', configSchema: kerberosConfigSchema, strategies: kerberosStrategies, create: (c) => new KerberosTarget(c) }),
  targetEntry({ kind: 'ssh', configSchema: sshConfigSchema, strategies: sshStrategies, create: (c) => new SshTarget(c) }),
  targetEntry({ kind: 'script', configSchema: scriptConfigSchema, strategies: scriptStrategies, create: (c) => new ScriptTarget(c) }),
  targetEntry({ kind: 'generic', configSchema: genericConfigSchema, strategies: genericStrategies, create: () => new GenericTarget() }),
  targetEntry({ kind: 'http-api-key', configSchema: httpApiKeyConfigSchema, strategies: httpApiKeyStrategies, create: (c) => new HttpApiKeyTarget(c) }),
  targetEntry({ kind: 'internal-ca', configSchema: internalCaConfigSchema, strategies: internalCaStrategies, create: (c) => new InternalCaTarget(c) }),
  targetEntry({ kind: 'acme', configSchema: acmeConfigSchema, strategies: acmeStrategies, create: (c) => new AcmeTarget(c) }),
  targetEntry({ kind: 'hsm-key', configSchema: hsmKeyConfigSchema, strategies: renewStrategies, create: (c) => new HsmKeyTarget(c) }),
  targetEntry({ kind: 'signing-key', configSchema: signingKeyConfigSchema, strategies: signingKeyStrategies, create: (c) => new SigningKeyTarget(c) }),
]);

/** The target types, in the order they are documented. */
export const TARGET_TYPES = targetRegistry.kinds;
export type TargetType = (typeof TARGET_TYPES)[number];

/**
 * A target's config, chosen by `type` (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * targetConfigSchema.parse({ type: 'mysql', host: 'db', port: 3306 }); // { type: 'mysql', host: 'db', port: 3306, userHost: '%' }
 * ```
 */
export const targetConfigSchema = targetRegistry.configSchema;

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
  return targetRegistry.parse(input);
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
  return targetRegistry.create(config, undefined);
}
