/**
 * The `detection:` section of keyturn.yaml: whether `keyturn server` runs the access anomaly
 * detectors, which ones, with which parameters, and how far back it replays the log to learn at
 * start. `keyturn apply` stores it (in `kt_settings`, name `detection`); the server reads it when
 * it starts. Without the section every detector runs with its defaults (docs/anomalies.md).
 *
 * @example
 * ```yaml
 * detection:
 *   disable: [unusual-time]
 *   detectors:
 *     - type: failed-burst
 *       threshold: 20
 *     - type: unusual-source
 *       allowedCidrs: [10.0.0.0/8]
 * ```
 */
import { z } from 'zod';
import type { StateDb } from '../state/db.js';
import { ANOMALY_TYPES } from './detector.js';
import { detectorRegistry } from './registry.js';

export const detectionSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('run the detectors in keyturn server (default true)'),
    disable: z.array(z.enum(ANOMALY_TYPES)).default([]).describe('detector types not to run'),
    detectors: z.array(detectorRegistry.configSchema).default([]).describe("detectors' parameters, one entry per type (a type not listed runs with its defaults)"),
    warmupDays: z.number().int().min(0).max(365).default(28).describe('at start, replay this many days of the audit log to learn (raising nothing) before following new events'),
    warmupMaxEvents: z.number().int().min(0).max(100_000_000).default(2_000_000).describe('... and at most this many events'),
  })
  .describe('access anomaly detection in keyturn server (docs/anomalies.md)');

export type DetectionConfig = z.output<typeof detectionSchema>;

const SETTING = 'detection';

/** The applied `detection:` section, or its defaults when none was applied. */
export async function storedDetection(state: StateDb): Promise<DetectionConfig> {
  const row = await state.db.selectFrom('kt_settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  return detectionSchema.parse(row === undefined ? {} : JSON.parse(row.value));
}

/** The name of its `kt_settings` row (`keyturn apply` writes it). */
export const DETECTION_SETTING = SETTING;
