/**
 * The agent's servers read through its cache (./cache.ts): every version a server answers is
 * confirmed in the cache (and on disk before it is rendered); when no server answers
 * (KT_SERVER_UNREACHABLE, every server of the list tried), the version held is returned instead
 * if it is still fresh (confirmed less than cacheTtl ago), so templates render from the cache
 * while the servers are away; otherwise the error stands (fail closed: the file is left as it
 * is). A server's refusal (401, 403, 404) removes the secret from the cache. The stream and the
 * rest are the servers' own.
 *
 * @example
 * ```ts
 * const servers = readThroughCache(agentServers({ servers, token, caCert }), cache, log);
 * await servers.readSecret('app/db'); // from a server, or from the cache while none answers
 * ```
 */
import { iso } from '../core/clock.js';
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AgentCache } from './cache.js';
import type { AgentServers } from './servers.js';

/** HTTP statuses of a server's answer that mean the secret is gone or no longer readable by this agent. */
const REFUSALS = new Set([401, 403, 404]);

export function readThroughCache(servers: AgentServers, cache: AgentCache, log: Logger): AgentServers {
  return {
    get current() {
      return servers.current;
    },
    advance: () => servers.advance(),
    login: (jwt, issuer) => servers.login(jwt, issuer),
    post: (url, body) => servers.post(url, body),
    events: (lastEventId, signal) => servers.events(lastEventId, signal),
    close: () => servers.close(),
    readSecret: async (path) => {
      try {
        const secret = await servers.readSecret(path);
        await cache.confirmed(secret);
        return secret;
      } catch (e) {
        const unreachable = isKeyturnError(e, 'KT_SERVER_UNREACHABLE');
        cache.failed(path, !unreachable && isKeyturnError(e) && REFUSALS.has(e.status));
        const held = unreachable ? cache.freshVersion(path) : undefined;
        if (held === undefined) throw e;
        log.info({ path, version: held.number, confirmedAt: iso(held.confirmedAt) }, 'agent: no server answers; using the cached version');
        return { path: held.path, versionId: held.versionId, number: held.number, value: held.value };
      }
    },
  };
}
