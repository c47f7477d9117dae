/**
 * The AWS Secrets Manager store's module, loaded only when the store file names `type: aws`: its
 * config schema and its factory. The store opens no connection until first used.
 *
 * @example
 * ```ts
 * const store = create(configSchema.parse({ type: 'aws', region: 'eu-west-1' }), deps);
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { issueLines } from '../../core/issues.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { AwsStore } from './aws-store.js';
import { configSchema, type AwsStoreConfig } from './config.js';

export { configSchema };

/**
 * Makes the store from its parsed config; limits, retention and purge protection come from the
 * KEYTURN_* store settings. A config that does not check (prepareStore checks it first) is
 * refused with KT_STORE_CONFIG_INVALID, one problem per key.
 *
 * @example
 * ```ts
 * const store = create({ type: 'aws', region: 'eu-west-1', prefix: 'keyturn/' }, deps);
 * ```
 */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const problems = issueLines(parsed.error.issues);
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the store configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
  }
  return new AwsStore(parsed.data as AwsStoreConfig, {
    clock: deps.clock,
    maxValueBytes: deps.settings.maxValueBytes,
    maxVersions: deps.settings.maxVersions,
    retentionMs: deps.settings.retentionDays * DAY_MS,
    purgeProtection: deps.settings.purgeProtection,
  });
}
