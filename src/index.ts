/**
 * The `keyturn` package's public API (package.json `exports` → dist/index.js): open a Keyturn
 * home from code, the interfaces a third-party store, target or consumer implements, and the
 * errors every call may throw (`KeyturnError`, its stable codes and the CLI exit codes).
 *
 * The contract suites such an implementation passes are a subpath export of their own,
 * `keyturn/contracts` (src/contracts/index.ts): they load vitest, an optional peer dependency,
 * so nothing here imports them (eslint.config.js; test/package.test.ts checks a real process).
 *
 * @example
 * ```ts
 * import { initHome, isKeyturnError, loadSettings, openKeyturn } from 'keyturn';
 *
 * const settings = loadSettings(process.env, { home: '/srv/keyturn' });
 * await initHome(settings);
 * const kt = await openKeyturn(settings);
 * try {
 *   await kt.store.put('prod/api/token', 'tok_1');
 *   console.log((await kt.store.get('prod/api/token', { stage: 'current' }))?.number); // 1
 * } catch (e) {
 *   if (isKeyturnError(e, 'KT_VERSION_MISMATCH')) console.error(e.message, e.fix);
 * } finally {
 *   await kt.close();
 * }
 * ```
 */

// Opening a home.
export { initHome, isHomeInitialized, openKeyturn, type InitResult, type Keyturn, type OpenOptions } from './runtime/keyturn.js';
export { loadSettings, type AuditSettings, type Settings } from './config/settings.js';

// Errors.
export { ERRORS, EXIT_CODES, exitCodeOf, isKeyturnError, KeyturnError, type ErrorCode, type ErrorSpec } from './core/errors.js';

// Values, versions and stages.
export { STAGES, type JsonValue, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from './core/types.js';

// Stores.
export {
  canPutWithin,
  DEFAULT_RECOVERY_DAYS,
  MAX_RECOVERY_DAYS,
  MIN_RECOVERY_DAYS,
  type ListOptions,
  type PutOptions,
  type SecretStore,
  type StoreCapabilities,
  type TransactionalPut,
  type VersionSelector,
} from './stores/store.js';

// Targets.
export { cloneUsername, standbyUsername, STRATEGIES, type Credential, type PasswordLimits, type Strategy, type Target, type TargetContext } from './targets/target.js';

// Consumers.
export type { Consumer, ConsumerContext, DeliveredSecret } from './consumers/consumer.js';

// The logger a target or consumer context carries.
export type { Logger } from './core/logger.js';
