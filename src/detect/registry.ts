/**
 * The detector registry: one entry per anomaly detector (its strict config schema and factory),
 * through the shared registry helper (src/core/registry.ts). From it come the discriminated union
 * of the detection section of keyturn.yaml (`detectorRegistry.configSchema`) and
 * `detectorRegistry.create`, the only way a detector is made. Adding a detector adds a file in
 * ./detectors/ and one entry here.
 *
 * @example
 * ```ts
 * const d = detectorRegistry.create({ type: 'unusual-source', allowedCidrs: ['10.0.0.0/8'] }, {});
 * d.observe(event); // the anomalies of `event`
 * ```
 */
import { z } from 'zod';
import { defineRegistry, registryEntry } from '../core/registry.js';
import type { Detector } from './detector.js';
import { createPrivilegeEscalationDetector, privilegeEscalationConfigSchema } from './detectors/privilege-escalation.js';
import { createUnusualSourceDetector, unusualSourceConfigSchema } from './detectors/unusual-source.js';

/** What a detector's factory may be given besides its config (nothing yet). */
export type DetectorDeps = object;

/** Every detector, in the order docs/anomalies.md documents them. */
export const detectorRegistry = defineRegistry({ noun: 'detector', invalid: 'KT_DETECTOR_CONFIG_INVALID', zod: z }, [
  registryEntry({ kind: 'unusual-source', configSchema: unusualSourceConfigSchema, create: (c, _deps: DetectorDeps): Detector => createUnusualSourceDetector(c) }),
  registryEntry({ kind: 'privilege-escalation', configSchema: privilegeEscalationConfigSchema, create: (c, _deps: DetectorDeps): Detector => createPrivilegeEscalationDetector(c) }),
]);
