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
import { anomalyRoutes } from './anomalies.js';
import { auditRoutes } from './audit.js';
import { breakGlassRoutes } from './breakglass.js';
import { deliveryRoutes } from './deliveries.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { jwksRoutes } from './jwks.js';
import { lifecycleRoutes } from './lifecycle.js';
import { metricsRoutes, type MetricsAccess } from './metrics.js';
import { policyRoutes } from './policies.js';
import { oidcRoutes } from './oidc.js';
import { rotationRoutes } from './rotations.js';
import { scheduleRoutes } from './schedules.js';
import { scanRoutes } from '../../scan/link/routes.js';
import { secretLifecycleRoutes } from './secret-lifecycle.js';
import { secretRoutes } from './secrets.js';
import { tokenRoutes } from './tokens.js';
import { inventoryRoutes } from './inventory.js';
import { selfRoutes } from './self.js';
import { replicaRoutes } from './replicas.js';
import { uiRoutes } from './ui.js';

export interface RouteOptions {
  /** Who may scrape `/metrics` (default open; off: not mounted). */
  metrics?: MetricsAccess;
}

export function apiRoutes(options: RouteOptions = {}): AnyRoute[] {
  return [
    ...healthRoutes(),
    ...secretRoutes(),
    ...secretLifecycleRoutes(),
    ...rotationRoutes(),
    ...scheduleRoutes(),
    ...lifecycleRoutes(),
    ...breakGlassRoutes(),
    ...policyRoutes(),
    ...tokenRoutes(),
    ...auditRoutes(),
    ...scanRoutes(),
    ...anomalyRoutes(),
    ...eventRoutes(),
    ...deliveryRoutes(),
    ...oidcRoutes(),
    ...jwksRoutes(),
    ...selfRoutes(),
    ...inventoryRoutes(),
    ...replicaRoutes(),
    ...uiRoutes(),
    ...metricsRoutes(options.metrics ?? 'open'),
  ];
}
