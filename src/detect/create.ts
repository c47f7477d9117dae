/**
 * The detectors a server runs: every registered type but those in `disable`, each with the
 * parameters the `detection:` section of keyturn.yaml gives it (its defaults otherwise).
 *
 * @example
 * ```ts
 * createDetectors([{ type: 'failed-burst', threshold: 20 }]).map((d) => d.type); // every type, failed-burst with threshold 20
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { Detector } from './detector.js';
import { detectorRegistry } from './registry.js';

/** One detector of each registered type, configured by the entry of its type in `configs` (parsed by the registry: KT_DETECTOR_CONFIG_INVALID). */
export function createDetectors(configs: readonly unknown[] = [], disable: readonly string[] = []): Detector[] {
  const byType = new Map<string, unknown>();
  for (const c of configs) {
    const parsed = detectorRegistry.parse(c) as { type: string };
    if (byType.has(parsed.type)) throw new KeyturnError('KT_DETECTOR_CONFIG_INVALID', `the detection section lists ${parsed.type} twice`, { details: { problems: [`${parsed.type}: listed twice`] } });
    byType.set(parsed.type, c);
  }
  return detectorRegistry.kinds.filter((kind) => !disable.includes(kind)).map((kind) => detectorRegistry.create(byType.get(kind) ?? { type: kind }, {}) as Detector);
}
