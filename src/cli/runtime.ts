/**
 * Everything a command's action needs to open Keyturn, in one module that the CLI imports on
 * first use (`app.runtime()`): one lazy boundary instead of one each for the settings, the audit
 * context and the runtime, so the bundle loads them as few chunks.
 *
 * @example
 * ```ts
 * const { loadSettings, openKeyturn } = await app.runtime();
 * ```
 */
export { fileMode, initHome, isHomeInitialized, openKeyturn, rotateRootKey } from '../runtime/keyturn.js';
export { loadSettings } from '../config/settings.js';
export { cliContext } from '../audit/context.js';
export { localClient } from '../client/local.js';
