/**
 * The API's route registry: every group of routes the server mounts, in one list. A new group is
 * one folder entry here; `/openapi.json` describes exactly these (plus itself).
 *
 * @example
 * ```ts
 * mountRoutes(app, apiRoutes({ metrics: 'open' }), deps);
 * ```
 */
import type { AnyRoute } from '../route.js';
import { healthRoutes } from './health.js';
import { metricsRoutes, type MetricsAccess } from './metrics.js';
import { secretRoutes } from './secrets.js';

export interface RouteOptions {
  /** Who may scrape `/metrics` (default open; off: not mounted). */
  metrics?: MetricsAccess;
}

export function apiRoutes(options: RouteOptions = {}): AnyRoute[] {
  return [...healthRoutes(), ...secretRoutes(), ...metricsRoutes(options.metrics ?? 'open')];
}
