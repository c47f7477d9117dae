/**
 * The shared contract suites, for third-party stores, targets and consumers (package.json
 * `exports` → `keyturn/contracts`, dist/contracts/index.js): the same suites Keyturn's own
 * implementations pass. They define vitest tests, so they load vitest (an optional peer
 * dependency of the package) and are called from a test file; the main entry, `keyturn`, never
 * loads this module.
 *
 * @example
 * ```ts
 * // test/vault-store.test.ts in a third-party package
 * import { runStoreContract } from 'keyturn/contracts';
 * import { VaultStore } from '../src/vault-store.js';
 *
 * runStoreContract({
 *   name: 'vault',
 *   make: async ({ clock, options }) => {
 *     const store = await VaultStore.open({ clock, ...options });
 *     return { store, close: () => store.close() };
 *   },
 *   skip: { 'prunes old unlabeled versions past the maximum, never inside the retention hold': 'the service prunes on its own schedule' },
 * });
 * ```
 */

// The suites.
export { runStoreContract, type ContractOptions, type ContractSubject, type StoreContractSpec } from './store-contract.js';
export { runTargetContract, type TargetContractSpec, type TargetFixture } from './target-contract.js';
export { runRenewContract, type RenewContractSpec, type RenewFixture } from './renew-contract.js';
export { runConsumerContract, type ConsumerContractSpec, type ConsumerSubject, type Observation } from './consumer-contract.js';

// What a suite's `make` gets and what a fixture may use.
export type { ManualClock } from '../core/clock.js';
export { newPassword, uniqueName } from './names.js';

// Helpers for an implementation's own tests beyond the suite.
export { expectCode, rejection } from './store-contract.js';
export { caught, contractValues, errorText, recordingContext, version } from './consumer-contract.js';
