/**
 * The API's route registry: every group of routes the server mounts, in one list. A new group is
 * one folder entry here; `/openapi.json` describes exactly these (plus itself).
 *
 * @example
 * ```ts
 * mountRoutes(app, apiRoutes(), deps);
 * ```
 */
import type { AnyRoute } from '../route.js';
import { healthRoutes } from './health.js';
import { rotationRoutes } from './rotations.js';
import { secretLifecycleRoutes } from './secret-lifecycle.js';
import { secretRoutes } from './secrets.js';

export function apiRoutes(): AnyRoute[] {
  return [...healthRoutes(), ...secretRoutes(), ...secretLifecycleRoutes(), ...rotationRoutes()];
}
