/**
 * The detector registry: one entry per anomaly detector (its strict config schema and factory),
 * through the shared registry helper (src/core/registry.ts). From it come the discriminated union
 * the detection section of keyturn.yaml uses (`detectorConfigSchema`) and `create`, the one way
 * to make a detector. Adding a detector adds its file under ./detectors/ and one entry here.
 *
 * @example
 * ```ts
 * const d = detectorRegistry.create({ type: 'failed-burst', threshold: 20 }, {});
 * d.observe(event); // [] while normal
 * ```
 */
import { z } from 'zod';
import { defineRegistry, registryEntry } from '../core/registry.js';
import type { Detector } from './detector.js';
import { concurrentUseConfigSchema, createConcurrentUseDetector } from './detectors/concurrent-use.js';
import { createExcessiveAccessDetector, excessiveAccessConfigSchema } from './detectors/excessive-access.js';
import { createFailedBurstDetector, failedBurstConfigSchema } from './detectors/failed-burst.js';
import { createPrivilegeEscalationDetector, privilegeEscalationConfigSchema } from './detectors/privilege-escalation.js';
import { createUnusualSourceDetector, unusualSourceConfigSchema } from './detectors/unusual-source.js';
import { createUnusualTimeDetector, unusualTimeConfigSchema } from './detectors/unusual-time.js';

/** What a detector's factory may be given besides its config (nothing yet). */
export type DetectorDeps = object;

/** Every detector, in the order docs/anomalies.md documents them. */
export const detectorRegistry = defineRegistry({ noun: 'detector', invalid: 'KT_DETECTOR_CONFIG_INVALID', zod: z }, [
  registryEntry({ kind: 'unusual-time', configSchema: unusualTimeConfigSchema, create: (c, _deps: DetectorDeps): Detector => createUnusualTimeDetector(c) }),
  registryEntry({ kind: 'unusual-source', configSchema: unusualSourceConfigSchema, create: (c, _deps: DetectorDeps): Detector => createUnusualSourceDetector(c) }),
  registryEntry({ kind: 'excessive-access', configSchema: excessiveAccessConfigSchema, create: (c, _deps: DetectorDeps): Detector => createExcessiveAccessDetector(c) }),
  registryEntry({ kind: 'failed-burst', configSchema: failedBurstConfigSchema, create: (c, _deps: DetectorDeps): Detector => createFailedBurstDetector(c) }),
  registryEntry({ kind: 'privilege-escalation', configSchema: privilegeEscalationConfigSchema, create: (c, _deps: DetectorDeps): Detector => createPrivilegeEscalationDetector(c) }),
  registryEntry({ kind: 'concurrent-use', configSchema: concurrentUseConfigSchema, create: (c, _deps: DetectorDeps): Detector => createConcurrentUseDetector(c) }),
]);

/**
 * A detector's config, chosen by `type` (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * detectorConfigSchema.parse({ type: 'failed-burst' }); // { type: 'failed-burst', threshold: 10, windowSeconds: 300, ... }
 * ```
 */
export const detectorConfigSchema = detectorRegistry.configSchema;

export type DetectorConfig = z.output<typeof detectorConfigSchema>;
export type DetectorConfigInput = z.input<typeof detectorConfigSchema>;
