/**
 * The process's own metrics (CPU, memory, event loop lag, GC, handles: prom-client's default
 * metrics, under their standard names `process_*` and `nodejs_*`, so the usual Node.js dashboards
 * work on them). One registry per process, made on first use and shared by every server in it:
 * they describe the process, not a server, and collecting them twice would double their
 * observers. Never prom-client's global default registry.
 *
 * @example
 * ```ts
 * const scrape = Registry.merge([processRegistry(), serverRegistry]);
 * ```
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

export function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
